import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, type TestApp } from '../support/app.js';
import { TestClient } from '../support/client.js';
import { HookRecorder } from '../support/hook-recorder.js';
import { RecoveringClient, recoveryModule, type RecoveryFrame } from '../support/recovery.fixture.js';
import { steadyBroadcast } from '../support/recovery-scenario.js';
import { eventually } from '../support/timing.js';

/** The `tick` numbers among frames. */
function ticks(frames: RecoveryFrame[]): number[] {
  return frames.filter((frame) => frame.event === 'tick').map((frame) => frame.data as number);
}

describe('connection recovery on one server', () => {
  let app: TestApp;
  let recorder: HookRecorder;
  let url: string;

  before(async () => {
    app = await startApp(recoveryModule({ maxDisconnection: 5000 }));
    recorder = app.app.get(HookRecorder);
    url = app.url('/recovery');
  });
  after(() => app.close());

  it('gives every connection a session frame first, with a fresh token, and offsets on recoverable frames only', async () => {
    const one = await RecoveringClient.connect(url);
    const two = await RecoveringClient.connect(url);
    assert.equal(one.session.recovered, false);
    assert.equal(one.session.reason, undefined);
    assert.match(one.session.token, /^[A-Za-z0-9_-]{24}$/);
    assert.notEqual(one.session.token, two.session.token);
    assert.ok(!one.session.token.includes(one.session.id));
    const { frame: welcome } = await one.until('welcome');
    assert.equal(welcome.offset, undefined);
    assert.deepEqual(welcome.data.id, one.session.id);
    app.rooms.to(one.session.id).emit('direct', 1);
    const direct = await one.next();
    assert.equal(direct.event, 'direct');
    assert.match(direct.offset!, /^\d+$/);
    app.rooms.volatile.to(one.session.id).emit('volatile', 2);
    app.rooms.to(one.session.id).emit('after', 3);
    const [volatile, later] = [await one.next(), await one.next()];
    assert.equal(volatile.offset, undefined);
    assert.ok(Number(later.offset) > Number(direct.offset));
    // A reply carries none.
    const reply = await one.client.request('join', { room: 'offsets' });
    assert.deepEqual(reply, { event: 'joined', data: 'offsets' });
    await Promise.all([one.close(), two.close()]);
  });

  it('brings a dropped socket back with its id, rooms and data and every frame exactly once, in order, while broadcasts flow', async () => {
    const first = await RecoveringClient.connect(url);
    const id = first.session.id;
    await first.until('welcome');
    await first.client.request('join', { room: 'flow' });
    await first.client.request('remember', { name: 'ada' });
    const broadcast = steadyBroadcast(app, 'flow');
    const received: RecoveryFrame[] = [];
    while (received.length < 20) received.push(await first.next());
    first.drop();
    await recorder.wait('handleDisconnect', id);
    // More frames go out while the session waits.
    const sentWhileAway = broadcast.sent;
    await eventually(async () => broadcast.sent > sentWhileAway + 20, true);
    const second = await first.reconnect(url);
    assert.deepEqual(second.session.recovered, true);
    assert.equal(second.session.id, id);
    assert.notEqual(second.session.token, first.session.token);
    const { frame: welcome, before: replayed } = await second.until('welcome');
    assert.deepEqual(welcome.data, { id, recovered: true, rooms: [id, 'flow'], data: { name: 'ada' } });
    received.push(...replayed);
    // Live frames follow, with no gap at the seam.
    const live: RecoveryFrame[] = [];
    const target = broadcast.sent + 20;
    while (live.length === 0 || (live.at(-1)!.data as number) < target) live.push(await second.next());
    broadcast.stop();
    received.push(...live);
    const numbers = ticks(received);
    assert.deepEqual(
      numbers,
      numbers.map((_, index) => numbers[0] + index),
      'every tick exactly once, in order',
    );
    assert.equal(numbers[0], 0);
    assert.deepEqual([...app.socket(id).rooms], [id, 'flow']);
    assert.deepEqual(app.socket(id).data, { name: 'ada' });
    assert.deepEqual(recorder.sequence(id, ['handleConnection', 'disconnecting', 'disconnect', 'handleDisconnect']), [
      'handleConnection',
      'disconnecting',
      'disconnect',
      'handleDisconnect',
      'handleConnection',
    ]);
    const reconnected = recorder.of('handleConnection', id)[1];
    assert.deepEqual(reconnected.socketRooms, [id, 'flow']);
    assert.equal(recorder.of('disconnecting', id)[0].reason, 'transport close');
    await second.close();
  });

  it('counts frames to the waiting socket id and sendEvent as missed, and the waiting session is in no room', async () => {
    const first = await RecoveringClient.connect(url);
    const id = first.session.id;
    await first.until('welcome');
    await first.client.request('join', { room: 'quiet' });
    first.drop();
    await recorder.wait('handleDisconnect', id);
    assert.equal(await app.rooms.to('quiet').count(), 0);
    assert.equal(
      (await app.rooms.fetchSockets()).some((socket) => socket.id === id),
      false,
    );
    app.rooms.to(id).emit('to id', 1);
    app.rooms.emit('to all', 2);
    app.rooms.to('quiet').emit('to room', 3);
    app.rooms.except('quiet').emit('not to it', 4);
    const second = await first.reconnect(url);
    assert.equal(second.session.recovered, true);
    const events = [await second.next(), await second.next(), await second.next()].map((frame) => frame.event);
    assert.deepEqual(events, ['to id', 'to all', 'to room']);
    assert.equal((await second.next()).event, 'welcome');
    app.socket(id).sendEvent('direct', 5);
    const direct = await second.next();
    assert.equal(direct.event, 'direct');
    second.lastOffset = direct.offset;
    second.drop();
    await recorder.gone(id).then(() => eventually(async () => app.recoveryState().waiting > 0, true));
    const third = await second.reconnect(url);
    assert.equal(third.session.recovered, true);
    assert.equal((await third.next()).event, 'welcome', 'nothing missed after the last offset');
    await third.close();
  });

  it('recovers a token once: a used token, and the loser of two racing reconnects, get a fresh socket', async () => {
    const first = await RecoveringClient.connect(url);
    const id = first.session.id;
    await first.until('welcome');
    first.drop();
    await recorder.wait('handleDisconnect', id);
    const racing = await Promise.all([first.reconnect(url), first.reconnect(url)]);
    const recovered = racing.filter((client) => client.session.recovered);
    const fresh = racing.filter((client) => !client.session.recovered);
    assert.equal(recovered.length, 1);
    assert.equal(fresh.length, 1);
    assert.equal(fresh[0].session.reason, 'unknown session');
    assert.notEqual(fresh[0].session.id, id);
    const again = await first.reconnect(url);
    assert.deepEqual([again.session.recovered, again.session.reason], [false, 'unknown session']);
    assert.ok(app.findSocket(id), 'the recovered socket is untouched');
    await Promise.all([...racing, again].map((client) => client.close()));
  });

  it('answers garbage tokens and offsets with a fresh socket, and a bad offset leaves the session waiting', async () => {
    const first = await RecoveringClient.connect(url);
    const id = first.session.id;
    await first.until('welcome');
    app.rooms.to(id).emit('one', 1);
    await first.next();
    first.drop();
    await recorder.wait('handleDisconnect', id);
    const { token } = first.session;
    const attempts = [
      { token: 'garbage' },
      { token: 'x'.repeat(4000) },
      { token: 'A'.repeat(24) },
      { token: '' },
      { token, offset: 'abc' },
      { token, offset: '-1' },
      { token, offset: '1e3' },
      { token, offset: '999999999999' },
      { token, offset: '9'.repeat(40) },
    ];
    for (const attempt of attempts) {
      const client = await RecoveringClient.connect(url, attempt);
      assert.deepEqual(
        [client.session.recovered, client.session.reason],
        [false, 'unknown session'],
        JSON.stringify(attempt).slice(0, 80),
      );
      assert.notEqual(client.session.id, id);
      await client.close();
    }
    const recovered = await first.reconnect(url);
    assert.equal(recovered.session.recovered, true);
    assert.equal(recovered.session.id, id);
    await recovered.close();
  });

  it('takes over from a connection the server has not yet seen drop: the old one is dropped and its session recovered', async () => {
    const first = await RecoveringClient.connect(url);
    const id = first.session.id;
    await first.until('welcome');
    await first.client.request('join', { room: 'fast' });
    app.rooms.to('fast').emit('seen', 1);
    await first.next();
    // The old connection stays open: its client simply reconnects on a new one.
    const second = await first.reconnect(url);
    assert.equal(second.session.recovered, true);
    assert.equal(second.session.id, id);
    assert.equal((await first.client.closed).code, 1006);
    assert.equal(recorder.of('disconnecting', id)[0].reason, 'transport close');
    const { frame: welcome } = await second.until('welcome');
    assert.deepEqual(welcome.data.rooms, [id, 'fast']);
    app.rooms.to('fast').emit('live', 2);
    assert.deepEqual((await second.next()).data, 2);
    await second.close();
  });

  it('ends the session of a socket the server disconnects', async () => {
    const first = await RecoveringClient.connect(url);
    const id = first.session.id;
    await first.until('welcome');
    app.socket(id).disconnect();
    await first.client.closed;
    await recorder.wait('handleDisconnect', id);
    const second = await first.reconnect(url);
    assert.deepEqual([second.session.recovered, second.session.reason], [false, 'unknown session']);
    await second.close();
  });
});

describe('connection recovery limits', () => {
  it('lets a session go after maxDisconnection', async () => {
    const app = await startApp(recoveryModule({ maxDisconnection: 150 }));
    const url = app.url('/recovery');
    const first = await RecoveringClient.connect(url);
    await first.until('welcome');
    first.drop();
    await app.app.get(HookRecorder).wait('handleDisconnect', first.session.id);
    assert.equal(app.recoveryState().waiting, 1);
    assert.equal(await eventually(async () => app.recoveryState().waiting, 0), 0);
    const second = await first.reconnect(url);
    assert.deepEqual([second.session.recovered, second.session.reason], [false, 'unknown session']);
    await second.close();
    await app.close();
  });

  it('drops the oldest frames past maxBufferedBytes, and a session that needed them is too far behind', async () => {
    const app = await startApp(recoveryModule({ maxBufferedBytes: 8192 }));
    const url = app.url('/recovery');
    const first = await RecoveringClient.connect(url);
    const id = first.session.id;
    await first.until('welcome');
    await first.client.request('join', { room: 'big' });
    first.drop();
    await app.app.get(HookRecorder).wait('handleDisconnect', id);
    for (let i = 0; i < 100; i++) app.rooms.to('big').emit('bulk', 'x'.repeat(200));
    assert.ok(app.recoveryState().bytes <= 8192);
    const second = await first.reconnect(url);
    assert.deepEqual([second.session.recovered, second.session.reason], [false, 'too far behind']);
    assert.notEqual(second.session.id, id);
    const { frame: welcome } = await second.until('welcome');
    assert.deepEqual(welcome.data.rooms, [second.session.id]);
    assert.equal(app.recoveryState().heldRooms, 0);
    await second.close();
    await app.close();
  });

  it('runs authenticate on a recovering upgrade: a refusal leaves the session waiting, an object is assigned over the data', async () => {
    const app = await startApp(recoveryModule({}), {
      authenticate: (request) =>
        request.headers['x-deny'] === undefined && { role: String(request.headers['x-role'] ?? 'guest') },
    });
    const url = app.url('/recovery');
    const first = await RecoveringClient.connect(url);
    const id = first.session.id;
    await first.until('welcome');
    await first.client.request('remember', { name: 'ada' });
    first.drop();
    await app.app.get(HookRecorder).wait('handleDisconnect', id);
    const resume = { token: first.session.token, offset: first.lastOffset };
    await assert.rejects(RecoveringClient.connect(url, resume, { 'x-deny': '1' }), /401/);
    assert.equal(app.recoveryState().waiting, 1);
    const second = await RecoveringClient.connect(url, resume, { 'x-role': 'admin' });
    assert.equal(second.session.recovered, true);
    const { frame: welcome } = await second.until('welcome');
    assert.deepEqual(welcome.data.data, { role: 'admin', name: 'ada' });
    await second.close();
    await app.close();
  });

  it('changes nothing with recovery off: no session frame, no offset', async () => {
    const app = await startApp(recoveryModule(undefined));
    const client = await TestClient.connect(app.url('/recovery'), { welcome: false });
    const welcome = (await client.next()) as RecoveryFrame;
    assert.equal(welcome.event, 'welcome');
    app.rooms.emit('plain', 1);
    assert.deepEqual(await client.next(), { event: 'plain', data: 1 });
    await client.close();
    await app.close();
  });
});
