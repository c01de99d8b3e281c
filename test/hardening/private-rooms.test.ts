import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Injectable, Module, type Type } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
} from '@nestjs/websockets';
import {
  BroadcastTo,
  InMemoryBroker,
  JoinRoom,
  LeaveRoom,
  OnServerEvent,
  RoomsModule,
  type RoomSocket,
  type RoomsModuleOptions,
} from '../../lib/index.js';
import {
  INVALID_ROOM_NAME,
  JOIN_REFUSED,
  NO_EVENT,
  PRIVATE_ROOM,
  STRAY_ACK,
  UNKNOWN_EVENT,
} from '../../lib/rooms.messages.js';
import { startApp, type TestApp } from '../support/app.js';
import { untilMeshed } from '../support/timing.js';
import { closeAll, TestClient, type Frame } from '../support/client.js';

/*
 * Private rooms. No client-driven path (decorators, canJoin, message payloads, remote
 * operations) can make a socket a member of another socket's id room, and a client learns no
 * room name and no other socket's id that the server did not send it. Decorator joins of a plain
 * id are covered by test/e2e/decorators.test.ts; this covers everything around them.
 * `@BroadcastTo` a socket id is a private message by design: that is sending, not membership.
 */

const MAX_ROOMS = 3;

/** Counts what reaches the server-only side, so that tests can show a client never gets there. */
@Injectable()
class ServerOnly {
  flushes = 0;
  canJoinAsked: string[] = [];

  @OnServerEvent('cache:flush')
  flush(): string {
    this.flushes++;
    return 'flushed';
  }
}

/** Replies never echo the client's data back, so that anything a client receives is what the server chose to send. */
@WebSocketGateway({ path: '/private' })
class PrivateGateway implements OnGatewayConnection {
  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id });
  }

  @SubscribeMessage('join')
  @JoinRoom((data: { room: any }) => data.room)
  join() {
    return { event: 'joined' };
  }

  @SubscribeMessage('leave')
  @LeaveRoom((data: { room: any }) => data.room)
  leave() {
    return { event: 'left' };
  }

  /** A private message when `to` is a socket id; a room message otherwise. */
  @SubscribeMessage('say')
  @BroadcastTo((data: { to: any }) => data.to)
  say(@MessageBody() data: { text: string }) {
    return { event: 'said', data: data.text };
  }

  @SubscribeMessage('rooms')
  rooms(@ConnectedSocket() socket: RoomSocket) {
    return { event: 'rooms', data: [...socket.rooms] };
  }
}

/** A module whose canJoin allows everything but names starting with `forbidden:`, asking ServerOnly to note each question. */
function privateModule(options: RoomsModuleOptions = {}): Type {
  let serverOnly: ServerOnly | undefined;
  @Module({
    imports: [
      RoomsModule.forRoot({
        maxRoomsPerSocket: MAX_ROOMS,
        canJoin: (_socket, room) => {
          serverOnly?.canJoinAsked.push(room);
          return !room.startsWith('forbidden:');
        },
        ...options,
      }),
    ],
    providers: [ServerOnly, PrivateGateway],
  })
  class PrivateModule {
    constructor(only: ServerOnly) {
      serverOnly = only;
    }
  }
  return PrivateModule;
}

/** A client whose every received frame is kept as raw text, with every raw text it sent. */
class Watched {
  readonly received: string[] = [];
  readonly sent: string[] = [];

  private constructor(readonly client: TestClient) {
    client.ws.on('message', (raw) => this.received.push(raw.toString()));
  }

  static async connect(app: TestApp): Promise<Watched> {
    const client = await TestClient.connect(app.url('/private'));
    const watched = new Watched(client);
    // The welcome (its own id) came before the watch began: it is what the server sent it.
    watched.received.push(JSON.stringify({ event: 'welcome', data: { id: client.id } }));
    return watched;
  }

  get id(): string {
    return this.client.id;
  }

  send(frame: Frame | string): void {
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    this.sent.push(text);
    this.client.send(text);
  }

  async request(frame: Frame | string): Promise<Frame> {
    this.send(frame);
    return this.client.next();
  }

  /** No frame it received names `secret`, unless it sent that name itself. */
  assertNeverLearned(secrets: readonly string[]): void {
    for (const secret of secrets) {
      if (this.sent.some((text) => text.includes(secret))) continue;
      const leak = this.received.find((text) => text.includes(secret));
      assert.equal(leak, undefined, `a frame told the client ${JSON.stringify(secret)}: ${leak}`);
    }
  }
}

function assertException(frame: Frame, message: string): void {
  assert.equal(frame.event, 'exception', `expected an exception frame, got ${JSON.stringify(frame)}`);
  assert.equal(frame.data?.status, 'error');
  assert.equal(frame.data?.message, message);
}

/** The server's view of one socket's rooms. */
function roomsOf(app: TestApp, id: string): string[] {
  return [...app.socket(id).rooms].sort();
}

/** Members of a room on this server. */
function membersOf(app: TestApp, room: string): string[] {
  return app
    .registry()
    .select([room], [])
    .map((member) => member.id)
    .sort();
}

/** Resolves once the server has let go of those sockets (their close reached it). */
async function untilForgotten(app: TestApp, ids: readonly string[]): Promise<void> {
  while (ids.some((id) => app.findSocket(id) !== undefined)) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Each client's very next frame is a marker sent to it alone: it had received nothing else. */
async function assertNothingMore(app: TestApp, ...clients: Watched[]): Promise<void> {
  for (const watched of clients) {
    app.socket(watched.id).sendEvent('marker');
    assert.deepEqual(await watched.client.next(), { event: 'marker' }, `${watched.id} received something`);
  }
}

describe('private rooms', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(privateModule());
  });
  after(() => app.close());

  it("payloads that smuggle another socket's id (arrays, nesting, array-likes, escapes, prototype keys) join nothing", async () => {
    const [hostile, victim] = await Promise.all([Watched.connect(app), Watched.connect(app)]);
    const v = victim.id;
    const escaped = [...v].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    const invalid = INVALID_ROOM_NAME(256);
    const attempts: Array<[Frame | string, string]> = [
      [{ event: 'join', data: { room: [v] } }, PRIVATE_ROOM],
      [{ event: 'join', data: { room: ['harmless', v] } }, PRIVATE_ROOM],
      [{ event: 'join', data: { room: [[v]] } }, invalid],
      [{ event: 'join', data: { room: { 0: v, length: 1 } } }, invalid],
      [{ event: 'join', data: { room: { room: v } } }, invalid],
      [{ event: 'join', data: { room: [v, v, v] } }, PRIVATE_ROOM],
      // The same id written with JSON escapes is the same string once parsed.
      [`{"event":"join","data":{"room":"${escaped}"}}`, PRIVATE_ROOM],
      [`{"event":"join","data":{"room":["${escaped}"]}}`, PRIVATE_ROOM],
      // Prototype keys: `data.room` read through a polluted prototype would be the id.
      [`{"event":"join","data":{"__proto__":{"room":"${v}"}}}`, invalid],
      [`{"event":"join","data":{"constructor":{"prototype":{"room":"${v}"}}}}`, invalid],
      // No own `data` at all: the selector throws, and Nest answers with its generic exception frame.
      [`{"event":"join","__proto__":{"data":{"room":"${v}"}}}`, 'Internal server error'],
      [`{"event":"join","data":{"room":"${v}","__proto__":{"room":"fine"}}}`, PRIVATE_ROOM],
      // Leaving the victim's room, or its own, is refused the same way.
      [{ event: 'leave', data: { room: v } }, PRIVATE_ROOM],
      [{ event: 'leave', data: { room: ['x', hostile.id] } }, PRIVATE_ROOM],
    ];
    for (const [frame, message] of attempts) {
      assertException(await hostile.request(frame), message);
    }
    // A room name that merely contains the id is an ordinary room, not the id room.
    assert.deepEqual(await hostile.request({ event: 'join', data: { room: `${v} ` } }), { event: 'joined' });

    assert.deepEqual(roomsOf(app, hostile.id), [hostile.id, `${v} `].sort());
    assert.deepEqual(membersOf(app, v), [v]);
    assert.deepEqual(roomsOf(app, v), [v]);
    // Nothing leaked into Object.prototype on the way.
    assert.equal(({} as Record<string, unknown>).room, undefined);
    assert.equal(({} as Record<string, unknown>).data, undefined);
    // A private message to the victim still reaches it alone.
    app.rooms.to(v).emit('private', 'for the victim');
    assert.deepEqual(await victim.client.next(), { event: 'private', data: 'for the victim' });
    await assertNothingMore(app, hostile, victim);
    await closeAll([hostile.client, victim.client]);
  });

  it('a canJoin that allows everything cannot admit an id-shaped room', async () => {
    const serverOnly = app.app.get(ServerOnly);
    const [hostile, victim] = await Promise.all([Watched.connect(app), Watched.connect(app)]);
    assertException(await hostile.request({ event: 'join', data: { room: victim.id } }), PRIVATE_ROOM);
    assertException(await hostile.request({ event: 'join', data: { room: ['open', victim.id] } }), PRIVATE_ROOM);
    assert.deepEqual(roomsOf(app, hostile.id), [hostile.id]);
    // canJoin does decide for ordinary names: it would have let an id through had that been up to it.
    serverOnly.canJoinAsked = [];
    assert.deepEqual(await hostile.request({ event: 'join', data: { room: 'open' } }), { event: 'joined' });
    assertException(
      await hostile.request({ event: 'join', data: { room: 'forbidden:x' } }),
      JOIN_REFUSED('forbidden:x'),
    );
    assert.deepEqual(serverOnly.canJoinAsked, ['open', 'forbidden:x']);
    assert.deepEqual(roomsOf(app, hostile.id), [hostile.id, 'open'].sort());
    assert.deepEqual(membersOf(app, victim.id), [victim.id]);
    await closeAll([hostile.client, victim.client]);
  });

  it("exception frames and replies never carry another socket's id or a room name the server did not send", async () => {
    const [hostile, v1, v2] = await Promise.all([1, 2, 3].map(() => Watched.connect(app)));
    const secrets = ['secret:alpha', 'secret:beta'];
    await v1.request({ event: 'join', data: { room: [secrets[0], 'shared'] } });
    await v2.request({ event: 'join', data: { room: [secrets[1], 'shared'] } });
    assert.deepEqual(await hostile.request({ event: 'join', data: { room: 'shared' } }), { event: 'joined' });

    // Every kind of bad input, refusal and failure the hostile client can provoke.
    const probes: Array<Frame | string> = [
      'not json',
      '[1]',
      'null',
      '{}',
      '{"event":5,"id":"x"}',
      '{"event":"echo","id":{}}',
      '{"ack":1}',
      { ack: 2, data: 'answer' },
      { event: 'nope', id: 1 },
      { event: 'join', data: {}, id: 2 },
      { event: 'join', data: { room: '' } },
      { event: 'join', data: { room: 'x'.repeat(300) } },
      { event: 'join', data: { room: ['a', 'b', 'c', 'd'] } },
      { event: 'join', data: { room: 'forbidden:room' } },
      { event: 'join', data: { room: 'A'.repeat(22) } },
      { event: 'join', data: null },
      { event: 'leave', data: { room: 'shared-not-mine' } },
      { event: 'leave', data: 5 },
      { event: 'say', data: { to: '', text: 'x' } },
      { event: 'say', data: { to: 'B'.repeat(22), text: 'to a made-up id' } },
      { event: 'say', data: { to: 'shared', text: 'to the shared room' } },
      { event: 'say', data: null },
      { event: 'rooms' },
    ];
    for (const probe of probes) hostile.send(probe);
    // One answer each, but for the two room messages (they answer nothing); handlers answer in their own time.
    for (let answers = 0; answers < probes.length - 2; answers++) {
      const frame = await hostile.client.next();
      // Every answer is an exception frame or a reply about itself.
      assert.ok(['exception', 'joined', 'left', 'rooms'].includes(frame.event!), JSON.stringify(frame));
    }
    await assertNothingMore(app, hostile);
    // Its own rooms, and nothing else.
    assert.deepEqual(roomsOf(app, hostile.id), [hostile.id, 'shared'].sort());
    // Its one room message went to the others in 'shared' (sending is allowed).
    for (const victim of [v1, v2])
      assert.deepEqual(await victim.client.next(), { event: 'said', data: 'to the shared room' });

    // The library announces nothing: others joining, leaving and disconnecting send it nothing.
    await v1.request({ event: 'leave', data: { room: 'shared' } });
    await v1.request({ event: 'join', data: { room: 'shared' } });
    await v2.client.close();
    await untilForgotten(app, [v2.id]);
    await assertNothingMore(app, hostile);

    // An emitWithAck it answers, and one it answers twice.
    const asked = app.rooms.to('shared').timeout(2000).emitWithAck('question', 'q');
    const question = await hostile.client.next();
    assert.equal(question.event, 'question');
    hostile.send({ ack: question.ack, data: 'a' });
    await v1.client.next();
    v1.send({ ack: question.ack, data: 'b' });
    assert.deepEqual((await asked).sort(), ['a', 'b']);
    assertException(await hostile.request({ ack: question.ack, data: 'again' }), STRAY_ACK);

    hostile.assertNeverLearned([v1.id, v2.id, ...secrets]);
    await closeAll([hostile.client, v1.client]);
  });

  it('responses do not tell an existing room from a made-up one', async () => {
    const [hostile, victim] = await Promise.all([Watched.connect(app), Watched.connect(app)]);
    await victim.request({ event: 'join', data: { room: 'exists' } });
    // Leaving a room it is not in: the same answer whether the room exists or not.
    assert.deepEqual(
      await hostile.request({ event: 'leave', data: { room: 'exists' } }),
      await hostile.request({ event: 'leave', data: { room: 'made-up' } }),
    );
    // A room message: no answer either way.
    hostile.send({ event: 'say', data: { to: 'exists', text: 't' } });
    await assertNothingMore(app, hostile);
    hostile.send({ event: 'say', data: { to: 'made-up', text: 't' } });
    await assertNothingMore(app, hostile);
    // (The room message did reach the member: sending is allowed; knowing is not implied.)
    assert.deepEqual(await victim.client.next(), { event: 'said', data: 't' });
    await closeAll([hostile.client, victim.client]);
  });

  it('prototype keys as event names are unknown events and as room names are ordinary rooms', async () => {
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => Watched.connect(app)));
    const keys = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
    for (const key of keys) assertException(await a.request({ event: key, data: {} }), UNKNOWN_EVENT(key));
    const rooms = keys.slice(0, MAX_ROOMS);
    assert.deepEqual(await a.request({ event: 'join', data: { room: rooms } }), { event: 'joined' });
    assert.deepEqual(await b.request({ event: 'join', data: { room: rooms[0] } }), { event: 'joined' });
    const all = await app.rooms.allRooms();
    for (const room of rooms) assert.ok(all.has(room), `allRooms() lists ${room}`);
    for (const room of rooms) {
      app.rooms.to(room).emit('to', room);
      assert.deepEqual(await a.client.next(), { event: 'to', data: room });
      if (room === rooms[0]) assert.deepEqual(await b.client.next(), { event: 'to', data: room });
    }
    await assertNothingMore(app, a, b, c);
    assert.deepEqual(await a.request({ event: 'leave', data: { room: rooms } }), { event: 'left' });
    await closeAll([a.client, b.client, c.client]);
    await untilForgotten(app, [a.id, b.id, c.id]);
    const left = await app.rooms.allRooms();
    for (const room of rooms) assert.ok(!left.has(room), `${room} is gone`);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
    assert.deepEqual(Object.keys(Object.prototype), []);
  });

  it('fetchSockets, socketsJoin, serverSideEmit and @OnServerEvent have no client path', async () => {
    const serverOnly = app.app.get(ServerOnly);
    const [hostile, victim] = await Promise.all([Watched.connect(app), Watched.connect(app)]);
    const serverSide = [
      'fetchSockets',
      'socketsJoin',
      'socketsLeave',
      'disconnectSockets',
      'serverSideEmit',
      'serverSideEmitWithAck',
      'allRooms',
      'count',
      'emit',
      'emitWithAck',
      'to',
      'in',
      'cache:flush',
      'create-room',
      'join-room',
    ];
    for (const event of serverSide) {
      const frame = { event, data: { rooms: [victim.id], room: victim.id, args: [victim.id] } };
      assertException(await hostile.request(frame), UNKNOWN_EVENT(event));
    }
    // Frames shaped like the cluster protocol's messages are just frames without an event.
    for (const frame of [
      { t: 'b', n: 'node', r: [victim.id], x: [] },
      { t: 'q', k: 'join', r: [hostile.id], a: [victim.id] },
      { t: 'bye', n: 'node' },
    ]) {
      assertException(await hostile.request(frame as Frame), NO_EVENT);
    }
    assert.equal(serverOnly.flushes, 0, 'a client reached @OnServerEvent');
    assert.deepEqual(roomsOf(app, hostile.id), [hostile.id]);
    assert.deepEqual(membersOf(app, victim.id), [victim.id]);
    hostile.assertNeverLearned([victim.id]);
    await closeAll([hostile.client, victim.client]);
  });

  it('@BroadcastTo whose client-chosen room list is empty reaches nobody', async () => {
    const [sender, other, secret] = await Promise.all([1, 2, 3].map(() => Watched.connect(app)));
    await secret.request({ event: 'join', data: { room: 'secret:gamma' } });
    // No target room means "every socket" for server code; from a client's list of none it must mean nobody.
    sender.send({ event: 'say', data: { to: [], text: 'to nobody' } });
    sender.send({ event: 'rooms', id: 'done' });
    for (let frame = await sender.client.next(); frame.id !== 'done'; frame = await sender.client.next()) {
      assert.equal(frame.event, 'exception', `the sender got ${JSON.stringify(frame)}`);
    }
    await assertNothingMore(app, other, secret);
    await closeAll([sender.client, other.client, secret.client]);
  });
});

describe('private rooms across servers', () => {
  let apps: TestApp[];
  before(async () => {
    const broker = new InMemoryBroker();
    apps = [await startApp(privateModule({ broker })), await startApp(privateModule({ broker }))];
    await untilMeshed(apps);
  });
  after(() => Promise.all(apps.map((app) => app.close())));

  it("a client on one server cannot join a socket's id room on another, nor reach @OnServerEvent there", async () => {
    const [one, two] = apps;
    const victim = await Watched.connect(one);
    const hostile = await Watched.connect(two);
    assertException(await hostile.request({ event: 'join', data: { room: victim.id } }), PRIVATE_ROOM);
    assertException(await hostile.request({ event: 'join', data: { room: [victim.id, 'x'] } }), PRIVATE_ROOM);
    assertException(await hostile.request({ event: 'cache:flush' }), UNKNOWN_EVENT('cache:flush'));
    assert.equal(await two.rooms.in(victim.id).count(), 1, 'the id room holds the victim alone, cluster-wide');
    assert.deepEqual(membersOf(one, victim.id), [victim.id]);
    assert.deepEqual(membersOf(two, victim.id), []);
    assert.deepEqual(roomsOf(two, hostile.id), [hostile.id]);
    // A private message across servers is allowed (sending, not membership) and reaches the victim alone.
    hostile.send({ event: 'say', data: { to: victim.id, text: 'psst' } });
    assert.deepEqual(await victim.client.next(), { event: 'said', data: 'psst' });
    await assertNothingMore(two, hostile);
    // @OnServerEvent works, from server code only.
    assert.deepEqual(await two.rooms.serverSideEmitWithAck('cache:flush'), ['flushed']);
    assert.equal(one.app.get(ServerOnly).flushes, 1);
    assert.equal(two.app.get(ServerOnly).flushes, 0);
    await closeAll([hostile.client, victim.client]);
  });
});
