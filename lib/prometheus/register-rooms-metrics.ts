import { Counter, Gauge, validateMetricName, type Metric, type Registry, type RegistryContentType } from 'prom-client';
import { REQUEST_HISTOGRAM, SCALAR_METRICS, type ScalarMetric } from '../metrics/metric-table.js';
import type { RoomsMetricsSnapshot } from '../metrics/rooms-metrics.js';
import { snapshotPerTurn, type RoomsMetricsSource } from '../metrics/snapshot-source.js';

type Snapshot = () => RoomsMetricsSnapshot;

/** A gauge or counter of prom-client whose values are read from the snapshot when it is collected. */
function scalarMetric(metric: ScalarMetric, snapshot: Snapshot): Metric {
  const { name, help, label, read } = metric;
  const labelNames = label === undefined ? [] : [label.name];
  if (metric.type === 'gauge') {
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [],
      collect() {
        this.set(read(snapshot()) as number);
      },
    });
  }
  return new Counter({
    name,
    help,
    labelNames,
    registers: [],
    // A counter from an absolute value: cleared, then set by one increment per series.
    collect() {
      const value = read(snapshot());
      this.reset();
      if (typeof value === 'number' || label === undefined) return void this.inc(value as number);
      for (const labelValue of label.values) this.inc({ [label.name]: labelValue }, value[labelValue]);
    },
  });
}

/**
 * The request histogram as a metric object of our own: prom-client's `Histogram` only learns
 * from `observe()`, and the bucket counts are already kept (plain numbers, off the hot path).
 */
function requestHistogram(snapshot: Snapshot): Metric {
  const { name, help, label, read } = REQUEST_HISTOGRAM;
  validateMetricName(name);
  const type = 'histogram';
  const aggregator = 'sum';
  const histogram = {
    name,
    help,
    type,
    aggregator,
    reset(): void {
      // The counts are the server's; a registry reset does not clear them.
    },
    async get() {
      const histograms = read(snapshot());
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
      for (const kind of label.values) {
        const { bounds, buckets, sum, count } = histograms[kind];
        const labels = { [label.name]: kind };
        bounds.forEach((le, i) =>
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: buckets[i] }),
        );
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
        values.push({ metricName: `${name}_sum`, labels, value: sum });
        values.push({ metricName: `${name}_count`, labels, value: count });
      }
      return { name, help, type, aggregator, values };
    },
  };
  return histogram as unknown as Metric;
}

/**
 * Registers every metric of the contract (`nestjs_rooms_*`) on a prom-client `registry`, read
 * from `rooms.metrics()` when the registry is scraped (one snapshot per scrape); nothing is added
 * to the paths that serve sockets. With `@willsoto/nestjs-prometheus`, pass prom-client's global
 * `register`, which its `/metrics` serves.
 *
 * Returns the function that unregisters them again (from a module's `onModuleDestroy`, say): it
 * removes only the metrics this call registered, and may be called more than once. One registry
 * takes one app's metrics: a second registration on it throws prom-client's "already been
 * registered" error and leaves the registry as it was.
 */
export function registerRoomsMetrics(registry: Registry<RegistryContentType>, rooms: RoomsMetricsSource): () => void {
  const snapshot = snapshotPerTurn(rooms);
  const metrics = new Map<string, Metric>();
  for (const metric of SCALAR_METRICS) metrics.set(metric.name, scalarMetric(metric, snapshot));
  metrics.set(REQUEST_HISTOGRAM.name, requestHistogram(snapshot));
  const registered: string[] = [];
  const unregister = () => {
    for (const name of registered.splice(0)) {
      if (registry.getSingleMetric(name) === metrics.get(name)) registry.removeSingleMetric(name);
    }
  };
  try {
    for (const [name, metric] of metrics) {
      // prom-client throws when the name is taken, by anyone's metric.
      registry.registerMetric(metric);
      registered.push(name);
    }
  } catch (error) {
    unregister();
    throw error;
  }
  return unregister;
}
