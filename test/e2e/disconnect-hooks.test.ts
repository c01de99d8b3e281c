import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { startApp, type TestApp } from '../support/app.js';
import { closeAll, TestClient } from '../support/client.js';
import { HooksModule } from '../support/decorators.fixture.js';
import { HookRecorder, type HookCall } from '../support/hook-recorder.js';

const MAIN_PHASES = ['disconnecting', 'disconnect', 'handleDisconnect'] as const;

const sorted = (rooms: readonly string[]) => [...rooms].sort();

/** Waits for the three main phases of one socket and checks each saw `reason` and the same socket. */
async function mainPhases(log: HookRecorder, id: string, reason: string): Promise<Record<string, HookCall>> {
  const entries: Record<string, HookCall> = {};
  for (const phase of MAIN_PHASES) {
    entries[phase] = await log.wait(phase, id);
    assert.equal(entries[phase].reason, reason, `${phase} reason`);
  }
  assert.equal(entries.disconnect.socket, entries.disconnecting.socket);
  assert.equal(entries.handleDisconnect.socket, entries.disconnecting.socket);
  assert.deepEqual(log.sequence(id, MAIN_PHASES), [...MAIN_PHASES]);
  return entries;
}

/** Proves each client got nothing more: the very next frame is a marker sent to it now. */
async function assertNothingMore(app: TestApp, ...clients: TestClient[]): Promise<void> {
  for (const client of clients) app.rooms.to(client.id).emit('marker', client.id);
  for (const client of clients) assert.deepEqual(await client.next(), { event: 'marker', data: client.id });
}

async function connect(app: TestApp, count: number): Promise<TestClient[]> {
  return Promise.all(Array.from({ length: count }, () => TestClient.connect(app.url('/hooks'))));
}

describe('@OnDisconnecting, @OnDisconnect and handleDisconnect', () => {
  let app: TestApp;
  let log: HookRecorder;

  before(async () => {
    app = await startApp(HooksModule);
    log = app.app.get(HookRecorder);
  });
  after(() => app.close());

  it('calls the hooks of a plain provider with (socket, rooms, reason): disconnecting -> disconnect -> handleDisconnect', async () => {
    const [a] = await connect(app, 1);
    assert.deepEqual(await a.request('join', { room: ['h1', 'h2'] }), { event: 'joined', data: ['h1', 'h2'] });
    await a.close();
    const { disconnecting, disconnect, handleDisconnect } = await mainPhases(log, a.id, 'transport close');

    // @OnDisconnecting: three arguments, socket.rooms still intact, own id first.
    assert.equal(disconnecting.arity, 3);
    assert.equal(disconnecting.socket.id, a.id);
    assert.deepEqual(disconnecting.socketRooms, [a.id, 'h1', 'h2']);
    assert.deepEqual(sorted(disconnecting.rooms), sorted([a.id, 'h1', 'h2']));

    // After awaits, and after @OnDisconnect has run, its snapshot is still whole while the socket is in nothing.
    const later = await log.wait('disconnecting-after-await', a.id);
    assert.deepEqual(sorted(later.rooms), sorted([a.id, 'h1', 'h2']));
    assert.deepEqual(later.socketRooms, []);

    // @OnDisconnect: same snapshot, no rooms left.
    assert.equal(disconnect.arity, 3);
    assert.deepEqual(disconnect.socketRooms, []);
    assert.deepEqual(sorted(disconnect.rooms), sorted([a.id, 'h1', 'h2']));

    // The gateway's handleDisconnect(socket, reason), no rooms left.
    assert.equal(handleDisconnect.arity, 2);
    assert.deepEqual(handleDisconnect.socketRooms, []);
    assert.equal(await app.rooms.in(['h1', 'h2']).count(), 0);
  });

  it('the disconnecting hook can still broadcast to the rooms the socket was in', async () => {
    const [a, b, c, d, e] = await connect(app, 5);
    assert.deepEqual(await a.request('flag', { announce: true }), { event: 'flagged', data: { announce: true } });
    await a.request('join', { room: ['p1', 'p2'] });
    await b.request('join', { room: 'p1' });
    await c.request('join', { room: 'p2' });
    await d.request('join', { room: ['p1', 'p2'] });
    await a.close();
    const left = { event: 'left', data: { id: a.id, reason: 'transport close' } };
    // Each member once (d is in both rooms), the non-member nothing.
    for (const client of [b, c, d]) assert.deepEqual(await client.next(), left);
    await assertNothingMore(app, b, c, d, e);
    await closeAll([b, c, d, e]);
  });

  it("reason 'transport close' when the client closes or its connection breaks", async () => {
    const [a, b] = await connect(app, 2);
    await a.close();
    b.ws.terminate();
    await b.closed;
    await mainPhases(log, a.id, 'transport close');
    await mainPhases(log, b.id, 'transport close');
  });

  it("reason 'server disconnect' for socket.disconnect() and disconnectSockets()", async () => {
    const [a, b, c] = await connect(app, 3);
    await c.request('join', { room: 'doomed' });

    a.send({ event: 'kickMe' });
    assert.equal((await a.closed).code, 1000);
    await mainPhases(log, a.id, 'server disconnect');

    await app.rooms.in(b.id).disconnectSockets();
    assert.equal((await b.closed).code, 1000);
    await mainPhases(log, b.id, 'server disconnect');

    await app.rooms.in('doomed').disconnectSockets(true);
    assert.equal((await c.closed).code, 1006);
    const { disconnecting } = await mainPhases(log, c.id, 'server disconnect');
    assert.deepEqual(disconnecting.socketRooms, [c.id, 'doomed']);
  });

  it("reason 'server shutting down' on app.close(), with close code 1001", async () => {
    const other = await startApp(HooksModule);
    const otherLog = other.app.get(HookRecorder);
    const [a, b] = await connect(other, 2);
    await a.request('join', { room: 'sd1' });
    const closing = other.close();
    assert.equal((await a.closed).code, 1001);
    assert.equal((await b.closed).code, 1001);
    await closing;
    const { disconnecting, disconnect } = await mainPhases(otherLog, a.id, 'server shutting down');
    assert.deepEqual(disconnecting.socketRooms, [a.id, 'sd1']);
    assert.deepEqual(disconnect.socketRooms, []);
    await mainPhases(otherLog, b.id, 'server shutting down');
    // The other app's sockets are not this app's.
    assert.equal(
      log.calls.some((entry) => entry.id === a.id),
      false,
    );
  });

  it("reason 'ping timeout' for a peer that does not answer pings", async () => {
    const other = await startApp(HooksModule, { heartbeatInterval: 100 });
    const otherLog = other.app.get(HookRecorder);
    const silent = await TestClient.connect(other.url('/hooks'), { autoPong: false });
    const live = await TestClient.connect(other.url('/hooks'));
    await silent.request('join', { room: 'quiet' });

    assert.equal((await silent.closed).code, 1006);
    const { disconnecting } = await mainPhases(otherLog, silent.id, 'ping timeout');
    assert.deepEqual(disconnecting.socketRooms, [silent.id, 'quiet']);

    // A peer that answers stays: two more pings later it is still served.
    await once(live.ws, 'ping');
    await once(live.ws, 'ping');
    assert.deepEqual(await live.request('echo', 'still here'), { event: 'echo', data: 'still here' });
    assert.equal(
      otherLog.calls.some((entry) => entry.id === live.id),
      false,
    );
    await other.close();
    assert.equal((await live.closed).code, 1001);
  });

  it('finds and calls @OnDisconnecting on a request-scoped provider', async () => {
    const [a] = await connect(app, 1);
    await a.request('join', { room: 'scoped' });
    await a.close();
    const scoped = await log.wait('scoped-disconnecting', a.id);
    assert.equal(scoped.arity, 3);
    assert.equal(scoped.reason, 'transport close');
    assert.equal(scoped.socket, (await log.wait('disconnecting', a.id)).socket);
    assert.deepEqual(sorted(scoped.rooms), sorted([a.id, 'scoped']));
    // Like every @OnDisconnecting, it runs while the socket is still in its rooms.
    assert.deepEqual(scoped.socketRooms, [a.id, 'scoped']);
  });

  it('a hook that throws or rejects does not stop the other hooks or the server', async () => {
    // A rejection nobody handles would take a real server process down (Node's default): watch for one.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const [a] = await connect(app, 1);
      await a.request('flag', { faulty: true });
      await a.request('join', { room: 'faulty' });
      await a.close();
      // The failing hooks ran (registered both before and after the others)...
      for (const tag of ['early', 'late']) {
        for (const phase of ['faulty-disconnecting', 'faulty-disconnecting-async', 'faulty-disconnect']) {
          const entry = await log.wait(`${tag}-${phase}`, a.id);
          assert.equal(entry.reason, 'transport close');
        }
      }
      // ...and so did all the others, in order.
      const { disconnecting } = await mainPhases(log, a.id, 'transport close');
      assert.deepEqual(disconnecting.socketRooms, [a.id, 'faulty']);
      await log.wait('disconnecting-after-await', a.id);
      await log.wait('scoped-disconnecting', a.id);
      assert.equal(await app.rooms.in('faulty').count(), 0);

      // The server carries on: a new client connects, is served, and disconnects normally.
      const [b] = await connect(app, 1);
      assert.deepEqual(await b.request('echo', 42), { event: 'echo', data: 42 });
      await b.close();
      await mainPhases(log, b.id, 'transport close');
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('join after disconnect resolves and does nothing', async () => {
    const [a] = await connect(app, 1);
    await a.request('join', { room: 'before-gone' });
    await a.close();
    const { handleDisconnect } = await mainPhases(log, a.id, 'transport close');
    const socket = handleDisconnect.socket;

    await socket.join('after-gone');
    await socket.join(['after-gone-1', 'after-gone-2']);
    await socket.leave('before-gone');
    assert.equal(socket.rooms.size, 0);
    assert.equal(await app.rooms.in(['after-gone', 'after-gone-1', a.id]).count(), 0);
    const all = await app.rooms.allRooms();
    for (const room of ['after-gone', 'after-gone-1', 'after-gone-2', 'before-gone']) {
      assert.equal(all.has(room), false, room);
    }
  });
});
