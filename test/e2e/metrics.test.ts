/**
 * `rooms.metrics()`: every figure moves under the act that moves it, by exactly what it did, and
 * the others stay where they were.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket, type RawData } from 'ws';
import type { RoomsAdapterOptions, RoomsMetricsSnapshot } from '../../lib/index.js';
import { BAD_FRAME_KINDS } from '../../lib/metrics/metric-labels.js';
import { startApp, type TestApp } from '../support/app.js';
import { TestClient } from '../support/client.js';
import { HookRecorder } from '../support/hook-recorder.js';
import { metricsDelta, MetricsGateway, MetricsModule } from '../support/metrics.fixture.js';
import { RecoveringClient, recoveryModule } from '../support/recovery.fixture.js';
import { eventually, nextTurn } from '../support/timing.js';

/** A client whose transport errors (the server closing it) are expected. */
async function connect(app: TestApp, options: { autoPong?: boolean } = {}): Promise<TestClient> {
  const client = await TestClient.connect(app.url('/m'), options);
  client.ws.on('error', () => {});
  return client;
}

/** Counts what a client receives, raw: messages and their payload bytes. */
function received(client: TestClient): { frames: number; bytes: number } {
  const seen = { frames: 0, bytes: 0 };
  client.ws.on('message', (raw: RawData) => {
    seen.frames++;
    seen.bytes += (raw as Buffer).length;
  });
  return seen;
}

/** Resolves once `read(app.rooms.metrics())` is `expected` (moved by a close the server sees a moment after the client). */
async function until(app: TestApp, read: (s: RoomsMetricsSnapshot) => number, expected: number): Promise<void> {
  assert.equal(await eventually(async () => read(app.rooms.metrics()), expected), expected);
}

describe('connections, disconnections and rooms', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(MetricsModule, { heartbeatInterval: 100 });
  });
  after(() => app.close());

  it('counts a connection open and accepted, and its close by the client as transport_close', async () => {
    const before = app.rooms.metrics();
    const client = await connect(app);
    const welcomed = app.rooms.metrics();
    assert.equal(welcomed.connections, before.connections + 1);
    assert.equal(welcomed.connectionsTotal, before.connectionsTotal + 1);
    await client.close();
    await until(app, (s) => s.connections, before.connections);
    const delta = metricsDelta(before, app.rooms.metrics());
    assert.equal(delta.connectionsTotal, 1);
    assert.equal(delta['disconnections.transport_close'], 1);
    assert.equal(delta.connections, undefined, 'back where it was');
  });

  it('counts a server-side disconnect as server_disconnect', async () => {
    const client = await connect(app);
    const before = app.rooms.metrics();
    app.socket(client.id).disconnect();
    await client.closed;
    await until(app, (s) => s.disconnections.server_disconnect, before.disconnections.server_disconnect + 1);
    const delta = metricsDelta(before, app.rooms.metrics());
    assert.deepEqual(delta, { connections: -1, 'disconnections.server_disconnect': 1 });
  });

  it('counts a client that does not answer pings as ping_timeout', async () => {
    const before = app.rooms.metrics();
    const client = await connect(app, { autoPong: false });
    await client.closed;
    await until(app, (s) => s.disconnections.ping_timeout, before.disconnections.ping_timeout + 1);
    const delta = metricsDelta(before, app.rooms.metrics());
    assert.equal(delta.connectionsTotal, 1);
    assert.equal(delta.connections, undefined);
    assert.equal(delta['disconnections.transport_close'], undefined);
  });

  it('counts the sockets an app closes on shutdown as server_shutting_down', async () => {
    const other = await startApp(MetricsModule);
    await Promise.all([connect(other), connect(other)]);
    assert.equal(other.rooms.metrics().connections, 2);
    await other.close();
    const after = other.rooms.metrics();
    assert.equal(after.connections, 0);
    assert.equal(after.disconnections.server_shutting_down, 2);
  });

  it('counts rooms with a member here, id rooms left out, as they are created and deleted', async () => {
    const before = app.rooms.metrics().rooms;
    const [ann, bob] = await Promise.all([connect(app), connect(app)]);
    assert.equal(app.rooms.metrics().rooms, before, 'a socket alone adds no room');
    await ann.request('join', { room: 'metrics:a' });
    await ann.request('join', { room: 'metrics:b' });
    await bob.request('join', { room: 'metrics:a' });
    assert.equal(app.rooms.metrics().rooms, before + 2);
    await ann.request('leave', { room: 'metrics:b' });
    assert.equal(app.rooms.metrics().rooms, before + 1);
    // Server code may put a socket in another's id room: still an id room, still left out.
    await app.socket(bob.id).join(ann.id);
    assert.equal(app.rooms.metrics().rooms, before + 1);
    assert.equal(app.rooms.metrics().rooms, (await app.rooms.allRooms()).size);
    await ann.close();
    // bob alone in what was ann's id room: an ordinary room now, as allRooms() says.
    await until(app, (s) => s.rooms, (await app.rooms.allRooms()).size);
    assert.equal(app.rooms.metrics().rooms, before + 2);
    await bob.close();
    await until(app, (s) => s.rooms, before);
  });

  it('counts the presence entries its sockets hold, one per socket and room, until untracked or gone', async () => {
    const before = app.rooms.metrics().presenceEntries;
    const [ann, bob] = await Promise.all([connect(app), connect(app)]);
    await app.socket(ann.id).track('metrics:doc', 'ann');
    await app.socket(ann.id).track('metrics:other', 'ann');
    await app.socket(bob.id).track('metrics:doc', 'bob');
    assert.equal(app.rooms.metrics().presenceEntries, before + 3);
    // Tracked again in the same room: replaced, not added.
    await app.socket(bob.id).track('metrics:doc', 'bob', { tab: 2 });
    assert.equal(app.rooms.metrics().presenceEntries, before + 3);
    await app.socket(ann.id).untrack('metrics:other');
    assert.equal(app.rooms.metrics().presenceEntries, before + 2);
    await ann.close();
    await until(app, (s) => s.presenceEntries, before + 1);
    await bob.close();
    await until(app, (s) => s.presenceEntries, before);
  });
});

describe('frames, bytes and broadcasts', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(MetricsModule);
  });
  after(() => app.close());

  it('counts a frame in with its bytes, and the reply out with the bytes the client got', async () => {
    const client = await connect(app);
    const seen = received(client);
    const before = app.rooms.metrics();
    const text = JSON.stringify({ event: 'echo', data: 'héllo' });
    client.send(text);
    await client.next();
    const delta = metricsDelta(before, app.rooms.metrics());
    assert.deepEqual(delta, {
      framesReceived: 1,
      bytesReceived: Buffer.byteLength(text),
      framesSent: 1,
      bytesSent: seen.bytes,
    });
    assert.equal(seen.frames, 1);
    await client.close();
  });

  it('counts a broadcast as local once, and a frame out per socket it reached', async () => {
    const clients = await Promise.all([connect(app), connect(app), connect(app)]);
    for (const client of clients) await client.request('join', { room: 'feed' });
    const seen = clients.map(received);
    const before = app.rooms.metrics();
    app.rooms.to('feed').emit('news', { n: 1 });
    app.rooms.to('nobody-here').emit('news', { n: 2 });
    await Promise.all(clients.map((client) => client.next()));
    const delta = metricsDelta(before, app.rooms.metrics());
    const bytes = seen.reduce((sum, s) => sum + s.bytes, 0);
    assert.deepEqual(delta, { framesSent: 3, bytesSent: bytes, 'broadcasts.local': 2 });
    // emitWithAck is a broadcast too.
    const answered = app.rooms.to(clients[0].id).timeout(2000).emitWithAck('ask');
    const asked = await clients[0].next();
    clients[0].send({ ack: asked.ack, data: 'yes' });
    assert.deepEqual(await answered, ['yes']);
    assert.equal(app.rooms.metrics().broadcasts.local, before.broadcasts.local + 3);
    await Promise.all(clients.map((client) => client.close()));
  });
});

describe('dropped', () => {
  it('counts each volatile event a backed-up socket skipped (volatile)', async () => {
    const app = await startApp(MetricsModule, { lowWatermark: 1024, highWatermark: 64 * 1024 * 1024 });
    const client = await connect(app);
    await client.request('join', { room: 'feed' });
    const before = app.rooms.metrics();
    client.tcp.pause();
    const chunk = 'x'.repeat(64 * 1024);
    let ticks = 0;
    for (let n = 0; app.rooms.metrics().dropped.volatile === before.dropped.volatile && n < 5000; n++) {
      app.rooms.to('feed').emit('chunk', chunk);
      app.rooms.to('feed').volatile.emit('tick', ticks++);
      await nextTurn();
    }
    const dropped = app.rooms.metrics().dropped.volatile - before.dropped.volatile;
    assert.ok(dropped > 0, 'a volatile event was dropped');
    app.rooms.to('feed').emit('marker');
    client.tcp.resume();
    let got = 0;
    for (let frame = await client.next(10_000); frame.event !== 'marker'; frame = await client.next(10_000)) {
      if (frame.event === 'tick') got++;
    }
    assert.equal(ticks - got, dropped, 'every tick the client missed, and only those');
    const delta = metricsDelta(before, app.rooms.metrics());
    assert.equal(delta['dropped.slow_consumer'], undefined);
    assert.equal(delta['dropped.not_open'], undefined);
    await client.close();
    await app.close();
  });

  it('counts a slow consumer shed once (slow_consumer)', async () => {
    const app = await startApp(MetricsModule, { highWatermark: 256 * 1024 });
    const client = await connect(app);
    await client.request('join', { room: 'feed' });
    const server = app.socket(client.id);
    const before = app.rooms.metrics();
    client.tcp.pause();
    const chunk = 'x'.repeat(64 * 1024);
    for (let n = 0; server.readyState === WebSocket.OPEN && n < 5000; n++) {
      app.rooms.to('feed').emit('chunk', chunk);
      await nextTurn();
    }
    assert.notEqual(server.readyState, WebSocket.OPEN, 'it was shed');
    client.tcp.resume();
    await client.closed;
    await until(app, (s) => s.connections, before.connections - 1);
    const delta = metricsDelta(before, app.rooms.metrics());
    assert.equal(delta['dropped.slow_consumer'], 1);
    assert.equal(delta['disconnections.server_disconnect'], 1);
    assert.equal(delta['dropped.volatile'], undefined);
    await app.close();
  });

  it('counts what is written to a socket that has closed (not_open)', async () => {
    const app = await startApp(MetricsModule);
    const client = await connect(app);
    const server = app.socket(client.id);
    await client.close();
    await until(app, (s) => s.connections, 0);
    const before = app.rooms.metrics();
    server.sendEvent('late', 1);
    server.send('late');
    const delta = metricsDelta(before, app.rooms.metrics());
    assert.deepEqual(delta, { 'dropped.not_open': 2 });
    await app.close();
  });
});

describe('bad frames, one kind per row of the bad-input table', () => {
  const options: RoomsAdapterOptions = { maxBadFrames: 2, maxPayload: 1024, maxPendingFrames: 1 };
  let app: TestApp;
  let parsed: TestApp;
  before(async () => {
    app = await startApp(MetricsModule, options);
    parsed = await startApp(MetricsModule, {
      messageParser: (data) => {
        if (data === 'throw') throw new Error('no');
        if (data === 'nothing') return undefined;
        if (data === 'number') return 42 as never;
        return JSON.parse(data.toString()) as never;
      },
    });
  });
  after(async () => {
    await app.close();
    await parsed.close();
  });

  /** Runs `act` on a fresh client and returns the bad-frame counts that moved (once they have). */
  async function badFramesAfter(
    on: TestApp,
    act: (client: TestClient) => Promise<unknown>,
    settled: (s: RoomsMetricsSnapshot) => boolean,
  ): Promise<Record<string, number>> {
    const client = await connect(on);
    const before = on.rooms.metrics();
    await act(client);
    assert.ok(await eventually(async () => settled(on.rooms.metrics()), true), 'the count moved');
    const moved: Record<string, number> = {};
    for (const [key, value] of Object.entries(metricsDelta(before, on.rooms.metrics()))) {
      if (key.startsWith('badFrames.')) moved[key.slice('badFrames.'.length)] = value;
    }
    await client.close();
    return moved;
  }

  const answered =
    (raw: string | Buffer, binary = false) =>
    async (client: TestClient) => {
      client.send(raw, { binary });
      return client.next();
    };
  const closed = (send: (client: TestClient) => void) => async (client: TestClient) => {
    send(client);
    return client.closed;
  };
  const movedBy =
    (kind: string, count = 1) =>
    (s: RoomsMetricsSnapshot) =>
      s.badFrames[kind as 'binary'] >= count;

  const cases: Array<[kind: string, act: (client: TestClient) => Promise<unknown>]> = [
    ['binary', answered(Buffer.from('{"event":"echo"}'), true)],
    ['not_json', answered('{nope')],
    ['not_an_object', answered('[1,2]')],
    ['bad_id', answered('{"event":"echo","id":{}}')],
    ['no_event', answered('{"data":1}')],
    ['unknown_event', answered('{"event":"nobody-handles-this"}')],
    ['stray_ack', answered('{"ack":12345,"data":1}')],
    ['unserialisable_reply', answered('{"event":"cyclic"}')],
    ['too_large', closed((client) => client.send('x'.repeat(2048)))],
    ['invalid_utf8', closed((client) => client.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }))],
  ];

  for (const [kind, act] of cases) {
    it(`counts ${kind}`, async () => {
      assert.deepEqual(await badFramesAfter(app, act, movedBy(kind)), { [kind]: 1 });
    });
  }

  it('counts too_many_fragments', async () => {
    // On the app with the default maxPayload: 16385 bytes would be too_large on the other.
    const fragments = closed((client) => {
      for (let i = 0; i <= 16384; i++) client.ws.send('x', { fin: false });
    });
    const moved = await badFramesAfter(parsed, fragments, movedBy('too_many_fragments'));
    assert.deepEqual(moved, { too_many_fragments: 1 });
  });

  it('counts too_many_pending', async () => {
    const gateway = app.app.get(MetricsGateway);
    const moved = await badFramesAfter(
      app,
      async (client) => {
        client.send({ event: 'hold' });
        const refused = await client.request('echo', 1);
        gateway.release();
        await client.next();
        return refused;
      },
      movedBy('too_many_pending'),
    );
    assert.deepEqual(moved, { too_many_pending: 1 });
  });

  it('counts too_many_bad_frames once, beside the frames themselves', async () => {
    const moved = await badFramesAfter(
      app,
      async (client) => {
        for (let i = 0; i < 3; i++) client.send('{nope');
        return client.closed;
      },
      movedBy('too_many_bad_frames'),
    );
    assert.deepEqual(moved, { not_json: 3, too_many_bad_frames: 1 });
  });

  for (const [kind, raw] of [
    ['parser_failed', 'throw'],
    ['parser_empty', 'nothing'],
    ['parser_not_an_event', 'number'],
  ] as const) {
    it(`counts ${kind}`, async () => {
      assert.deepEqual(await badFramesAfter(parsed, answered(raw), movedBy(kind)), { [kind]: 1 });
    });
  }

  it('has a case above for every kind of the fixed set', () => {
    const tested = [
      ...cases.map(([kind]) => kind),
      'too_many_fragments',
      'too_many_pending',
      'too_many_bad_frames',
      'parser_failed',
      'parser_empty',
      'parser_not_an_event',
    ];
    assert.deepEqual([...tested].sort(), [...BAD_FRAME_KINDS].sort());
  });
});

describe('recoveries, by result', () => {
  it('counts a recovered session, an unknown one and one too far behind; a connection that asks for none counts nothing', async () => {
    const app = await startApp(recoveryModule({ maxBufferedBytes: 8192 }));
    const url = app.url('/recovery');
    const recorder = app.app.get(HookRecorder);
    const before = app.rooms.metrics();
    const recoveries = () => metricsDelta(before, app.rooms.metrics());
    const pick = (delta: Record<string, number>) =>
      Object.fromEntries(Object.entries(delta).filter(([key]) => key.startsWith('recoveries.')));

    const first = await RecoveringClient.connect(url);
    await first.until('welcome');
    assert.deepEqual(pick(recoveries()), {}, 'a fresh connection is no recovery');
    await first.client.request('join', { room: 'back' });
    first.drop();
    await recorder.wait('handleDisconnect', first.session.id);
    app.rooms.to('back').emit('missed', 1);
    const second = await first.reconnect(url);
    assert.equal(second.session.recovered, true);
    assert.deepEqual((await second.next()).event, 'missed');
    assert.deepEqual(pick(recoveries()), { 'recoveries.recovered': 1 });

    const unknown = await RecoveringClient.connect(url, { token: 'not-a-token' });
    assert.equal(unknown.session.reason, 'unknown session');
    assert.deepEqual(pick(recoveries()), { 'recoveries.recovered': 1, 'recoveries.unknown_session': 1 });

    const behind = await RecoveringClient.connect(url);
    await behind.until('welcome');
    await behind.client.request('join', { room: 'big' });
    behind.drop();
    await recorder.wait('handleDisconnect', behind.session.id);
    for (let i = 0; i < 100; i++) app.rooms.to('big').emit('bulk', 'x'.repeat(200));
    const third = await behind.reconnect(url);
    assert.equal(third.session.reason, 'too far behind');
    assert.deepEqual(pick(recoveries()), {
      'recoveries.recovered': 1,
      'recoveries.unknown_session': 1,
      'recoveries.too_far_behind': 1,
    });
    await Promise.all([second.close(), unknown.close(), third.close()]);
    await app.close();
  });

  it('counts the frames a recovered socket is replayed, with the bytes it got', async () => {
    const app = await startApp(recoveryModule({}));
    const url = app.url('/recovery');
    const first = await RecoveringClient.connect(url);
    await first.until('welcome');
    await first.client.request('join', { room: 'replay' });
    first.drop();
    await app.app.get(HookRecorder).wait('handleDisconnect', first.session.id);
    for (let n = 0; n < 3; n++) app.rooms.to('replay').emit('missed', n);
    const before = app.rooms.metrics();
    const second = await first.reconnect(url);
    const { before: replayed } = await second.until('welcome');
    const delta = metricsDelta(before, app.rooms.metrics());
    // The session frame, three replayed frames and the gateway's welcome.
    assert.equal(replayed.filter((frame) => frame.event === 'missed').length, 3);
    assert.equal(delta.framesSent, 5);
    await second.close();
    await app.close();
  });
});
