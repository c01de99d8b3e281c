/**
 * What the Redis broker does when things go wrong: a server leaving, Redis dying mid-traffic and
 * coming back, Redis missing at start-up; and how it routes: room channels subscribed by exactly
 * the servers with members, payloads passed on untouched, local effects applied at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoomsError } from '../../lib/index.js';
import { BROKER_DOWN } from '../../lib/rooms.messages.js';
import { startApp, type TestApp } from '../support/app.js';
import { closeAll, TestClient } from '../support/client.js';
import { closeCluster, nodeIdOf, startCluster } from '../support/cluster.js';
import {
  brokerModule,
  CapturingLogger,
  FrameLog,
  redisBroker,
  shardSubscribers,
  startAppWithLogger,
} from '../support/fault-helpers.js';
import { RedisProcess } from '../support/redis-server.js';
import { eventually, untilBrokerStatus, untilGone, untilMeshed } from '../support/timing.js';

// Nothing in this file may end in an unhandled rejection or an uncaught exception: recorded here,
// asserted by the fault tests and once more at the end.
const unexpected: unknown[] = [];
process.on('unhandledRejection', (reason) => unexpected.push(reason));
process.on('uncaughtException', (error) => unexpected.push(error));

const brokerDown = (error: unknown) => {
  assert.ok(error instanceof RoomsError, `expected a RoomsError, got ${String(error)}`);
  assert.equal(error.message, BROKER_DOWN);
  return true;
};

async function connectAll(apps: TestApp[]): Promise<TestClient[]> {
  return Promise.all(apps.map((app) => TestClient.connect(app.url('/chat'))));
}

async function joinAll(clients: TestClient[], room: string): Promise<void> {
  for (const client of clients)
    assert.deepEqual(await client.request('join', { room }), { event: 'joined', data: room });
}

describe('a server closed gracefully', () => {
  // A long heartbeat timeout, so that "at once" cannot be the heartbeats' doing.
  const heartbeatTimeout = 3000;
  let redis: RedisProcess;
  let apps: TestApp[];
  let clients: TestClient[];

  before(async () => {
    redis = await RedisProcess.start();
    apps = await startCluster(3, () => brokerModule(redisBroker(redis, { heartbeatTimeout })));
    await untilMeshed(apps);
    clients = await connectAll(apps);
    await joinAll(clients, 'crew');
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps.slice(0, 2));
    await redis.dispose();
  });

  it('is dropped by the others at once, and pending and new requests no longer wait for it', async (t) => {
    const [a, b, leaving] = apps;
    assert.equal(await a.rooms.in('crew').count(), 3);

    // A request the leaving server receives and never answers: only its goodbye can end it early.
    let received!: () => void;
    const stalled = new Promise<void>((resolve) => (received = resolve));
    leaving.rooms.onServerEvent('stall', () => {
      received();
      return new Promise(() => undefined);
    });
    b.rooms.onServerEvent('stall', () => 'from b');
    const pending = a.rooms.serverSideEmitWithAck('stall');
    await stalled;

    const id = nodeIdOf(leaving);
    const dropped = Promise.all([untilGone(a, id), untilGone(b, id)]);
    const started = Date.now();
    const closing = leaving.close();
    assert.deepEqual(await pending, ['from b']);
    const answeredAfter = Date.now() - started;
    await dropped;
    const droppedAfter = Date.now() - started;
    await closing;
    t.diagnostic(`pending request answered after ${answeredAfter} ms, server dropped after ${droppedAfter} ms`);
    assert.ok(answeredAfter < heartbeatTimeout / 3, `the pending request waited ${answeredAfter} ms`);
    assert.ok(droppedAfter < heartbeatTimeout / 3, `dropped after ${droppedAfter} ms`);
    assert.equal((await clients[2].closed).code, 1001);

    const asked = Date.now();
    assert.equal(await a.rooms.in('crew').count(), 2);
    const ids = (await b.rooms.in('crew').fetchSockets()).map((socket) => socket.id);
    assert.deepEqual(ids.sort(), [clients[0].id, clients[1].id].sort());
    assert.ok(Date.now() - asked < 500, `requests after the goodbye took ${Date.now() - asked} ms`);
    assert.deepEqual(unexpected, []);
  });
});

describe('Redis stopped mid-traffic', () => {
  let redis: RedisProcess;
  let apps: TestApp[];
  let clients: TestClient[];
  let logs: FrameLog[];

  before(async () => {
    redis = await RedisProcess.start();
    apps = await startCluster(2, () => brokerModule(redisBroker(redis)));
    await untilMeshed(apps);
    clients = await connectAll([apps[0], apps[0], apps[1]]);
    logs = clients.map((client) => new FrameLog(client.ws));
    await joinAll(clients, 'traffic');
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps);
    await redis.dispose();
  });

  it('keeps local delivery, fails cluster requests at once with BROKER_DOWN, and recovers by itself', async (t) => {
    const [serverA, serverB] = apps;
    const [a1, a2, b1] = clients;
    const [logA1, logA2, logB1] = logs;
    serverB.rooms.onServerEvent('ping', () => 'pong');
    serverB.rooms.onServerEvent('stall', () => new Promise(() => undefined));

    // Broadcasts flowing: each server sends a numbered tick to the room every 5 ms.
    let ticksA = 0;
    let ticksB = 0;
    const ticker = setInterval(() => {
      serverA.rooms.to('traffic').emit('tick-a', ticksA++);
      serverB.rooms.to('traffic').emit('tick-b', ticksB++);
    }, 5);
    try {
      // They cross servers while Redis is up.
      await logB1.until((frame) => frame.event === 'tick-a');
      await logA1.until((frame) => frame.event === 'tick-b');

      // In flight when Redis dies: B never answers these, so only the outage can end them early.
      const inFlight = assert.rejects(serverA.rooms.serverSideEmitWithAck('stall'), brokerDown);
      const ackInFlight = assert.rejects(serverA.rooms.to(b1.id).emitWithAck('unanswered'), brokerDown);
      await logB1.until((frame) => frame.event === 'unanswered');

      const down = Promise.all(apps.map((app) => untilBrokerStatus(app, false)));
      await redis.stop();
      const stoppedAt = Date.now();
      await down;
      await inFlight;
      await ackInFlight;
      const failedAfter = Date.now() - stoppedAt;
      t.diagnostic(`in-flight requests failed ${failedAfter} ms after redis-server was gone`);
      assert.ok(failedAfter < 1000, `in-flight requests failed ${failedAfter} ms after the stop`);

      // Requests made during the outage fail at once instead of waiting for requestTimeout.
      const requests: Array<[string, () => Promise<unknown>]> = [
        ['count', () => serverA.rooms.in('traffic').count()],
        ['fetchSockets', () => serverA.rooms.fetchSockets()],
        ['emitWithAck to a remote socket', () => serverA.rooms.to(b1.id).emitWithAck('question')],
        ['serverSideEmitWithAck', () => serverA.rooms.serverSideEmitWithAck('ping')],
        ['socketsJoin', () => serverA.rooms.in(b1.id).socketsJoin('elsewhere')],
        ['allRooms on B', () => serverB.rooms.allRooms()],
        ['count on B', () => serverB.rooms.count()],
      ];
      for (const [name, request] of requests) {
        const asked = Date.now();
        await assert.rejects(request(), brokerDown, name);
        assert.ok(Date.now() - asked < 200, `${name} took ${Date.now() - asked} ms to fail`);
      }

      // The outage outlasts heartbeatTimeout: each server forgets the other, and requests still
      // fail with BROKER_DOWN instead of quietly answering for this server alone.
      await Promise.all([untilGone(serverA, nodeIdOf(serverB)), untilGone(serverB, nodeIdOf(serverA))]);
      await assert.rejects(serverA.rooms.in('traffic').count(), brokerDown);
      await assert.rejects(serverB.rooms.to(a1.id).emitWithAck('question'), brokerDown);

      // Local delivery goes on: 40 more ticks of each server reach that server's own clients.
      const target = Math.max(ticksA, ticksB) + 40;
      await logA2.until((frame) => frame.event === 'tick-a' && (frame.data as number) >= target);
      await logB1.until((frame) => frame.event === 'tick-b' && (frame.data as number) >= target);
    } finally {
      clearInterval(ticker);
    }
    // Every tick a server emitted reached each of its own clients, once, in order.
    await logA1.until((frame) => frame.event === 'tick-a' && frame.data === ticksA - 1);
    await logA2.until((frame) => frame.event === 'tick-a' && frame.data === ticksA - 1);
    await logB1.until((frame) => frame.event === 'tick-b' && frame.data === ticksB - 1);
    const sequence = (count: number) => Array.from({ length: count }, (_, index) => index);
    assert.deepEqual(logA1.dataOf('tick-a'), sequence(ticksA));
    assert.deepEqual(logA2.dataOf('tick-a'), sequence(ticksA));
    assert.deepEqual(logB1.dataOf('tick-b'), sequence(ticksB));

    // Redis comes back on the same port: the servers reconnect and re-subscribe by themselves.
    const up = Promise.all(apps.map((app) => untilBrokerStatus(app, true)));
    await redis.start();
    const restartedAt = Date.now();
    // A bounded probe loop, not a sleep: a probe sent before the other server has re-subscribed is
    // lost (that is the outage), so probe every 100 ms until one arrives, for at most 10 s.
    const probe = async (from: TestApp, log: FrameLog, event: string) => {
      const start = log.frames.length;
      const arrived = log.until((frame) => frame.event === event, 10_000, start);
      const timer = setInterval(() => from.rooms.to('traffic').emit(event), 100);
      from.rooms.to('traffic').emit(event);
      try {
        await arrived;
      } finally {
        clearInterval(timer);
      }
    };
    await probe(serverA, logB1, 'probe-from-a');
    await probe(serverB, logA1, 'probe-from-b');
    t.diagnostic(`cross-server delivery resumed ${Date.now() - restartedAt} ms after redis-server restarted`);
    // Both said they are connected again, and they find each other again.
    await up;
    await untilMeshed(apps);

    // Requests work again.
    assert.equal(await serverA.rooms.in('traffic').count(), 3);
    const ids = (await serverB.rooms.in('traffic').fetchSockets()).map((socket) => socket.id);
    assert.deepEqual(ids.sort(), [a1.id, a2.id, b1.id].sort());
    assert.deepEqual(await serverA.rooms.serverSideEmitWithAck('ping'), ['pong']);
    const seen = logB1.frames.length;
    const answers = serverA.rooms.to(b1.id).emitWithAck('question', 'again?');
    const question = await logB1.until((frame) => frame.event === 'question', 5000, seen);
    b1.send({ ack: question.ack, data: 'yes' });
    assert.deepEqual(await answers, ['yes']);
    await serverA.rooms.in(b1.id).socketsJoin('after');
    serverA.rooms.to('after').emit('in-after');
    await logB1.until((frame) => frame.event === 'in-after');
    assert.deepEqual(unexpected, []);
  });
});

describe('Redis down at start-up', () => {
  let redis: RedisProcess;
  const apps: TestApp[] = [];
  const clients: TestClient[] = [];

  before(async () => {
    // A port of its own with nothing listening on it yet.
    redis = await RedisProcess.start();
    await redis.stop();
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps);
    await redis.dispose();
  });

  it('an app closes promptly while Redis is down, with sockets in rooms', async (t) => {
    const app = await startApp(brokerModule(redisBroker(redis)));
    const client = await TestClient.connect(app.url('/chat'));
    // Its subscriptions (the shared channels, its own, this room's) wait for a Redis that is not there.
    assert.deepEqual(await client.request('join', { room: 'nowhere' }), { event: 'joined', data: 'nowhere' });
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('app.close() still pending after 5 s')), 5000);
    });
    await Promise.race([app.close(), stuck]).finally(() => clearTimeout(timer));
    t.diagnostic(`app.close() took ${Date.now() - started} ms`);
    assert.ok(Date.now() - started < 2000, `app.close() took ${Date.now() - started} ms`);
    assert.equal((await client.closed).code, 1001);
    assert.deepEqual(unexpected, []);
  });

  it('starts anyway with a clear warning, and joins the cluster once Redis is up', async () => {
    const logger = new CapturingLogger();
    const brokerWarnings: string[] = [];
    const broker = redisBroker(redis, { logger: { warn: (message) => brokerWarnings.push(message) } });
    const late = await startAppWithLogger(brokerModule(broker), logger);
    apps.push(late);
    // app.listen resolved; the warning comes at once or after a short start-up grace.
    const warning = await logger.until('warn', /broker is not connected/, 5000);
    assert.match(warning, /other servers are out of reach/);
    // The broker's own words about its connections go to the logger it was given, once per client.
    assert.ok(brokerWarnings.length > 0 && brokerWarnings.length <= 2, brokerWarnings.join('\n'));
    for (const message of brokerWarnings) assert.match(message, /^Redis (publisher|subscriber): .*; reconnecting$/);

    // It serves its own clients meanwhile; this join is subscribed once Redis is there.
    const early = await TestClient.connect(late.url('/chat'));
    clients.push(early);
    assert.deepEqual(await early.request('join', { room: 'late' }), { event: 'joined', data: 'late' });
    late.rooms.to('late').emit('local while down');
    assert.deepEqual(await early.next(), { event: 'local while down' });

    await redis.start();
    const other = await startApp(brokerModule(redisBroker(redis)));
    apps.push(other);
    await untilMeshed([late, other]);

    const remote = await TestClient.connect(other.url('/chat'));
    clients.push(remote);
    assert.deepEqual(await remote.request('join', { room: 'late' }), { event: 'joined', data: 'late' });
    other.rooms.to('late').emit('to the late server');
    assert.deepEqual(await early.next(), { event: 'to the late server' });
    assert.deepEqual(await remote.next(), { event: 'to the late server' });
    late.rooms.to('late').emit('from the late server');
    assert.deepEqual(await early.next(), { event: 'from the late server' });
    assert.deepEqual(await remote.next(), { event: 'from the late server' });
    assert.equal(await other.rooms.in('late').count(), 2);
    assert.deepEqual(unexpected, []);
  });
});

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
    const [a, a2, b, c] = clients;
    const subscribers = () => shardSubscribers(redis, channel);
    assert.equal(await subscribers(), 0);
    await joinAll([a], 'routed');
    assert.equal(await subscribers(), 1);
    // One subscription per server, not per socket.
    await joinAll([a2], 'routed');
    assert.equal(await subscribers(), 1);
    await joinAll([b], 'routed');
    assert.equal(await subscribers(), 2);

    // C has no member: it publishes without subscribing, and the members on A and B get it.
    apps[2].rooms.to('routed').emit('hello', 'from C');
    for (const client of [a, a2, b]) assert.deepEqual(await client.next(), { event: 'hello', data: 'from C' });
    apps[0].rooms.to(c.id).emit('marker');
    assert.deepEqual(await c.next(), { event: 'marker' });

    // The room empties on A: A unsubscribes (a leave does not wait for Redis to confirm it).
    assert.deepEqual(await a.request('leave', { room: 'routed' }), { event: 'left', data: 'routed' });
    assert.equal(await subscribers(), 2, 'a2 is still in the room on A');
    assert.deepEqual(await a2.request('leave', { room: 'routed' }), { event: 'left', data: 'routed' });
    assert.equal(await eventually(subscribers, 1), 1);
    apps[0].rooms.to('routed').emit('still there', 'from A');
    assert.deepEqual(await b.next(), { event: 'still there', data: 'from A' });
    apps[0].rooms.to([a.id, a2.id]).emit('marker');
    assert.deepEqual(await a.next(), { event: 'marker' });
    assert.deepEqual(await a2.next(), { event: 'marker' });
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

describe('local effects are immediate', () => {
  let redis: RedisProcess;
  let apps: TestApp[];
  let clients: TestClient[];

  before(async () => {
    redis = await RedisProcess.start();
    apps = await startCluster(2, () => brokerModule(redisBroker(redis)));
    // Meshed, so that every cluster-wide operation below also waits for the other server's answer.
    await untilMeshed(apps);
    clients = await connectAll(apps);
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps);
    await redis.dispose();
  });

  it('socketsJoin, socketsLeave and disconnectSockets act on this server at once, before any Redis round trip', async () => {
    const [server] = apps;
    const [a, b] = clients;

    const joined = server.rooms.in(a.id).socketsJoin('x');
    server.rooms.local.to('x').emit('now');
    server.rooms.local.to(a.id).emit('marker');
    assert.deepEqual(await a.next(), { event: 'now' });
    assert.deepEqual(await a.next(), { event: 'marker' });
    await joined;

    const left = server.rooms.in(a.id).socketsLeave('x');
    server.rooms.local.to('x').emit('too late');
    server.rooms.local.to(a.id).emit('marker');
    assert.deepEqual(await a.next(), { event: 'marker' });
    await left;

    const disconnected = server.rooms.in(a.id).disconnectSockets();
    server.rooms.local.to(a.id).emit('after the disconnect');
    assert.equal((await a.closed).code, 1000);
    assert.deepEqual(a.pending, []);
    await disconnected;

    // The other server took part in each of them and is still fine.
    assert.equal(await apps[1].rooms.count(), 1);
    assert.ok(b.ws.readyState === b.ws.OPEN);
    assert.deepEqual(unexpected, []);
  });
});

describe('the whole file', () => {
  it('had no unhandled rejection and no uncaught exception', () => {
    assert.deepEqual(unexpected, []);
  });
});
