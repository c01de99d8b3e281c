/**
 * `registerRoomsMetrics` on a prom-client registry: every metric of the contract with its labels,
 * read from one snapshot per scrape, a histogram Prometheus can read, and a clean way out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gauge, Registry, validateMetricName } from 'prom-client';
import { InMemoryBroker, type RoomsMetricsSnapshot } from '../../lib/index.js';
import {
  BAD_FRAME_KINDS,
  BROADCAST_ORIGINS,
  DISCONNECT_REASONS,
  DROP_REASONS,
  RECOVERY_RESULTS,
  REQUEST_BUCKETS,
  REQUEST_KINDS,
} from '../../lib/metrics/metric-labels.js';
import { registerRoomsMetrics } from '../../lib/prometheus/index.js';
import type { TestApp } from '../support/app.js';
import { TestClient } from '../support/client.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { metricsModuleOn } from '../support/metrics.fixture.js';
import { untilMeshed } from '../support/timing.js';

/** The contract's table: name, type, label and its values. */
const CONTRACT: Array<[name: string, type: string, label?: string, values?: readonly string[]]> = [
  ['nestjs_rooms_connections', 'gauge'],
  ['nestjs_rooms_connections_total', 'counter'],
  ['nestjs_rooms_disconnections_total', 'counter', 'reason', DISCONNECT_REASONS],
  ['nestjs_rooms_rooms', 'gauge'],
  ['nestjs_rooms_frames_received_total', 'counter'],
  ['nestjs_rooms_frames_sent_total', 'counter'],
  ['nestjs_rooms_bytes_received_total', 'counter'],
  ['nestjs_rooms_bytes_sent_total', 'counter'],
  ['nestjs_rooms_broadcasts_total', 'counter', 'origin', BROADCAST_ORIGINS],
  ['nestjs_rooms_dropped_total', 'counter', 'reason', DROP_REASONS],
  ['nestjs_rooms_bad_frames_total', 'counter', 'kind', BAD_FRAME_KINDS],
  ['nestjs_rooms_recoveries_total', 'counter', 'result', RECOVERY_RESULTS],
  ['nestjs_rooms_cluster_servers', 'gauge'],
  ['nestjs_rooms_broker_up', 'gauge'],
  ['nestjs_rooms_presence_entries', 'gauge'],
  ['nestjs_rooms_cluster_request_seconds', 'histogram', 'kind', REQUEST_KINDS],
];

/** Sample lines of the text format, as `name{labels}` -> value. */
function samples(text: string): Map<string, number> {
  const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  return new Map(
    lines.map((line) => {
      const at = line.lastIndexOf(' ');
      return [line.slice(0, at), Number(line.slice(at + 1))];
    }),
  );
}

describe('registerRoomsMetrics', () => {
  let apps: TestApp[];
  let client: TestClient;
  before(async () => {
    const broker = new InMemoryBroker({ heartbeatInterval: 100, heartbeatTimeout: 400 });
    apps = await startCluster(2, () => metricsModuleOn(broker));
    await untilMeshed(apps);
    client = await TestClient.connect(apps[0].url('/m'));
    await client.request('join', { room: 'lobby' });
    client.send('{nope');
    await client.next();
    await apps[0].rooms.fetchSockets();
  });
  after(async () => {
    await client.close();
    await closeCluster(apps);
  });

  it('registers every metric of the contract, with its type, help and every value of its label', async () => {
    const registry = new Registry();
    registerRoomsMetrics(registry, apps[0].rooms);
    const json = await registry.getMetricsAsJSON();
    assert.deepEqual(
      json.map((metric) => metric.name),
      CONTRACT.map(([name]) => name),
    );
    for (const [name, type, label, values] of CONTRACT) {
      const metric = json.find((entry) => entry.name === name)!;
      validateMetricName(name);
      assert.equal(metric.type, type, name);
      assert.ok(metric.help.length > 0, `${name} has help`);
      if (label === undefined) continue;
      const seen = new Set(metric.values.map((value) => value.labels[label]));
      assert.deepEqual([...seen].sort(), [...values!].sort(), `${name} has every ${label}, and only those`);
    }
  });

  it('serves the snapshot as it is at scrape time, labelled series and the histogram included', async () => {
    const registry = new Registry();
    registerRoomsMetrics(registry, apps[0].rooms);
    const text = await registry.metrics();
    const snapshot: RoomsMetricsSnapshot = apps[0].rooms.metrics();
    const values = samples(text);
    assert.match(text, /^# TYPE nestjs_rooms_connections gauge$/m);
    assert.match(text, /^# TYPE nestjs_rooms_cluster_request_seconds histogram$/m);
    assert.equal(values.get('nestjs_rooms_connections'), 1);
    assert.equal(values.get('nestjs_rooms_connections_total'), snapshot.connectionsTotal);
    assert.equal(values.get('nestjs_rooms_rooms'), 1);
    assert.equal(values.get('nestjs_rooms_cluster_servers'), 2);
    assert.equal(values.get('nestjs_rooms_broker_up'), 1);
    assert.equal(values.get('nestjs_rooms_frames_received_total'), snapshot.framesReceived);
    assert.equal(values.get('nestjs_rooms_bytes_sent_total'), snapshot.bytesSent);
    assert.equal(values.get('nestjs_rooms_bad_frames_total{kind="not_json"}'), 1);
    assert.equal(values.get('nestjs_rooms_bad_frames_total{kind="binary"}'), 0);
    assert.equal(values.get('nestjs_rooms_disconnections_total{reason="ping_timeout"}'), 0);
    // The histogram: cumulative buckets, +Inf equal to the count, the sum in seconds.
    const fetch = snapshot.clusterRequestSeconds.fetch;
    assert.equal(fetch.count, 1);
    let previous = 0;
    for (const [i, le] of REQUEST_BUCKETS.entries()) {
      const bucket = values.get(`nestjs_rooms_cluster_request_seconds_bucket{kind="fetch",le="${le}"}`);
      assert.equal(bucket, fetch.buckets[i], `le ${le}`);
      assert.ok(bucket! >= previous);
      previous = bucket!;
    }
    assert.equal(values.get('nestjs_rooms_cluster_request_seconds_bucket{kind="fetch",le="+Inf"}'), 1);
    assert.equal(values.get('nestjs_rooms_cluster_request_seconds_count{kind="fetch"}'), 1);
    assert.equal(values.get('nestjs_rooms_cluster_request_seconds_sum{kind="fetch"}'), fetch.sum);
    assert.equal(values.get('nestjs_rooms_cluster_request_seconds_count{kind="join"}'), 0);

    // A later scrape reads the figures as they are then.
    const other = await TestClient.connect(apps[0].url('/m'));
    assert.equal(samples(await registry.metrics()).get('nestjs_rooms_connections'), 2);
    await other.close();
  });

  it('takes one snapshot per scrape', async () => {
    let taken = 0;
    const counted = {
      metrics: () => {
        taken++;
        return apps[0].rooms.metrics();
      },
    };
    const registry = new Registry();
    registerRoomsMetrics(registry, counted);
    await registry.metrics();
    assert.equal(taken, 1);
    await registry.getMetricsAsJSON();
    assert.equal(taken, 2);
  });

  it('refuses a second registration on one registry and leaves it as it was; the returned function unregisters only its own', async () => {
    const registry = new Registry();
    const mine = new Gauge({ name: 'app_queue_depth', help: 'the app’s own', registers: [registry] });
    mine.set(7);
    const unregister = registerRoomsMetrics(registry, apps[0].rooms);
    const names = async () => (await registry.getMetricsAsJSON()).map((metric) => metric.name);
    const registered = await names();
    assert.throws(() => registerRoomsMetrics(registry, apps[1].rooms), /already been registered/);
    assert.deepEqual(await names(), registered);
    assert.equal(samples(await registry.metrics()).get('nestjs_rooms_cluster_servers'), 2);

    unregister();
    assert.deepEqual(await names(), ['app_queue_depth']);
    unregister();
    assert.deepEqual(await names(), ['app_queue_depth']);
    // Free again: another app's rooms may register now.
    registerRoomsMetrics(registry, apps[1].rooms);
    assert.equal((await names()).length, CONTRACT.length + 1);
  });

  it('a registry reset does not clear the server’s figures', async () => {
    const registry = new Registry();
    registerRoomsMetrics(registry, apps[0].rooms);
    registry.resetMetrics();
    assert.equal(samples(await registry.metrics()).get('nestjs_rooms_connections'), 1);
  });
});
