/**
 * What a server says when Redis refuses its publishes and when Redis is lost: a refusal while
 * connected is reported as such, with Redis's own words (and requests fail with them as their
 * cause), never as an outage; each outage is warned of once, the second as much as the first.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { RoomsError } from '../../lib/index.js';
import { BROKER_DOWN } from '../../lib/rooms.messages.js';
import type { TestApp } from '../support/app.js';
import { brokerModule, CapturingLogger, redisBroker, startAppWithLogger } from '../support/fault-helpers.js';
import { rejectionOf } from '../support/rejection.js';
import { RedisProcess } from '../support/redis-server.js';
import { ServerProcess } from '../support/server-process.js';
import { untilBrokerStatus } from '../support/timing.js';

const OUTAGE = /broker is not connected/;

describe('Redis refusing publishes, then lost twice: what the server says', () => {
  let redis: RedisProcess;
  let peer: ServerProcess;
  let app: TestApp;
  // The in-process server's own log; the peer runs in a child process, whose log is its own.
  const logger = new CapturingLogger();
  const outageWarnings = () => logger.messages('warn').filter((message) => OUTAGE.test(message));

  before(async () => {
    redis = await RedisProcess.start();
    peer = await ServerProcess.start({ BROKER: 'redis', BROKER_URL: redis.url });
    app = await startAppWithLogger(brokerModule(redisBroker(redis)), logger);
    const cluster = app.cluster();
    while (!cluster.peerIds.includes(peer.node)) await once(cluster, 'peer-up');
  });
  after(async () => {
    await app?.close();
    await peer?.kill();
    await redis?.dispose();
  });

  it('a publish refused while connected is said as it is, with its cause, and a request fails with it', async () => {
    // Connected, subscriptions untouched, but no SPUBLISH allowed.
    assert.equal(await redis.cli('acl', 'setuser', 'default', '-spublish'), 'OK');
    try {
      app.rooms.to('crew').emit('refused', 1);
      const warning = await logger.until('warn', /refused a message/);
      assert.match(warning, /it is connected\): NOPERM/);
      assert.deepEqual(outageWarnings(), []);

      const error = await rejectionOf(app.rooms.in('crew').count(), RoomsError);
      assert.match(error.message, /^The broker refused the cluster request.*NOPERM/);
      assert.ok(error.cause instanceof Error, 'the rejection keeps what Redis answered');
      assert.match(error.cause.message, /NOPERM/);
      assert.deepEqual(outageWarnings(), []);
      assert.equal(app.rooms.metrics().brokerUp, 1);
    } finally {
      await redis.cli('acl', 'setuser', 'default', '+spublish');
    }
  });

  it('warns once per outage: Redis killed and restarted twice, broadcasts going on meanwhile', async () => {
    // A refused broadcast first (its rejection is handled before the request's, which follows it on
    // the same connection): it must neither count as an outage nor hide the next one.
    assert.equal(await redis.cli('acl', 'setuser', 'default', '-spublish'), 'OK');
    app.rooms.to('crew').emit('refused', 2);
    await rejectionOf(app.rooms.in('crew').count(), RoomsError);
    assert.equal(await redis.cli('acl', 'setuser', 'default', '+spublish'), 'OK');
    const before = outageWarnings().length;
    const warned = () => outageWarnings().length - before;
    for (const outage of [1, 2]) {
      const down = untilBrokerStatus(app, false);
      await redis.stop();
      await down;
      for (let i = 0; i < 5; i++) app.rooms.to('crew').emit('while down', i);
      await assert.rejects(app.rooms.in('crew').count(), { message: BROKER_DOWN });
      assert.equal(warned(), outage, `outage ${outage}: ${JSON.stringify(logger.messages('warn'))}`);

      const up = untilBrokerStatus(app, true);
      await redis.start();
      await up;
      app.rooms.to('crew').emit('back', outage);
      assert.equal(warned(), outage);
    }
  });
});
