import { ValueType, type BatchObservableResult, type Meter, type Observable } from '@opentelemetry/api';
import { SCALAR_METRICS } from '../metrics/metric-table.js';
import type { RoomsMetricsSource } from '../metrics/snapshot-source.js';

/**
 * Creates the contract's metrics as observable instruments of `meter` (`nestjs_rooms.connections`,
 * `nestjs_rooms.frames_sent`, ...: Prometheus's names with a dot after the prefix and no
 * `_total`; the counter `nestjs_rooms_connections_total` is `nestjs_rooms.connections_opened`),
 * read from `rooms.metrics()` once per collection, for every label value of their fixed sets.
 * `nestjs_rooms_cluster_request_seconds` is Prometheus-only: OpenTelemetry has no observable
 * histogram, and recording one on the paths that serve sockets is what the metrics avoid.
 *
 * Returns the function that removes the callback. The SDK keeps exporting an instrument's last
 * values after that (it cannot delete an instrument); shutting the meter provider down ends them.
 */
export function observeRoomsMetrics(meter: Meter, rooms: RoomsMetricsSource): () => void {
  const instruments = SCALAR_METRICS.map((metric) => {
    const options = { description: metric.help, valueType: ValueType.INT };
    return metric.type === 'gauge'
      ? meter.createObservableGauge(metric.otelName, options)
      : meter.createObservableCounter(metric.otelName, options);
  });
  const callback = (result: BatchObservableResult) => {
    const snapshot = rooms.metrics();
    SCALAR_METRICS.forEach((metric, i) => {
      const value = metric.read(snapshot);
      const instrument = instruments[i];
      if (typeof value === 'number' || metric.label === undefined) return result.observe(instrument, value as number);
      for (const labelValue of metric.label.values) {
        result.observe(instrument, value[labelValue], { [metric.label.name]: labelValue });
      }
    });
  };
  const observables: Observable[] = instruments;
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}
