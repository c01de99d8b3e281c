import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { RoomsError, type RoomsAdapterOptions, type RoomsModuleOptions } from '../../lib/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { closeAll, TestClient, type Frame } from '../support/client.js';
import { ServerEventProbe, ServiceGateway, serviceModule } from '../support/service.fixture.js';

/** One app on `/svc` with helpers bound to it. */
class Harness {
  /** Every client a test opened, so that a failed test cannot leave sockets behind for the next. */
  private readonly opened = new Set<TestClient>();

  private constructor(
    readonly app: TestApp,
    private readonly gateway: ServiceGateway,
  ) {}

  static async start(options?: RoomsModuleOptions, adapterOptions?: RoomsAdapterOptions): Promise<Harness> {
    const app = await startApp(serviceModule(options), adapterOptions);
    return new Harness(app, app.app.get(ServiceGateway));
  }

  get rooms() {
    return this.app.rooms;
  }

  async connect(
    n: number,
    options: Parameters<typeof TestClient.connect>[1] = {},
    path = '/svc',
  ): Promise<TestClient[]> {
    const clients = await Promise.all(Array.from({ length: n }, () => TestClient.connect(this.app.url(path), options)));
    for (const client of clients) this.opened.add(client);
    return clients;
  }

  /** Joins through the gateway's `@JoinRoom` handler. */
  async join(client: TestClient, room: string | string[]): Promise<void> {
    assert.deepEqual(await client.request('join', { room }), { event: 'joined', data: room });
  }

  /** The rooms of a client's socket, as its handler sees them. */
  async roomsOf(client: TestClient): Promise<string[]> {
    const reply = await client.request('rooms');
    assert.equal(reply.event, 'rooms');
    return reply.data as string[];
  }

  /**
   * Asserts that `client` receives exactly `frames` and nothing else: a marker sent to it
   * afterwards must be the very next frame.
   */
  async expectFrames(client: TestClient, frames: Frame[]): Promise<void> {
    this.rooms.to(client.id).emit('marker');
    const got: Frame[] = [];
    for (let i = 0; i <= frames.length; i++) got.push(await client.next());
    assert.deepEqual(got, [...frames, { event: 'marker' }], `frames of ${client.id}`);
  }

  /** Closes the clients and waits until the server has let them go, so no test sees another's sockets. */
  async finish(clients: TestClient[]): Promise<void> {
    await closeAll(clients);
    await Promise.all(clients.map((client) => this.gateway.disconnected(client.id)));
    for (const client of clients) this.opened.delete(client);
  }

  /** Closes what a test left open (only a failed test does). */
  cleanUp(): Promise<void> {
    return this.finish([...this.opened]);
  }

  async close(): Promise<void> {
    await this.cleanUp();
    await this.app.close();
  }
}

/** Reads the next frame, checks it is an ack request for `event`, and answers it with `answer`. */
async function answerAck(client: TestClient, event: string, answer: unknown): Promise<Frame> {
  const frame = await client.next();
  assert.equal(frame.event, event);
  assert.ok(Number.isInteger(frame.ack), `ack id in ${JSON.stringify(frame)}`);
  client.send({ ack: frame.ack, data: answer });
  return frame;
}

function isRoomsError(pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof RoomsError, `expected a RoomsError, got ${String(error)}`);
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

describe('RoomService', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start();
  });
  afterEach(() => h.cleanUp());
  after(() => h.close());

  describe('targeting', () => {
    it('to/in make a union that reaches each socket once', async () => {
      const [a, b, c, d] = await h.connect(4);
      await h.join(a, ['u1', 'u2']);
      await h.join(b, 'u2');
      await h.join(c, 'u3');
      assert.equal(h.rooms.to('u1').in('u2').to(['u3', 'u1']).emit('union', 1), true);
      for (const client of [a, b, c]) await h.expectFrames(client, [{ event: 'union', data: 1 }]);
      await h.expectFrames(d, []);
      await h.finish([a, b, c, d]);
    });

    it('except(room) subtracts the members of that room', async () => {
      const [a, b, c] = await h.connect(3);
      await h.join(a, ['ex', 'ex-out']);
      await h.join(b, 'ex');
      await h.join(c, 'ex-out');
      h.rooms.to('ex').except('ex-out').emit('ex', 'to ex minus ex-out');
      await h.expectFrames(a, []);
      await h.expectFrames(b, [{ event: 'ex', data: 'to ex minus ex-out' }]);
      await h.expectFrames(c, []);
      await h.finish([a, b, c]);
    });

    it('except(socketId) excludes that one socket', async () => {
      const [a, b, c] = await h.connect(3);
      for (const client of [a, b, c]) await h.join(client, 'ex-id');
      h.rooms.to('ex-id').except(b.id).emit('ex-id');
      await h.expectFrames(a, [{ event: 'ex-id' }]);
      await h.expectFrames(b, []);
      await h.expectFrames(c, [{ event: 'ex-id' }]);
      await h.finish([a, b, c]);
    });

    it('with no target rooms emits to every socket', async () => {
      const [a, b, c] = await h.connect(3);
      await h.join(a, 'somewhere');
      assert.equal(h.rooms.emit('everyone', { all: true }), true);
      for (const client of [a, b, c]) await h.expectFrames(client, [{ event: 'everyone', data: { all: true } }]);
      // except alone also starts from every socket
      h.rooms.except('somewhere').emit('not somewhere');
      await h.expectFrames(a, []);
      await h.expectFrames(b, [{ event: 'not somewhere' }]);
      await h.expectFrames(c, [{ event: 'not somewhere' }]);
      await h.finish([a, b, c]);
    });

    it('combines to(a).except(b) in any order and with arrays', async () => {
      const [a, b, c, d] = await h.connect(4);
      await h.join(a, 'A');
      await h.join(b, ['A', 'B']);
      await h.join(c, 'B');
      await h.join(d, ['A', 'C']);
      h.rooms.to('A').except('B').emit('one');
      h.rooms.except('B').to('A').emit('two');
      h.rooms.to(['A', 'B']).except(['C', a.id]).emit('three');
      h.rooms.to('B').except('A').except('C').emit('four');
      await h.expectFrames(a, [{ event: 'one' }, { event: 'two' }]);
      await h.expectFrames(b, [{ event: 'three' }]);
      await h.expectFrames(c, [{ event: 'three' }, { event: 'four' }]);
      await h.expectFrames(d, [{ event: 'one' }, { event: 'two' }]);
      await h.finish([a, b, c, d]);
    });

    it('keeps operators immutable: modifiers leave a kept base operator unchanged', async () => {
      const [a, b, c] = await h.connect(3);
      await h.join(a, 'base');
      await h.join(b, ['base', 'minus']);
      await h.join(c, 'plus');
      const base = h.rooms.to('base');
      const narrowed = base.except('minus');
      const widened = base.to('plus');
      const flagged = base.local.volatile.compress(false).timeout(1000);
      for (const derived of [narrowed, widened, flagged]) assert.notEqual(derived, base);
      base.emit('base');
      narrowed.emit('narrowed');
      widened.emit('widened');
      base.emit('base again');
      await h.expectFrames(a, [
        { event: 'base' },
        { event: 'narrowed' },
        { event: 'widened' },
        { event: 'base again' },
      ]);
      await h.expectFrames(b, [{ event: 'base' }, { event: 'widened' }, { event: 'base again' }]);
      await h.expectFrames(c, [{ event: 'widened' }]);
      await h.finish([a, b, c]);
    });
  });

  describe('flags', () => {
    it('local emits like emit on a single server', async () => {
      const [a, b] = await h.connect(2);
      await h.join(a, 'loc');
      assert.equal(h.rooms.local.to('loc').emit('local', 'here'), true);
      assert.equal(h.rooms.to('loc').local.emit('local', 'again'), true);
      await h.expectFrames(a, [
        { event: 'local', data: 'here' },
        { event: 'local', data: 'again' },
      ]);
      await h.expectFrames(b, []);
      await h.finish([a, b]);
    });

    it('volatile delivers to a socket that can take it', async () => {
      const [a, b] = await h.connect(2);
      await h.join(a, 'vol');
      assert.equal(h.rooms.volatile.to('vol').emit('volatile', 1), true);
      assert.equal(h.rooms.to(a.id).volatile.emit('volatile', 2), true);
      await h.expectFrames(a, [
        { event: 'volatile', data: 1 },
        { event: 'volatile', data: 2 },
      ]);
      await h.expectFrames(b, []);
      await h.finish([a, b]);
    });
  });

  describe('emitWithAck', () => {
    it('resolves with every answer', async () => {
      const [a, b, c] = await h.connect(3);
      await h.join(a, 'ack');
      await h.join(b, 'ack');
      const pending = h.rooms.to('ack').emitWithAck('question', { q: 1 });
      const fa = await answerAck(a, 'question', { from: 'a' });
      const fb = await answerAck(b, 'question', { from: 'b' });
      assert.deepEqual(fa.data, { q: 1 });
      assert.deepEqual(fb.data, { q: 1 });
      const answers = (await pending) as Array<{ from: string }>;
      assert.deepEqual(answers.map((answer) => answer.from).sort(), ['a', 'b']);
      await h.expectFrames(c, []);
      await h.finish([a, b, c]);
    });

    it('resolves with [] at once when nobody is targeted', async () => {
      const [a] = await h.connect(1);
      const started = performance.now();
      // The default wait is 5 s: resolving right away shows it did not wait for anybody.
      assert.deepEqual(await h.rooms.to('nobody-is-here').emitWithAck('question'), []);
      assert.deepEqual(await h.rooms.to(a.id).except(a.id).emitWithAck('question'), []);
      assert.ok(performance.now() - started < 1000, 'resolved without waiting');
      await h.expectFrames(a, []);
      await h.finish([a]);
    });

    it('rejects on timeout with a RoomsError holding the partial answers', async () => {
      const [a, b] = await h.connect(2);
      await h.join(a, 'ack-to');
      await h.join(b, 'ack-to');
      const pending = h.rooms.to('ack-to').timeout(300).emitWithAck('question', 'anyone?');
      await answerAck(a, 'question', 'a answers');
      const unanswered = await b.next();
      assert.equal(unanswered.event, 'question');
      await assert.rejects(pending, (error: unknown) => {
        assert.ok(error instanceof RoomsError, `expected a RoomsError, got ${String(error)}`);
        assert.deepEqual(error.responses, ['a answers']);
        return true;
      });
      await h.finish([a, b]);
    });

    it('does not wait for a socket that disconnects before answering', async () => {
      const [a, b] = await h.connect(2);
      await h.join(a, 'ack-dc');
      await h.join(b, 'ack-dc');
      // The default timeout (5 s) would reject: resolving shows b's disconnect was taken into account.
      const pending = h.rooms.to('ack-dc').emitWithAck('question');
      await answerAck(a, 'question', 'a answers');
      assert.equal((await b.next()).event, 'question');
      await b.close();
      assert.deepEqual(await pending, ['a answers']);
      await h.finish([a, b]);
    });
  });

  describe('fetchSockets and RemoteSocket', () => {
    it('returns RemoteSockets with id, rooms, data and handshake', async () => {
      const [a] = await h.connect(1, { headers: { 'x-test': 'alpha' } }, '/svc?user=alpha');
      const [b, c] = await h.connect(2);
      assert.deepEqual(await a.request('tag', { user: 'alpha' }), { event: 'tagged', data: { user: 'alpha' } });
      await h.join(a, ['fs', 'fs-a']);
      await h.join(b, 'fs');
      const sockets = await h.rooms.in('fs').fetchSockets();
      assert.deepEqual(sockets.map((socket) => socket.id).sort(), [a.id, b.id].sort());
      const ra = sockets.find((socket) => socket.id === a.id)!;
      const rb = sockets.find((socket) => socket.id === b.id)!;
      assert.deepEqual([...ra.rooms], [a.id, 'fs', 'fs-a']);
      assert.deepEqual([...rb.rooms], [b.id, 'fs']);
      assert.deepEqual(ra.data, { tag: { user: 'alpha' } });
      assert.deepEqual(rb.data, {});
      assert.equal(ra.handshake.url, '/svc?user=alpha');
      assert.equal(ra.handshake.headers['x-test'], 'alpha');
      assert.match(ra.handshake.address, /127\.0\.0\.1$/);
      assert.equal(rb.handshake.headers['x-test'], undefined);
      // every socket when nothing narrows it
      const all = await h.rooms.fetchSockets();
      assert.deepEqual(all.map((socket) => socket.id).sort(), [a.id, b.id, c.id].sort());
      await h.finish([a, b, c]);
    });

    it("RemoteSocket's emit, join, leave and disconnect act on the real socket", async () => {
      const [a, b, c] = await h.connect(3);
      const [ra] = await h.rooms.in(a.id).fetchSockets();
      assert.equal(ra.id, a.id);

      await ra.emit('direct', { n: 1 });
      await h.expectFrames(a, [{ event: 'direct', data: { n: 1 } }]);

      await ra.join(['rj', 'rj2']);
      assert.deepEqual(await h.roomsOf(a), [a.id, 'rj', 'rj2']);
      h.rooms.to('rj').emit('to rj');
      await h.expectFrames(a, [{ event: 'to rj' }]);

      await ra.leave('rj');
      assert.deepEqual(await h.roomsOf(a), [a.id, 'rj2']);
      h.rooms.to('rj').emit('to rj');
      await h.expectFrames(a, []);

      await ra.disconnect();
      assert.equal((await a.closed).code, 1000);
      const [rb] = await h.rooms.in(b.id).fetchSockets();
      await rb.disconnect(true);
      assert.equal((await b.closed).code, 1006);
      await h.expectFrames(c, []);
      await h.finish([a, b, c]);
    });
  });

  describe('count, socketsJoin, socketsLeave, disconnectSockets', () => {
    it('count() counts the selected sockets', async () => {
      const [a, b, c] = await h.connect(3);
      await h.join(a, 'cnt');
      await h.join(b, ['cnt', 'cnt2']);
      assert.equal(await h.rooms.count(), 3);
      assert.equal(await h.rooms.to('cnt').count(), 2);
      assert.equal(await h.rooms.to(['cnt', 'cnt2']).count(), 2);
      assert.equal(await h.rooms.except('cnt').count(), 1);
      assert.equal(await h.rooms.to('cnt').except(a.id).count(), 1);
      assert.equal(await h.rooms.to('nobody-is-here').count(), 0);
      await h.finish([a, b, c]);
    });

    it('socketsJoin and socketsLeave change membership, and broadcasts follow it', async () => {
      const [a, b, c] = await h.connect(3);
      await h.join(a, 'sj');
      await h.join(b, 'sj');
      await h.rooms.in('sj').socketsJoin(['sj-x', 'sj-y']);
      assert.deepEqual(await h.roomsOf(a), [a.id, 'sj', 'sj-x', 'sj-y']);
      assert.deepEqual(await h.roomsOf(c), [c.id]);
      h.rooms.to('sj-y').emit('y', 1);
      await h.expectFrames(a, [{ event: 'y', data: 1 }]);
      await h.expectFrames(b, [{ event: 'y', data: 1 }]);
      await h.expectFrames(c, []);

      await h.rooms.in('sj').except(b.id).socketsLeave('sj-y');
      h.rooms.to('sj-y').emit('y', 2);
      await h.expectFrames(a, []);
      await h.expectFrames(b, [{ event: 'y', data: 2 }]);

      await h.rooms.socketsLeave(['sj-x', 'sj-y']);
      assert.deepEqual(await h.roomsOf(b), [b.id, 'sj']);
      const all = await h.rooms.allRooms();
      assert.equal(all.has('sj-x') || all.has('sj-y'), false);
      await h.finish([a, b, c]);
    });

    it('disconnectSockets() closes with 1000 and disconnectSockets(true) terminates', async () => {
      const [a, b, c, d] = await h.connect(4);
      await h.join(a, 'dc');
      await h.join(b, 'dc');
      await h.join(c, 'dc-hard');
      await h.rooms.in('dc').disconnectSockets();
      assert.equal((await a.closed).code, 1000);
      assert.equal((await b.closed).code, 1000);
      await h.rooms.in('dc-hard').disconnectSockets(true);
      assert.equal((await c.closed).code, 1006);
      await h.expectFrames(d, []);
      assert.equal(await h.rooms.count(), 1);
      await h.finish([a, b, c, d]);
    });
  });

  describe('rooms and their lifecycle', () => {
    it('allRooms() lists rooms without the sockets own id rooms', async () => {
      const [a, b] = await h.connect(2);
      await h.join(a, ['ar-1', 'ar-2']);
      await h.join(b, 'ar-2');
      assert.deepEqual(await h.rooms.allRooms(), new Set(['ar-1', 'ar-2']));
      await h.finish([a, b]);
      assert.deepEqual(await h.rooms.allRooms(), new Set());
    });

    it('emits create-room, join-room, leave-room and delete-room, and off() stops them', async () => {
      const events: unknown[][] = [];
      const onCreate = (room: string) => events.push(['create-room', room]);
      const onJoin = (room: string, id: string) => events.push(['join-room', room, id]);
      const onLeave = (room: string, id: string) => events.push(['leave-room', room, id]);
      const onDelete = (room: string) => events.push(['delete-room', room]);
      h.rooms.on('create-room', onCreate).on('join-room', onJoin).on('leave-room', onLeave).on('delete-room', onDelete);
      const [a, b] = await h.connect(2);
      await h.join(a, 'lc');
      await h.join(b, 'lc');
      assert.deepEqual(await b.request('leave', { room: 'lc' }), { event: 'left', data: 'lc' });
      assert.deepEqual(await a.request('leave', { room: 'lc' }), { event: 'left', data: 'lc' });
      const about = (room: string) => events.filter((event) => event[1] === room);
      assert.deepEqual(about('lc'), [
        ['create-room', 'lc'],
        ['join-room', 'lc', a.id],
        ['join-room', 'lc', b.id],
        ['leave-room', 'lc', b.id],
        ['leave-room', 'lc', a.id],
        ['delete-room', 'lc'],
      ]);
      // the own id room goes through the same lifecycle
      assert.deepEqual(about(a.id), [
        ['create-room', a.id],
        ['join-room', a.id, a.id],
      ]);

      h.rooms
        .off('create-room', onCreate)
        .off('join-room', onJoin)
        .off('leave-room', onLeave)
        .off('delete-room', onDelete);
      const seen = events.length;
      await h.join(a, 'lc2');
      assert.deepEqual(await a.request('leave', { room: 'lc2' }), { event: 'left', data: 'lc2' });
      await h.finish([a, b]);
      assert.equal(events.length, seen);
    });
  });

  describe('server events', () => {
    it('serverSideEmit returns true and never reaches this server own handlers', async () => {
      const [a] = await h.connect(1);
      const probe = h.app.app.get(ServerEventProbe);
      const received: unknown[][] = [];
      const unsubscribe = h.rooms.onServerEvent('probe', (...args) => received.push(args));
      assert.equal(h.rooms.serverSideEmit('probe', 1, { two: 2 }), true);
      // let the event loop turn over a network round trip before looking
      assert.deepEqual(await a.request('echo', 'tick'), { event: 'echo', data: 'tick' });
      assert.deepEqual(probe.calls, []);
      assert.deepEqual(received, []);
      unsubscribe();
      await h.finish([a]);
    });

    it('serverSideEmitWithAck resolves with [] on a single server', async () => {
      const probe = h.app.app.get(ServerEventProbe);
      const unsubscribe = h.rooms.onServerEvent('probe', () => 'own answer');
      const started = performance.now();
      // nobody else to answer: it resolves at once rather than after the 5 s request timeout
      assert.deepEqual(await h.rooms.serverSideEmitWithAck('probe', 'x'), []);
      assert.ok(performance.now() - started < 1000, 'resolved without waiting');
      assert.deepEqual(probe.calls, []);
      unsubscribe();
    });

    it('onServerEvent returns a function that unsubscribes the handler', () => {
      const events = h.app.serverEvents();
      const before = events.listenerCount('sub-test');
      const unsubscribe = h.rooms.onServerEvent('sub-test', () => undefined);
      assert.equal(typeof unsubscribe, 'function');
      assert.equal(events.listenerCount('sub-test'), before + 1);
      unsubscribe();
      assert.equal(events.listenerCount('sub-test'), before);
      unsubscribe(); // a second call changes nothing
      assert.equal(events.listenerCount('sub-test'), before);
    });

    it('serverSideEmit with an unserialisable argument throws a RoomsError', async () => {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      assert.throws(() => h.rooms.serverSideEmit('probe', circular), isRoomsError(/probe/));
      assert.throws(() => h.rooms.serverSideEmit('probe', 1n), isRoomsError());
      await assert.rejects(h.rooms.serverSideEmitWithAck('probe', circular), isRoomsError(/probe/));
    });
  });

  it('rejects invalid arguments with clear errors', async () => {
    const [a] = await h.connect(1);
    assert.throws(() => h.rooms.to(''), isRoomsError(/non-empty/));
    assert.throws(() => h.rooms.to(42 as any), isRoomsError(/string/));
    assert.throws(() => h.rooms.in(['ok', '']), isRoomsError(/non-empty/));
    assert.throws(() => h.rooms.except(''), isRoomsError(/non-empty/));
    assert.throws(() => h.rooms.to('ok').except(null as any), isRoomsError(/string/));
    assert.throws(() => h.rooms.timeout(-1), isRoomsError(/timeout/));
    assert.throws(() => h.rooms.to(a.id).timeout(Number.NaN), isRoomsError(/timeout/));
    assert.throws(() => h.rooms.emit(''), isRoomsError(/event name/));
    assert.throws(() => h.rooms.to(a.id).emit(''), isRoomsError(/event name/));
    // nothing was sent by the refused calls
    await h.expectFrames(a, []);
    await h.finish([a]);
  });

  it('lets an HTTP controller notify a project room through RoomService', async () => {
    const [a, b, c] = await h.connect(3);
    await h.join(a, 'project:7');
    await h.join(b, 'project:7');
    await h.join(c, 'project:8');
    const response = await fetch(`http://127.0.0.1:${h.app.port}/projects/7/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'build passed' }),
    });
    assert.equal(response.status, 201);
    assert.deepEqual(await response.json(), { notified: 'project:7' });
    const notified = { event: 'project notified', data: { id: '7', message: 'build passed' } };
    await h.expectFrames(a, [notified]);
    await h.expectFrames(b, [notified]);
    await h.expectFrames(c, []);
    await h.finish([a, b, c]);
  });
});

describe('RoomService with maxRoomsPerSocket', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({ maxRoomsPerSocket: 2 });
  });
  afterEach(() => h.cleanUp());
  after(() => h.close());

  it('socketsJoin is all or nothing: when one socket would exceed, none joins and it rejects', async () => {
    const [a, b] = await h.connect(2);
    await h.join(a, 'm1');
    await h.join(b, ['m1', 'm2']);
    await assert.rejects(h.rooms.in('m1').socketsJoin('m3'), isRoomsError(/2/));
    assert.deepEqual(await h.roomsOf(a), [a.id, 'm1']);
    assert.deepEqual(await h.roomsOf(b), [b.id, 'm1', 'm2']);
    h.rooms.to('m3').emit('m3');
    await h.expectFrames(a, []);
    await h.expectFrames(b, []);
    // RemoteSocket.join goes through the same limit
    const [rb] = await h.rooms.in(b.id).fetchSockets();
    await assert.rejects(rb.join('m4'), isRoomsError());
    assert.deepEqual(await h.roomsOf(b), [b.id, 'm1', 'm2']);
    // a socket that has room still joins; a room it is already in does not count
    await h.rooms.in(a.id).socketsJoin(['m1', 'm3']);
    assert.deepEqual(await h.roomsOf(a), [a.id, 'm1', 'm3']);
    await h.finish([a, b]);
  });

  it('server-side socket.join is limited too, all or nothing for an array', async () => {
    const [a] = await h.connect(1);
    await h.join(a, 'm1');
    const refused = await a.request('server-join', { room: ['m5', 'm6'] });
    assert.equal(refused.event, 'server-joined');
    assert.equal(refused.data.ok, false);
    assert.equal(refused.data.roomsError, true);
    assert.match(refused.data.message, /2/);
    assert.deepEqual(refused.data.rooms, [a.id, 'm1']);
    h.rooms.to(['m5', 'm6']).emit('m5/m6');
    await h.expectFrames(a, []);

    const joined = await a.request('server-join', { room: 'm5' });
    assert.deepEqual(joined.data, { ok: true, rooms: [a.id, 'm1', 'm5'] });
    const full = await a.request('server-join', { room: 'm6' });
    assert.equal(full.data.ok, false);
    assert.equal(full.data.roomsError, true);
    assert.deepEqual(full.data.rooms, [a.id, 'm1', 'm5']);
    await h.finish([a]);
  });
});

describe('RoomService compress() with per-message deflate', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start(undefined, { perMessageDeflate: true });
  });
  afterEach(() => h.cleanUp());
  after(() => h.close());

  const bytesRead = (client: TestClient) => client.tcp.bytesRead;

  it('compress(true) deflates for a socket that negotiated it, keeping JSON and order', async () => {
    const [deflating] = await h.connect(1, { perMessageDeflate: true });
    const [plain] = await h.connect(1, { perMessageDeflate: false });
    assert.equal(deflating.ws.extensions, 'permessage-deflate');
    assert.equal(plain.ws.extensions, '');
    await h.join(deflating, 'z');
    await h.join(plain, 'z');
    const big = { text: 'abcdefgh'.repeat(1024), n: 1 }; // 8 KiB of very compressible text
    const size = JSON.stringify({ event: 'big', data: big }).length;

    const start = bytesRead(deflating);
    h.rooms.to('z').emit('small', 1);
    h.rooms.to('z').compress(true).emit('big', big);
    h.rooms.to('z').emit('small', 2);
    h.rooms
      .compress(true)
      .to('z')
      .emit('big', { ...big, n: 2 });
    h.rooms.to('z').emit('small', 3);
    const expected = [
      { event: 'small', data: 1 },
      { event: 'big', data: big },
      { event: 'small', data: 2 },
      { event: 'big', data: { ...big, n: 2 } },
      { event: 'small', data: 3 },
    ];
    await h.expectFrames(deflating, expected);
    await h.expectFrames(plain, expected);
    // two 8 KiB payloads arrived in far fewer bytes: they were deflated
    assert.ok(bytesRead(deflating) - start < size, `read ${bytesRead(deflating) - start} bytes for 2 x ${size}`);
    await h.finish([deflating, plain]);
  });

  it('compress(false) sends uncompressed frames, in order with compressed ones', async () => {
    const [client] = await h.connect(1, { perMessageDeflate: true });
    assert.equal(client.ws.extensions, 'permessage-deflate');
    const big = { text: 'abcdefgh'.repeat(1024) };
    const size = JSON.stringify({ event: 'raw', data: big }).length;

    const start = bytesRead(client);
    h.rooms.to(client.id).compress(false).emit('raw', big);
    h.rooms.to(client.id).emit('small', 1);
    await h.expectFrames(client, [
      { event: 'raw', data: big },
      { event: 'small', data: 1 },
    ]);
    assert.ok(bytesRead(client) - start > size, `read ${bytesRead(client) - start} bytes for ${size}`);

    // a deflated frame, then an uncompressed one right behind it (while the first is still being
    // deflated): order is kept, and the second is still sent as it is
    const before = bytesRead(client);
    h.rooms.to(client.id).compress(true).emit('deflated', big);
    h.rooms.to(client.id).compress(false).emit('raw', big);
    h.rooms.to(client.id).compress(false).emit('small', 2);
    await h.expectFrames(client, [
      { event: 'deflated', data: big },
      { event: 'raw', data: big },
      { event: 'small', data: 2 },
    ]);
    assert.ok(bytesRead(client) - before > size, `read ${bytesRead(client) - before} bytes for ${size} + deflated`);
    await h.finish([client]);
  });
});
