/**
 * Connection recovery across servers on Redis: a session moves to the server its client comes
 * back to, `app.close()` hands sessions to a live peer, and a killed server's sessions are gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoomsEmitter } from '../../lib/emitter/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { redisBroker } from '../support/fault-helpers.js';
import { HookRecorder } from '../support/hook-recorder.js';
import { RecoveringClient, recoveryModule, ResumingClient } from '../support/recovery.fixture.js';
import { RedisProcess } from '../support/redis-server.js';
import { ServerProcess } from '../support/server-process.js';
import { sessionMovesBetweenServers } from '../support/recovery-scenario.js';
import { eventually, untilMeshed } from '../support/timing.js';

const RECOVERY = { maxDisconnection: 20_000 };

describe('connection recovery across servers on Redis', () => {
  let redis: RedisProcess;
  let apps: TestApp[];

  before(async () => {
    redis = await RedisProcess.start();
    apps = await startCluster(3, () => recoveryModule(RECOVERY, redisBroker(redis)));
    await untilMeshed(apps);
  });
  after(async () => {
    await closeCluster(apps);
    await redis.dispose();
  });

  it('recovers on another server after a drop: id, rooms, data and every frame exactly once, in order, from any server', () =>
    sessionMovesBetweenServers(apps));

  it('takes over on another server from a connection its server has not yet seen drop', async () => {
    const [a, b] = apps;
    const first = await RecoveringClient.connect(a.url('/recovery'));
    const id = first.session.id;
    await first.until('welcome');
    await first.client.request('join', { room: 'unnoticed' });
    a.rooms.to('unnoticed').emit('seen', 1);
    await first.next();
    // The old connection is still open when the client comes back on B.
    first.client.tcp.pause();
    a.rooms.to('unnoticed').emit('missed', 2);
    const second = await first.reconnect(b.url('/recovery'));
    assert.equal(second.session.recovered, true);
    assert.equal(second.session.id, id);
    const { before } = await second.until('welcome');
    assert.deepEqual(
      before.map((frame) => frame.event),
      ['missed'],
    );
    assert.equal(a.findSocket(id), undefined);
    await second.close();
  });

  it('recovers one token once when two reconnects race with it on two servers', async () => {
    const [a, b, c] = apps;
    const first = await RecoveringClient.connect(a.url('/recovery'));
    await first.until('welcome');
    first.drop();
    await a.app.get(HookRecorder).wait('handleDisconnect', first.session.id);
    const [one, two] = await Promise.all([first.reconnect(b.url('/recovery')), first.reconnect(c.url('/recovery'))]);
    assert.deepEqual(
      [one.session.recovered, two.session.recovered].sort(),
      [false, true],
      'exactly one of the two is recovered',
    );
    const loser = one.session.recovered ? two : one;
    assert.equal(loser.session.reason, 'unknown session');
    assert.notEqual(loser.session.id, first.session.id);
    await Promise.all([one.close(), two.close()]);
  });

  it('leaves the session where it is when the offset is not its own, and a later good one recovers it elsewhere', async () => {
    const [a, b] = apps;
    const first = await RecoveringClient.connect(a.url('/recovery'));
    await first.until('welcome');
    first.drop();
    await a.app.get(HookRecorder).wait('handleDisconnect', first.session.id);
    const { token } = first.session;
    const garbage = await RecoveringClient.connect(b.url('/recovery'), { token, offset: '12x' });
    assert.deepEqual([garbage.session.recovered, garbage.session.reason], [false, 'unknown session']);
    const outOfRange = await RecoveringClient.connect(b.url('/recovery'), { token, offset: '1' });
    assert.deepEqual([outOfRange.session.recovered, outOfRange.session.reason], [false, 'unknown session']);
    const good = await RecoveringClient.connect(b.url('/recovery'), { token });
    assert.equal(good.session.recovered, true);
    await Promise.all([garbage.close(), outOfRange.close(), good.close()]);
  });
});

describe('a rolling restart on Redis', () => {
  const SOCKETS = 300;
  const ROOMS = 10;
  let redis: RedisProcess;

  before(async () => {
    redis = await RedisProcess.start();
  });
  after(() => redis.dispose());

  it('restarts every server in turn with app.close(): every socket recovers and has every frame exactly once, in order', async () => {
    const live: TestApp[] = await startCluster(3, () => recoveryModule(RECOVERY, redisBroker(redis)));
    await untilMeshed(live);
    const pick = () => live[Math.floor(Math.random() * live.length)].url('/recovery');
    const clients: ResumingClient[] = [];
    for (let i = 0; i < SOCKETS; i++) clients.push(await ResumingClient.connect(pick));
    await Promise.all(clients.map((client, i) => client.request('join', { room: `r${i % ROOMS}` }, 1)));
    // A steady broadcast from outside the servers, numbered per room.
    const emitter = new RoomsEmitter({ broker: redisBroker(redis) });
    const sent = Array.from({ length: ROOMS }, () => 0);
    let turn = 0;
    const timer = setInterval(() => {
      const room = turn++ % ROOMS;
      void emitter.to(`r${room}`).emit('tick', sent[room]++);
    }, 5);
    try {
      for (let round = 0; round < 3; round++) {
        const stopping = live.shift()!;
        await stopping.close();
        const fresh = await startApp(recoveryModule(RECOVERY, redisBroker(redis)));
        live.push(fresh);
        await untilMeshed(live);
        // Every client is back on a live server before the next one stops.
        const back = () => clients.every((client) => client.connected && client.port !== stopping.port);
        await eventually(async () => back(), true, 20_000);
      }
    } finally {
      clearInterval(timer);
    }
    for (let room = 0; room < ROOMS; room++) await emitter.to(`r${room}`).emit('end', sent[room]);
    await Promise.all(clients.map((client) => client.until((frame) => frame.event === 'end')));
    for (const [i, client] of clients.entries()) {
      const [first, ...later] = client.sessions;
      assert.equal(first.recovered, false);
      assert.ok(later.length >= 1, `client ${i} reconnected when its server stopped`);
      assert.deepEqual(
        later.map((session) => [session.id, session.recovered, session.reason]),
        later.map(() => [client.id, true, undefined]),
        `client ${i} recovered at every restart`,
      );
      const ticks = client.frames.filter((frame) => frame.event === 'tick').map((frame) => frame.data as number);
      const end = client.frames.find((frame) => frame.event === 'end')!.data as number;
      const start = ticks[0];
      assert.deepEqual(
        ticks,
        Array.from({ length: end - start }, (_, k) => start + k),
        `client ${i}: every tick of its room exactly once, in order`,
      );
    }
    await Promise.all(clients.map((client) => client.close()));
    await emitter.close();
    await closeCluster(live);
  });
});

describe('a killed server', () => {
  let redis: RedisProcess;

  before(async () => {
    redis = await RedisProcess.start();
  });
  after(() => redis.dispose());

  it("loses its sessions: their clients get recovered: false, 'unknown session' on another server", async () => {
    const doomed = await ServerProcess.start({ BROKER: 'redis', BROKER_URL: redis.url, RECOVERY: '1' });
    const survivor = await startApp(recoveryModule(RECOVERY, redisBroker(redis)));
    try {
      await doomed.until((fact) => fact.peerUp === survivor.cluster().id);
      const first = await RecoveringClient.connect(doomed.wsUrl('/recovery'));
      await first.until('welcome');
      await doomed.kill('SIGKILL');
      const second = await first.reconnect(survivor.url('/recovery'));
      assert.deepEqual([second.session.recovered, second.session.reason], [false, 'unknown session']);
      assert.notEqual(second.session.id, first.session.id);
      await second.close();
    } finally {
      await doomed.kill();
      await survivor.close();
    }
  });
});

describe('app.close() hands sessions over', () => {
  let redis: RedisProcess;

  before(async () => {
    redis = await RedisProcess.start();
  });
  after(() => redis.dispose());

  it('gives a live peer the sessions of the sockets it closes and of those already waiting, complete once it resolves', async () => {
    const [a, b] = await startCluster(2, () => recoveryModule(RECOVERY, redisBroker(redis)));
    await untilMeshed([a, b]);
    try {
      const open = await RecoveringClient.connect(a.url('/recovery'));
      const dropped = await RecoveringClient.connect(a.url('/recovery'));
      for (const client of [open, dropped]) {
        await client.until('welcome');
        await client.client.request('join', { room: 'handed' });
      }
      b.rooms.to('handed').emit('before', 1);
      assert.equal((await open.next()).event, 'before');
      assert.equal((await dropped.next()).event, 'before');
      dropped.drop();
      await a.app.get(HookRecorder).wait('handleDisconnect', dropped.session.id);
      b.rooms.to('handed').emit('while waiting', 2);
      assert.equal((await open.next()).event, 'while waiting');
      await a.close();
      // The open client got 1001 and read everything before it; both sessions are on B now.
      assert.equal((await open.client.closed).code, 1001);
      assert.equal(b.recoveryState().waiting, 2);
      assert.equal(b.recoveryState().heldRooms, 1);
      b.rooms.to('handed').emit('after the close', 3);
      const [back, backToo] = [await open.reconnect(b.url('/recovery')), await dropped.reconnect(b.url('/recovery'))];
      assert.deepEqual([back.session.recovered, backToo.session.recovered], [true, true]);
      // It had read 'while waiting' before the 1001: only what came after moves with it.
      assert.deepEqual(
        (await back.until('welcome')).before.map((frame) => frame.event),
        ['after the close'],
      );
      assert.deepEqual(
        (await backToo.until('welcome')).before.map((frame) => frame.event),
        ['while waiting', 'after the close'],
      );
      assert.deepEqual([b.recoveryState().waiting, b.recoveryState().heldRooms, b.recoveryState().carried], [0, 0, 0]);
      await Promise.all([back.close(), backToo.close()]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps a handed-over session no longer than its maxDisconnection, counted from the drop', async () => {
    const [a, b] = await startCluster(2, () => recoveryModule({ maxDisconnection: 1500 }, redisBroker(redis)));
    await untilMeshed([a, b]);
    try {
      const client = await RecoveringClient.connect(a.url('/recovery'));
      await client.until('welcome');
      client.drop();
      await a.app.get(HookRecorder).wait('handleDisconnect', client.session.id);
      const dropped = Date.now();
      // Most of its time passes on A; B gets only what is left of it, not a new maxDisconnection.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await a.close();
      assert.equal(b.recoveryState().waiting, 1);
      await eventually(async () => b.recoveryState().waiting, 0, 3000);
      const waited = Date.now() - dropped;
      assert.ok(waited >= 1400 && waited < 2200, `waited ${waited} ms in all, 1500 expected`);
      const late = await client.reconnect(b.url('/recovery'));
      assert.deepEqual([late.session.recovered, late.session.reason], [false, 'unknown session']);
      await late.close();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
