/**
 * The figures a cluster moves: broadcasts received from other servers, the live servers, the
 * broker's status (Redis stopped and started), and how long cluster requests take.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InMemoryBroker } from '../../lib/index.js';
import { REQUEST_BUCKETS } from '../../lib/metrics/metric-labels.js';
import { startApp, type TestApp } from '../support/app.js';
import { TestClient } from '../support/client.js';
import { closeCluster, nodeIdOf, startCluster } from '../support/cluster.js';
import { redisBroker } from '../support/fault-helpers.js';
import { metricsDelta, metricsModuleOn } from '../support/metrics.fixture.js';
import { RedisProcess } from '../support/redis-server.js';
import { untilBrokerStatus, untilGone, untilMeshed } from '../support/timing.js';

describe('on an in-memory cluster', () => {
  const broker = new InMemoryBroker({ requestTimeout: 150, heartbeatInterval: 100, heartbeatTimeout: 400 });
  let apps: TestApp[];
  before(async () => {
    apps = await startCluster(2, () => metricsModuleOn(broker));
    await untilMeshed(apps);
  });
  after(() => closeCluster(apps));

  it('counts a broadcast as local where it was emitted and remote where it arrived', async () => {
    const [a, b] = apps;
    const client = await TestClient.connect(b.url('/m'));
    await client.request('join', { room: 'feed' });
    const [beforeA, beforeB] = [a.rooms.metrics(), b.rooms.metrics()];
    a.rooms.to('feed').emit('news', 1);
    assert.deepEqual(await client.next(), { event: 'news', data: 1 });
    assert.deepEqual(metricsDelta(beforeA, a.rooms.metrics()), { 'broadcasts.local': 1 });
    const deltaB = metricsDelta(beforeB, b.rooms.metrics());
    assert.equal(deltaB['broadcasts.remote'], 1);
    assert.equal(deltaB['broadcasts.local'], undefined);
    assert.equal(deltaB.framesSent, 1);
    await client.close();
  });

  it('counts the live servers, this one included, as they come and go', async () => {
    const [a, b] = apps;
    assert.equal(a.rooms.metrics().clusterServers, 2);
    const third = await startApp(metricsModuleOn(broker));
    await untilMeshed([...apps, third]);
    assert.equal(a.rooms.metrics().clusterServers, 3);
    assert.equal(third.rooms.metrics().clusterServers, 3);
    const gone = nodeIdOf(third);
    await third.close();
    await Promise.all([untilGone(a, gone), untilGone(b, gone)]);
    assert.equal(a.rooms.metrics().clusterServers, 2);
    assert.equal(b.rooms.metrics().clusterServers, 2);
  });

  it('puts each cluster request in the buckets of its kind, a timed-out one past its timeout', async () => {
    const [a, b] = apps;
    const before = a.rooms.metrics().clusterRequestSeconds;
    await a.rooms.fetchSockets();
    await a.rooms.count();
    await a.rooms.count();
    const unanswered = b.rooms.onServerEvent('stall', () => new Promise(() => undefined));
    await assert.rejects(a.rooms.serverSideEmitWithAck('stall'));
    unanswered();
    const after = a.rooms.metrics().clusterRequestSeconds;
    assert.equal(after.fetch.count - before.fetch.count, 1);
    assert.equal(after.count.count - before.count.count, 2);
    assert.equal(after.rooms.count - before.rooms.count, 0);
    const stalled = after.server_event;
    assert.equal(stalled.count - before.server_event.count, 1);
    // Node may fire a timer up to a millisecond before performance.now() says it is due.
    assert.ok(stalled.sum - before.server_event.sum >= 0.148, 'it waited for its timeout (150 ms)');
    // Cumulative buckets: the timed-out request is in none up to 0.1 s, and in every one from 0.25 s.
    assert.deepEqual(stalled.bounds, REQUEST_BUCKETS);
    const added = stalled.buckets.map((count, i) => count - before.server_event.buckets[i]);
    REQUEST_BUCKETS.forEach((bound, i) => {
      if (bound < 0.15) assert.equal(added[i], 0, `le ${bound}`);
      if (bound >= 0.25) assert.equal(added[i], 1, `le ${bound}`);
    });
    for (const histogram of Object.values(after)) {
      for (let i = 1; i < histogram.buckets.length; i++) assert.ok(histogram.buckets[i] >= histogram.buckets[i - 1]);
      assert.ok(histogram.buckets.at(-1)! <= histogram.count);
    }
    assert.ok(after.fetch.sum > before.fetch.sum);
  });
});

describe('on Redis', () => {
  let redis: RedisProcess;
  let app: TestApp;
  before(async () => {
    redis = await RedisProcess.start();
    app = await startApp(metricsModuleOn(redisBroker(redis)));
  });
  after(async () => {
    await app.close();
    await redis.dispose();
  });

  it('reports the broker down while Redis is stopped and up once it is back', async () => {
    // The broker connects after start-up.
    if (app.rooms.metrics().brokerUp === 0) await untilBrokerStatus(app, true);
    assert.equal(app.rooms.metrics().brokerUp, 1);
    const down = untilBrokerStatus(app, false);
    await redis.stop();
    await down;
    assert.equal(app.rooms.metrics().brokerUp, 0);
    const up = untilBrokerStatus(app, true);
    await redis.start();
    await up;
    assert.equal(app.rooms.metrics().brokerUp, 1);
  });
});
