/**
 * `observeRoomsMetrics` on an OpenTelemetry meter: the SDK's reader collects the same figures as
 * `rooms.metrics()`, under the contract's names, once per collection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { BAD_FRAME_KINDS, DISCONNECT_REASONS } from '../../lib/metrics/metric-labels.js';
import { observeRoomsMetrics } from '../../lib/otel/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { TestClient } from '../support/client.js';
import { MetricsModule } from '../support/metrics.fixture.js';

/** A reader the test collects with by hand. */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** The SDK's name rule for instruments. */
const INSTRUMENT_NAME = /^[a-z][a-z0-9_.\-/]{0,254}$/i;

const EXPECTED: Array<[name: string, kind: 'gauge' | 'counter']> = [
  ['nestjs_rooms.connections', 'gauge'],
  ['nestjs_rooms.connections_opened', 'counter'],
  ['nestjs_rooms.disconnections', 'counter'],
  ['nestjs_rooms.rooms', 'gauge'],
  ['nestjs_rooms.frames_received', 'counter'],
  ['nestjs_rooms.frames_sent', 'counter'],
  ['nestjs_rooms.bytes_received', 'counter'],
  ['nestjs_rooms.bytes_sent', 'counter'],
  ['nestjs_rooms.broadcasts', 'counter'],
  ['nestjs_rooms.dropped', 'counter'],
  ['nestjs_rooms.bad_frames', 'counter'],
  ['nestjs_rooms.recoveries', 'counter'],
  ['nestjs_rooms.cluster_servers', 'gauge'],
  ['nestjs_rooms.broker_up', 'gauge'],
  ['nestjs_rooms.presence_entries', 'gauge'],
];

/** A metric's data points as `attribute value (or '') -> value`. */
function points(metric: MetricData): Map<string, number> {
  return new Map(
    metric.dataPoints.map((point) => [String(Object.values(point.attributes)[0] ?? ''), point.value as number]),
  );
}

describe('observeRoomsMetrics', () => {
  let app: TestApp;
  let client: TestClient;
  before(async () => {
    app = await startApp(MetricsModule);
    client = await TestClient.connect(app.url('/m'));
    await client.request('join', { room: 'lobby' });
    client.send('[1]');
    await client.next();
  });
  after(async () => {
    await client.close();
    await app.close();
  });

  it('a reader collects every figure of the snapshot under the contract names, a collection per callback', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    let taken = 0;
    observeRoomsMetrics(provider.getMeter('nestjs-rooms'), {
      metrics: () => {
        taken++;
        return app.rooms.metrics();
      },
    });
    const { resourceMetrics, errors } = await reader.collect();
    assert.deepEqual(errors, []);
    assert.equal(taken, 1, 'one snapshot per collection');
    const snapshot = app.rooms.metrics();
    const metrics = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
    assert.deepEqual(
      metrics.map((metric) => metric.descriptor.name),
      EXPECTED.map(([name]) => name),
      'every metric once, and no histogram',
    );
    for (const [name, kind] of EXPECTED) {
      const metric = metrics.find((entry) => entry.descriptor.name === name)!;
      assert.match(name, INSTRUMENT_NAME);
      if (kind === 'gauge') assert.equal(metric.dataPointType, DataPointType.GAUGE, name);
      else assert.ok(metric.dataPointType === DataPointType.SUM && metric.isMonotonic, `${name} is a counter`);
    }
    const byName = (name: string) => points(metrics.find((metric) => metric.descriptor.name === name)!);
    assert.equal(byName('nestjs_rooms.connections').get(''), 1);
    assert.equal(byName('nestjs_rooms.connections_opened').get(''), snapshot.connectionsTotal);
    assert.equal(byName('nestjs_rooms.rooms').get(''), 1);
    assert.equal(byName('nestjs_rooms.cluster_servers').get(''), 1);
    assert.equal(byName('nestjs_rooms.broker_up').get(''), 1);
    assert.equal(byName('nestjs_rooms.frames_received').get(''), snapshot.framesReceived);
    assert.equal(byName('nestjs_rooms.bytes_sent').get(''), snapshot.bytesSent);
    const badFrames = byName('nestjs_rooms.bad_frames');
    assert.deepEqual([...badFrames.keys()].sort(), [...BAD_FRAME_KINDS].sort());
    assert.equal(badFrames.get('not_an_object'), 1);
    assert.equal(badFrames.get('binary'), 0);
    assert.deepEqual([...byName('nestjs_rooms.disconnections').keys()].sort(), [...DISCONNECT_REASONS].sort());
    await provider.shutdown();
  });

  it('an in-memory exporter reads the values as they are at each export', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const stop = observeRoomsMetrics(provider.getMeter('nestjs-rooms'), app.rooms);
    const connections = async () => {
      await reader.forceFlush();
      const exported = exporter
        .getMetrics()
        .at(-1)!
        .scopeMetrics.flatMap((scope) => scope.metrics);
      return points(exported.find((metric) => metric.descriptor.name === 'nestjs_rooms.connections')!).get('');
    };
    assert.equal(await connections(), 1);
    const other = await TestClient.connect(app.url('/m'));
    assert.equal(await connections(), 2);
    await other.close();
    stop();
    await provider.shutdown();
  });
});
