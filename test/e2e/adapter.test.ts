import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { RoomSocket } from '../../lib/index.js';
import { freePort } from '../support/app.js';
import { AdapterModule, ownPortModule, startAdapterApp, type AdapterTestApp } from '../support/adapter.fixture.js';
import { closeAll, TestClient, type Frame } from '../support/client.js';
import { within } from '../support/timing.js';

const SOCKET_ID = /^[A-Za-z0-9_-]{22}$/;

/** Resolves once something can listen on `port` again (rejects with EADDRINUSE otherwise). */
async function assertPortFree(port: number): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(port, resolve);
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

/** An `app.close()` that runs once, so that a failing test's cleanup does not close twice. */
function closer(app: AdapterTestApp): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= app.close());
}

function assertException(frame: Frame): void {
  assert.equal(frame.event, 'exception');
  assert.equal(frame.data.status, 'error');
  assert.equal(typeof frame.data.message, 'string');
}

describe('RoomsAdapter', () => {
  let app: AdapterTestApp;
  let closeApp: () => Promise<void>;
  before(async () => {
    app = await startAdapterApp(AdapterModule);
    closeApp = closer(app);
  });
  after(() => closeApp());

  it('serves two gateways on two paths of the app server, each with its own handlers, with app-wide rooms', async (t) => {
    const a = await TestClient.connect(app.url('/a'));
    const b = await TestClient.connect(app.url('/b'));
    t.after(() => closeAll([a, b]));

    assert.deepEqual(await a.request('only-a', 1), { event: 'from-a', data: 1 });
    assert.deepEqual(await b.request('only-b', 2), { event: 'from-b', data: 2 });
    // Each path knows only its own gateway's events.
    assertException(await a.request('only-b', 3));
    assertException(await b.request('only-a', 4));
    // Each path ran only its own gateway's handleConnection.
    assert.equal(app.recorder.of('connect:A', a.id).length, 1);
    assert.equal(app.recorder.of('connect:B', a.id).length, 0);
    assert.equal(app.recorder.of('connect:B', b.id).length, 1);
    assert.equal(app.recorder.of('connect:A', b.id).length, 0);

    // One registry for both paths.
    assert.deepEqual(await a.request('join', { room: 'paths:lobby' }), { event: 'joined', data: 'paths:lobby' });
    assert.deepEqual(await b.request('join', { room: 'paths:lobby' }), { event: 'joined', data: 'paths:lobby' });
    assert.equal(await app.rooms.in('paths:lobby').count(), 2);
    app.rooms.to('paths:lobby').emit('news', { n: 1 });
    assert.deepEqual(await a.next(), { event: 'news', data: { n: 1 } });
    assert.deepEqual(await b.next(), { event: 'news', data: { n: 1 } });
  });

  it('serves the handlers of two gateways on the same path and runs both handleConnection', async (t) => {
    const client = await TestClient.connect(app.url('/shared'), { welcome: false });
    t.after(() => client.close());
    const greetings = [await client.next(), await client.next()].sort((x, y) => x.event!.localeCompare(y.event!));
    assert.deepEqual(
      greetings.map((frame) => frame.event),
      ['hello-two', 'welcome'],
    );
    const id = greetings[0].data.id as string;
    assert.match(id, SOCKET_ID);
    assert.equal(greetings[1].data.id, id);
    assert.equal(app.recorder.of('connect:One', id).length, 1);
    assert.equal(app.recorder.of('connect:Two', id).length, 1);

    assert.deepEqual(await client.request('one', 'x'), { event: 'from-one', data: 'x' });
    assert.deepEqual(await client.request('two', 'y'), { event: 'from-two', data: 'y' });
    assertException(await client.request('only-a', 'z'));

    await client.close();
    const [one, two] = await Promise.all([
      app.recorder.wait('disconnect:One', id),
      app.recorder.wait('disconnect:Two', id),
    ]);
    assert.equal(one.reason, 'transport close');
    assert.equal(two.reason, 'transport close');
    assert.equal(app.recorder.of('disconnect:One', id).length, 1);
    assert.equal(app.recorder.of('disconnect:Two', id).length, 1);
  });

  it('runs a gateway on its own port that shares rooms with the app server, and frees that port on close', async (t) => {
    const port = await freePort();
    const own = await startAdapterApp(ownPortModule(port));
    const closeOwn = closer(own);
    t.after(() => closeOwn());
    assert.notEqual(own.port, port);

    const onOwn = await TestClient.connect(`ws://127.0.0.1:${port}/own`);
    const onApp = await TestClient.connect(own.url('/a'));
    t.after(() => closeAll([onOwn, onApp]));

    assert.deepEqual(await onOwn.request('only-own', 1), { event: 'from-own', data: 1 });
    assertException(await onApp.request('only-own', 2));
    assertException(await onOwn.request('only-a', 3));

    await onOwn.request('join', { room: 'mixed' });
    await onApp.request('join', { room: 'mixed' });
    assert.equal(await own.rooms.in('mixed').count(), 2);
    own.rooms.to('mixed').emit('both', 'hi');
    assert.deepEqual(await onOwn.next(), { event: 'both', data: 'hi' });
    assert.deepEqual(await onApp.next(), { event: 'both', data: 'hi' });

    await closeOwn();
    assert.equal((await within(onOwn.closed, 3000, 'close of the own-port client')).code, 1001);
    assert.equal((await within(onApp.closed, 3000, 'close of the app-server client')).code, 1001);
    await assertPortFree(port);
  });

  it('answers an upgrade on an unknown path with 404 and keeps serving the others', async (t) => {
    const a = await TestClient.connect(app.url('/a'));
    t.after(() => a.close());

    const stray = new WebSocket(app.url('/nope'));
    const [request, response] = (await once(stray, 'unexpected-response')) as [ClientRequest, IncomingMessage];
    assert.equal(response.statusCode, 404);
    request.destroy();

    // The existing connection and new ones are unaffected.
    assert.deepEqual(await a.request('only-a', 'still'), { event: 'from-a', data: 'still' });
    const fresh = await TestClient.connect(app.url('/b'));
    t.after(() => fresh.close());
    assert.deepEqual(await fresh.request('only-b', 'new'), { event: 'from-b', data: 'new' });
    const ids = new Set((await app.rooms.fetchSockets()).map((socket) => socket.id));
    assert.ok(ids.has(a.id) && ids.has(fresh.id));
  });

  it('keeps answering clients across heartbeats and drops a silent one with ping timeout', async (t) => {
    const hb = await startAdapterApp(AdapterModule, { heartbeatInterval: 100 });
    const closeHb = closer(hb);
    t.after(() => closeHb());

    const live = await TestClient.connect(hb.url('/a'));
    let pings = 0;
    const threePings = new Promise<void>((resolve) =>
      live.ws.on('ping', () => {
        if (++pings === 3) resolve();
      }),
    );
    const mute = await TestClient.connect(hb.url('/a'), { autoPong: false });
    t.after(() => closeAll([live, mute]));
    await mute.request('join', { room: 'hb:room' });

    const [closed, seen, hook] = await Promise.all([
      within(mute.closed, 3000, 'close of the silent client'),
      hb.recorder.wait('disconnect:A', mute.id),
      hb.recorder.wait('disconnect', mute.id),
    ]);
    assert.equal(seen.reason, 'ping timeout');
    assert.equal(hook.reason, 'ping timeout');
    assert.deepEqual(hook.rooms, ['hb:room', mute.id].sort());
    assert.notEqual(closed.code, 1000);

    // The answering client saw at least three pings (it outlived the silent one) and is still served.
    await Promise.race([
      threePings,
      live.closed.then(({ code }) => assert.fail(`the answering client was closed (${code}) after ${pings} pings`)),
    ]);
    assert.ok(pings >= 3);
    assert.equal(live.ws.readyState, WebSocket.OPEN);
    assert.deepEqual(await live.request('only-a', 'alive'), { event: 'from-a', data: 'alive' });
    assert.equal(hb.recorder.of('disconnect:A', live.id).length, 0);
  });

  it('closeClient closes with 1013 and discards the socket from every room without any hook', async (t) => {
    const client = await TestClient.connect(app.url('/a'));
    t.after(() => client.close());
    await client.request('join', { room: ['cc:1', 'cc:2'] });
    const socket = app.findSocket(client.id)!;
    assert.ok(socket instanceof RoomSocket);
    assert.deepEqual([...socket.rooms].sort(), [client.id, 'cc:1', 'cc:2'].sort());
    assert.equal(await app.rooms.in('cc:1').count(), 1);

    const serverSideClose = once(socket, 'close');
    app.adapter.closeClient(socket);
    assert.equal((await within(client.closed, 3000, 'close after closeClient')).code, 1013);
    await within(serverSideClose, 3000, 'server-side close');

    assert.equal(socket.rooms.size, 0);
    assert.equal(await app.rooms.in('cc:1').count(), 0);
    assert.equal(await app.rooms.in(client.id).count(), 0);
    const all = await app.rooms.allRooms();
    assert.ok(!all.has('cc:1') && !all.has('cc:2'));
    assert.ok(!(await app.rooms.fetchSockets()).some((remote) => remote.id === client.id));
    // Discarded, never served: no @OnDisconnecting, @OnDisconnect or handleDisconnect.
    assert.deepEqual(app.recorder.of('disconnecting', client.id), []);
    assert.deepEqual(app.recorder.of('disconnect', client.id), []);
    assert.deepEqual(app.recorder.of('disconnect:A', client.id), []);
  });

  it('app.close() closes every client with 1001 and releases the app port', async () => {
    const doomed = await startAdapterApp(AdapterModule);
    const clients = await Promise.all([
      TestClient.connect(doomed.url('/a')),
      TestClient.connect(doomed.url('/b')),
      TestClient.connect(doomed.url('/shared'), { welcome: false }),
    ]);
    await clients[0].request('join', { room: 'closing' });

    await doomed.close();
    const closed = await within(Promise.all(clients.map((client) => client.closed)), 3000, 'close of the clients');
    assert.deepEqual(
      closed.map((result) => result.code),
      [1001, 1001, 1001],
    );
    const [a, b] = clients;
    assert.equal(doomed.recorder.of('disconnect:A', a.id)[0]?.reason, 'server shutting down');
    assert.equal(doomed.recorder.of('disconnect:B', b.id)[0]?.reason, 'server shutting down');
    assert.equal(doomed.recorder.of('disconnecting', a.id)[0]?.reason, 'server shutting down');
    assert.deepEqual(doomed.recorder.of('disconnecting', a.id)[0]?.rooms, ['closing', a.id].sort());
    assert.deepEqual(doomed.registrySize(), { rooms: 0, sockets: 0 });
    await assertPortFree(doomed.port);
  });

  it('gives handlers a ws WebSocket whose emit is ws own, so an app event named message is safe', async (t) => {
    const client = await TestClient.connect(app.url('/a'));
    t.after(() => client.close());
    const socket = app.findSocket(client.id)!;
    assert.ok(socket instanceof WebSocket);
    assert.ok(socket instanceof RoomSocket);
    assert.equal(socket.emit, WebSocket.prototype.emit);
    assert.equal(Object.hasOwn(RoomSocket.prototype, 'emit'), false);

    assert.deepEqual(await client.request('message', 'hi'), { event: 'message', data: { echo: 'hi', id: client.id } });
    assert.deepEqual(await client.request('message', 'again', 7), {
      event: 'message',
      data: { echo: 'again', id: client.id },
      id: 7,
    });
    app.rooms.to(client.id).emit('message', 'broadcast');
    socket.sendEvent('message', 'direct');
    assert.deepEqual(await client.next(), { event: 'message', data: 'broadcast' });
    assert.deepEqual(await client.next(), { event: 'message', data: 'direct' });
    // ws's own events still flow through emit: other frames are handled, and so is the close.
    assert.deepEqual(await client.request('only-a', 'after'), { event: 'from-a', data: 'after' });
    await client.close();
    const seen = await app.recorder.wait('disconnect:A', client.id);
    assert.equal(seen.reason, 'transport close');
  });

  it('gives 1000 connections distinct 22-character base64url ids', async () => {
    const ids = new Set<string>();
    const batch = 50;
    for (let done = 0; done < 1000; done += batch) {
      const clients = await Promise.all(Array.from({ length: batch }, () => TestClient.connect(app.url('/a'))));
      for (const client of clients) {
        assert.match(client.id, SOCKET_ID);
        assert.equal(app.findSocket(client.id)?.id, client.id);
        ids.add(client.id);
      }
      await closeAll(clients);
    }
    assert.equal(ids.size, 1000);
  });
});
