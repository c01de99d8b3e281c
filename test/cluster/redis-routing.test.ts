/**
 * How the Redis broker routes (its faults are in the broker conformance suite): room channels
 * subscribed by exactly the servers with members, payloads passed on untouched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../support/app.js';
import { closeAll, TestClient } from '../support/client.js';
import { closeCluster, nodeIdOf, startCluster } from '../support/cluster.js';
import { brokerModule, FrameLog, redisBroker, shardSubscribers } from '../support/fault-helpers.js';
import { RedisProcess } from '../support/redis-server.js';
import { connectAll, routesToMembersOnly } from '../support/routing-scenario.js';
import { untilMeshed } from '../support/timing.js';

describe('routing through Redis', () => {
  const channel = 'nestjs-rooms:room:routed';
  let redis: RedisProcess;
  let apps: TestApp[];
  let clients: TestClient[];

  before(async () => {
    redis = await RedisProcess.start();
    apps = await startCluster(3, () => brokerModule(redisBroker(redis)));
    await untilMeshed(apps);
    // a and a2 on server A, b on B, c on C.
    clients = await connectAll([apps[0], apps[0], apps[1], apps[2]]);
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps);
    await redis.dispose();
  });

  it('subscribes a room channel on exactly the servers with members, by the time the join is answered', async () => {
    const subscribers = () => shardSubscribers(redis, channel);
    await routesToMembersOnly(apps, clients, subscribers);
  });

  it('passes a payload on byte for byte: receivers frame it without parsing or serialising it again', async () => {
    const [, , b] = clients;
    const log = new FrameLog(b.ws);
    // Not what JSON.stringify would write (escapes, spacing, key order): only a verbatim copy keeps it.
    const payload = '{"data" : "caf\\u00e9 \\ud83d\\ude00",  "event":"verbatim"}';
    // Sent as server C would send it (C's own id, so no server takes it for a stranger).
    const header = JSON.stringify({ t: 'b', n: nodeIdOf(apps[2]), v: false, c: false, r: ['routed'], x: [] });
    assert.equal(await redis.cli('spublish', channel, `${header}\n${payload}`), '1');
    await log.until((frame) => frame.event === 'verbatim');
    assert.equal(log.raw.at(-1), payload);
    assert.deepEqual(await b.next(), { event: 'verbatim', data: 'café 😀' });
  });
});
