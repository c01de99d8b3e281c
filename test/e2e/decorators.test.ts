import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { INVALID_ROOM_NAME, JOIN_REFUSED, PRIVATE_ROOM, ROOM_LIMIT } from '../../lib/rooms.messages.js';
import { startApp, type TestApp } from '../support/app.js';
import { closeAll, TestClient, type Frame } from '../support/client.js';
import {
  asyncCanJoin,
  canJoinCalls,
  decoratorsModule,
  DecoratorsGateway,
  syncCanJoin,
} from '../support/decorators.fixture.js';

function assertException(frame: Frame, message: string): void {
  assert.equal(frame.event, 'exception', `expected an exception frame, got ${JSON.stringify(frame)}`);
  assert.equal(frame.data?.status, 'error');
  assert.equal(frame.data?.message, message);
}

/** The socket's rooms as its handlers see them (own id first). */
async function roomsOf(client: TestClient): Promise<string[]> {
  const frame = await client.request('rooms');
  assert.equal(frame.event, 'rooms', `expected the rooms reply, got ${JSON.stringify(frame)}`);
  return frame.data as string[];
}

/** Proves each client got nothing more: the very next frame is a marker sent to it now. */
async function assertNothingMore(app: TestApp, ...clients: TestClient[]): Promise<void> {
  for (const client of clients) app.rooms.to(client.id).emit('marker', client.id);
  for (const client of clients) assert.deepEqual(await client.next(), { event: 'marker', data: client.id });
}

async function memberIds(app: TestApp, room: string): Promise<string[]> {
  return (await app.rooms.in(room).fetchSockets()).map((socket) => socket.id).sort();
}

async function connect(app: TestApp, count: number, path = '/deco'): Promise<TestClient[]> {
  return Promise.all(Array.from({ length: count }, () => TestClient.connect(app.url(path))));
}

describe('@JoinRoom, @LeaveRoom, @BroadcastTo and RoomSocket from handlers', () => {
  /** No options: default limits, no canJoin. */
  let app: TestApp;
  /** Sync canJoin (refuses `deny*`), at most 3 rooms per socket, names of at most 10 characters. */
  let syncApp: TestApp;
  /** Async canJoin (refuses `deny*`). */
  let asyncApp: TestApp;
  const gateway = (of: TestApp) => of.app.get(DecoratorsGateway);

  before(async () => {
    [app, syncApp, asyncApp] = await Promise.all([
      startApp(decoratorsModule()),
      startApp(decoratorsModule({ canJoin: syncCanJoin, maxRoomsPerSocket: 3, maxRoomNameLength: 10 })),
      startApp(decoratorsModule({ canJoin: asyncCanJoin })),
    ]);
  });
  after(async () => {
    await Promise.all([app.close(), syncApp.close(), asyncApp.close()]);
  });

  it('@JoinRoom with a string joins that room once the handler has run', async () => {
    const [a, other] = await connect(app, 2);
    const reply = await a.request('joinFixed');
    // The handler ran before the join: it saw only the own id room.
    assert.deepEqual(reply, { event: 'joined', data: { inHandler: [a.id] } });
    assert.deepEqual(await roomsOf(a), [a.id, 'fixed-room']);
    assert.deepEqual(await memberIds(app, 'fixed-room'), [a.id]);
    app.rooms.to('fixed-room').emit('news', 1);
    assert.deepEqual(await a.next(), { event: 'news', data: 1 });
    await assertNothingMore(app, a, other);
    await closeAll([a, other]);
  });

  it('@JoinRoom with an array joins every room of it', async () => {
    const [a] = await connect(app, 1);
    assert.deepEqual(await a.request('joinFixedArray'), { event: 'joined', data: { inHandler: [a.id] } });
    assert.deepEqual(await roomsOf(a), [a.id, 'fixed-a', 'fixed-b']);
    app.rooms.to('fixed-b').emit('news', 'b');
    assert.deepEqual(await a.next(), { event: 'news', data: 'b' });
    await a.close();
  });

  it('@JoinRoom with a sync function joins what it computes from (data, socket)', async () => {
    const [a, b] = await connect(app, 2);
    assert.deepEqual(await a.request('joinMine', { room: 'team' }), { event: 'joined', data: { inHandler: [a.id] } });
    assert.deepEqual(await roomsOf(a), [a.id, `team:${a.id}`]);
    // A function returning an array: every room of it.
    await b.request('join', { room: ['fn-1', 'fn-2'] });
    assert.deepEqual(await roomsOf(b), [b.id, 'fn-1', 'fn-2']);
    app.rooms.to(`team:${a.id}`).emit('mine');
    app.rooms.to('fn-2').emit('yours');
    assert.deepEqual(await a.next(), { event: 'mine' });
    assert.deepEqual(await b.next(), { event: 'yours' });
    await assertNothingMore(app, a, b);
    await closeAll([a, b]);
  });

  it('@JoinRoom with an async function joins what it resolves to', async () => {
    const [a] = await connect(app, 1);
    assert.deepEqual(await a.request('joinAsync', { room: 'async-1' }), {
      event: 'joined',
      data: { inHandler: [a.id] },
    });
    await a.request('joinAsync', { room: ['async-2', 'async-3'] });
    assert.deepEqual(await roomsOf(a), [a.id, 'async-1', 'async-2', 'async-3']);
    app.rooms.to('async-3').emit('news');
    assert.deepEqual(await a.next(), { event: 'news' });
    await a.close();
  });

  it('@JoinRoom on a promise-returning handler joins after the handler and before its reply is written', async () => {
    const [a, b] = await connect(app, 2);
    const room = 'ordered-promise';
    await b.request('join', { room });
    const onJoin = (joined: string, id: string) => {
      if (joined === room) app.rooms.to(room).emit('member-joined', id);
    };
    app.rooms.on('join-room', onJoin);
    try {
      a.send({ event: 'slowJoin', data: { room } });
      // The handler's own broadcasts (before it returned) reached the member, not the joiner.
      assert.deepEqual(await b.next(), { event: 'before-join', data: a.id });
      assert.deepEqual(await b.next(), { event: 'still-before', data: a.id });
      assert.deepEqual(await b.next(), { event: 'member-joined', data: a.id });
      // The joiner was in the room when the join happened, which was before its reply.
      assert.deepEqual(await a.next(), { event: 'member-joined', data: a.id });
      assert.deepEqual(await a.next(), { event: 'slow-joined', data: { inHandler: [a.id] } });
      // As soon as the reply is in, the room has it: a broadcast triggered now reaches it.
      assert.deepEqual(await memberIds(app, room), [a.id, b.id].sort());
      assert.equal(await app.rooms.in(room).count(), 2);
      app.rooms.to(room).emit('after-reply', 1);
      assert.deepEqual(await a.next(), { event: 'after-reply', data: 1 });
      assert.deepEqual(await b.next(), { event: 'after-reply', data: 1 });
      await assertNothingMore(app, a, b);
    } finally {
      app.rooms.off('join-room', onJoin);
    }
    await closeAll([a, b]);
  });

  it('@JoinRoom on an Observable handler joins before the first of its replies', async () => {
    const [a, b] = await connect(app, 2);
    const room = 'ordered-stream';
    await b.request('join', { room });
    const onJoin = (joined: string, id: string) => {
      if (joined === room) app.rooms.to(room).emit('member-joined', id);
    };
    app.rooms.on('join-room', onJoin);
    try {
      a.send({ event: 'streamJoin', data: { room } });
      assert.deepEqual(await b.next(), { event: 'before-join', data: a.id });
      assert.deepEqual(await b.next(), { event: 'member-joined', data: a.id });
      assert.deepEqual(await a.next(), { event: 'member-joined', data: a.id });
      assert.deepEqual(await a.next(), { event: 'part', data: 1 });
      assert.deepEqual(await a.next(), { event: 'part', data: 2 });
      assert.deepEqual(await memberIds(app, room), [a.id, b.id].sort());
      app.rooms.to(room).emit('after-reply');
      assert.deepEqual(await a.next(), { event: 'after-reply' });
      assert.deepEqual(await b.next(), { event: 'after-reply' });
      await assertNothingMore(app, a, b);
    } finally {
      app.rooms.off('join-room', onJoin);
    }
    await closeAll([a, b]);
  });

  it('@JoinRoom joins nothing when a guard denies', async () => {
    const [a] = await connect(app, 1);
    await a.request('join', { room: 'before-guard' });
    const calls = gateway(app).calledTimes('guardedJoin');
    assertException(await a.request('guardedJoin', { allow: false }), 'Forbidden resource');
    assert.deepEqual(await roomsOf(a), [a.id, 'before-guard']);
    assert.equal(gateway(app).calledTimes('guardedJoin'), calls);
    assert.equal(await app.rooms.in('guarded-room').count(), 0);
    // The same handler, let through, does join: the refusal above was the guard's doing.
    assert.deepEqual(await a.request('guardedJoin', { allow: true }), { event: 'joined', data: 'guarded-room' });
    assert.deepEqual(await roomsOf(a), [a.id, 'before-guard', 'guarded-room']);
    await a.close();
  });

  it('@JoinRoom joins nothing when the handler throws, rejects or errors', async () => {
    const [a] = await connect(app, 1);
    await a.request('join', { room: 'kept' });
    for (const mode of ['throw', 'reject', 'observable']) {
      const calls = gateway(app).calledTimes('failJoin');
      assertException(await a.request('failJoin', { mode }), 'handler failed');
      assert.equal(gateway(app).calledTimes('failJoin'), calls + 1, `the ${mode} handler ran`);
      assert.deepEqual(await roomsOf(a), [a.id, 'kept'], `rooms after a handler that did ${mode}`);
    }
    assert.equal(await app.rooms.in('fail-room').count(), 0);
    assert.equal((await app.rooms.allRooms()).has('fail-room'), false);
    await a.close();
  });

  for (const kind of ['sync', 'async'] as const) {
    it(`canJoin (${kind}) refusing answers with an exception frame, skips the handler and joins nothing`, async () => {
      const target = kind === 'sync' ? syncApp : asyncApp;
      const [a] = await connect(target, 1);
      const calls = gateway(target).calledTimes('join');

      assertException(await a.request('join', { room: 'deny-1' }), JOIN_REFUSED('deny-1'));
      assert.deepEqual(await roomsOf(a), [a.id]);
      assert.equal(gateway(target).calledTimes('join'), calls);
      assert.ok(
        canJoinCalls.some((call) => call.kind === kind && call.socketId === a.id && call.room === 'deny-1'),
        'canJoin was asked with the socket and the room',
      );

      // All or nothing: one refused room of an array and none is joined.
      assertException(await a.request('join', { room: ['ok-1', 'deny-2'] }), JOIN_REFUSED('deny-2'));
      assert.deepEqual(await roomsOf(a), [a.id]);
      assert.equal(await target.rooms.in('ok-1').count(), 0);
      assert.equal(gateway(target).calledTimes('join'), calls);

      // The same selector with allowed rooms goes through.
      assert.deepEqual(await a.request('join', { room: ['ok-1', 'ok-2'] }), {
        event: 'joined',
        data: { inHandler: [a.id] },
      });
      assert.equal(gateway(target).calledTimes('join'), calls + 1);
      assert.deepEqual(await roomsOf(a), [a.id, 'ok-1', 'ok-2']);

      // canJoin is for decorator joins only: handler code may join a `deny` room.
      assert.deepEqual(await a.request('selfJoin', { room: 'deny-3' }), {
        event: 'self-joined',
        data: [a.id, 'ok-1', 'ok-2', 'deny-3'],
      });
      await a.close();
    });
  }

  it('maxRoomsPerSocket (own id room aside) refuses before the handler, all or nothing', async () => {
    const [a, b] = await connect(syncApp, 2);
    const calls = () => gateway(syncApp).calledTimes('join');
    const start = calls();

    // Three rooms plus the own id room: at the limit, not over it.
    await a.request('join', { room: ['l1', 'l2', 'l3'] });
    assert.deepEqual(await roomsOf(a), [a.id, 'l1', 'l2', 'l3']);
    assert.equal(calls(), start + 1);

    assertException(await a.request('join', { room: 'l4' }), ROOM_LIMIT(3));
    assertException(await a.request('joinAsync', { room: 'l4' }), ROOM_LIMIT(3));
    assert.deepEqual(await roomsOf(a), [a.id, 'l1', 'l2', 'l3']);
    assert.equal(calls(), start + 1);
    assert.equal(gateway(syncApp).calledTimes('joinAsync'), 0);
    // Rooms it is already in take no extra room.
    assert.deepEqual(await a.request('join', { room: ['l1', 'l3'] }), {
      event: 'joined',
      data: { inHandler: [a.id, 'l1', 'l2', 'l3'] },
    });
    assert.equal(calls(), start + 2);

    // All or nothing: one room in, three more asked for, none joined.
    await b.request('join', { room: 'l1' });
    assertException(await b.request('join', { room: ['m1', 'm2', 'm3'] }), ROOM_LIMIT(3));
    assert.deepEqual(await roomsOf(b), [b.id, 'l1']);
    assert.equal(await syncApp.rooms.in('m1').count(), 0);
    assert.equal(calls(), start + 3);

    // The limit holds for joins from handler code too.
    assertException(await a.request('selfJoin', { room: 'l4' }), ROOM_LIMIT(3));
    assert.deepEqual(await roomsOf(a), [a.id, 'l1', 'l2', 'l3']);
    await closeAll([a, b]);
  });

  it('maxRoomNameLength, empty and non-string names are refused before the handler, all or nothing', async () => {
    const [a] = await connect(syncApp, 1);
    const calls = () => gateway(syncApp).calledTimes('join');
    const start = calls();

    // Ten characters is the limit, counted in characters, not bytes.
    await a.request('join', { room: ['abcdefghij', 'éééééééééé'] });
    assert.deepEqual(await roomsOf(a), [a.id, 'abcdefghij', 'éééééééééé']);
    assert.equal(calls(), start + 1);

    const invalid = INVALID_ROOM_NAME(10);
    for (const room of ['abcdefghijk', '', 42, null, {}, ['ok', ''], ['ok', 7], ['ok', 'abcdefghijk']]) {
      assertException(await a.request('join', { room }), invalid);
      assert.deepEqual(await roomsOf(a), [a.id, 'abcdefghij', 'éééééééééé'], `rooms after ${JSON.stringify(room)}`);
    }
    assertException(await a.request('join', {}), invalid);
    assertException(await a.request('joinAsync', { room: 'abcdefghijk' }), invalid);
    assert.equal(calls(), start + 1);
    assert.equal(gateway(syncApp).calledTimes('joinAsync'), 0);
    assert.equal(await syncApp.rooms.in('ok').count(), 0);
    await a.close();

    // The default limit is 256 characters.
    const [b] = await connect(app, 1);
    assertException(await b.request('join', { room: 'x'.repeat(257) }), INVALID_ROOM_NAME(256));
    assert.deepEqual(await roomsOf(b), [b.id]);
    await b.request('join', { room: 'x'.repeat(256) });
    assert.deepEqual(await roomsOf(b), [b.id, 'x'.repeat(256)]);
    await b.close();
  });

  it('a decorator join of a socket-id-shaped name is refused, another live socket id included', async () => {
    const [a, b] = await connect(app, 2);
    const calls = () => gateway(app).calledTimes('join');
    const start = calls();

    assertException(await a.request('join', { room: b.id }), PRIVATE_ROOM);
    assertException(await a.request('join', { room: ['fine', b.id] }), PRIVATE_ROOM);
    assertException(await a.request('joinAsync', { room: b.id }), PRIVATE_ROOM);
    assertException(await a.request('join', { room: 'A'.repeat(22) }), PRIVATE_ROOM);
    assertException(await a.request('join', { room: a.id }), PRIVATE_ROOM);
    assert.deepEqual(await roomsOf(a), [a.id]);
    assert.equal(calls(), start);
    assert.equal(await app.rooms.in('fine').count(), 0);

    // Only that exact shape is private: 21 characters, or 22 that are not all base64url, are fine.
    const short = 'A'.repeat(21);
    const dotted = 'room.with.dots.22chars';
    assert.equal(dotted.length, 22);
    await a.request('join', { room: [short, dotted] });
    assert.deepEqual(await roomsOf(a), [a.id, short, dotted]);

    // b's private messages still go to b alone.
    assert.deepEqual(await memberIds(app, b.id), [b.id]);
    app.rooms.to(b.id).emit('private', 'for b');
    assert.deepEqual(await b.next(), { event: 'private', data: 'for b' });
    await assertNothingMore(app, a, b);
    await closeAll([a, b]);
  });

  it('@LeaveRoom leaves after the handler; leaving a room it is not in does nothing', async () => {
    const [a, b] = await connect(app, 2);
    await a.request('join', { room: ['lv1', 'lv2'] });
    await b.request('join', { room: 'lv1' });

    // The handler still saw lv1.
    assert.deepEqual(await a.request('leave', { room: 'lv1' }), {
      event: 'left',
      data: { inHandler: [a.id, 'lv1', 'lv2'] },
    });
    assert.deepEqual(await roomsOf(a), [a.id, 'lv2']);
    app.rooms.to('lv1').emit('lv1-news');
    assert.deepEqual(await b.next(), { event: 'lv1-news' });
    await assertNothingMore(app, a);

    const calls = gateway(app).calledTimes('leave');
    assert.deepEqual(await a.request('leave', { room: 'never-joined' }), {
      event: 'left',
      data: { inHandler: [a.id, 'lv2'] },
    });
    assert.equal(gateway(app).calledTimes('leave'), calls + 1);
    assert.deepEqual(await roomsOf(a), [a.id, 'lv2']);

    await a.request('leave', { room: ['lv2', 'never-either'] });
    assert.deepEqual(await roomsOf(a), [a.id]);
    assert.deepEqual(await roomsOf(b), [b.id, 'lv1']);
    await closeAll([a, b]);
  });

  it('@BroadcastTo sends the WsResponse to the rooms instead of replying, sender excluded', async () => {
    const [a, b, c, d] = await connect(app, 4);
    await Promise.all([a, b, c].map((client) => client.request('join', { room: 'bt' })));
    const calls = gateway(app).calledTimes('say');

    a.send({ event: 'say', data: { room: 'bt', text: 'hi' } });
    const said = { event: 'said', data: { from: a.id, text: 'hi' } };
    assert.deepEqual(await b.next(), said);
    assert.deepEqual(await c.next(), said);
    // Neither a reply nor the broadcast for the sender; nothing for the non-member.
    await assertNothingMore(app, a, d);
    assert.equal(gateway(app).calledTimes('say'), calls + 1);

    // Several rooms: each member once.
    await Promise.all([c, d].map((client) => client.request('join', { room: 'bt2' })));
    a.send({ event: 'say', data: { room: ['bt', 'bt2'], text: 'both' } });
    const both = { event: 'said', data: { from: a.id, text: 'both' } };
    for (const client of [b, c, d]) assert.deepEqual(await client.next(), both);
    await assertNothingMore(app, a, b, c, d);
    await closeAll([a, b, c, d]);
  });

  it('@BroadcastTo with exceptSender: false includes the sender, once, and still sends no reply', async () => {
    const [a, b, c] = await connect(app, 3);
    await Promise.all([a, b].map((client) => client.request('join', { room: 'ba' })));
    a.send({ event: 'sayAll', data: { room: 'ba', text: 'all' } });
    const said = { event: 'said', data: { from: a.id, text: 'all' } };
    assert.deepEqual(await a.next(), said);
    assert.deepEqual(await b.next(), said);
    await assertNothingMore(app, a, b, c);
    await closeAll([a, b, c]);
  });

  it('@BroadcastTo broadcasts a non-WsResponse return under the inbound event name', async () => {
    const [a, b, c] = await connect(app, 3);
    await Promise.all([a, b].map((client) => client.request('join', { room: 'stage' })));
    a.send({ event: 'shout', data: { text: 'hey' } });
    assert.deepEqual(await b.next(), { event: 'shout', data: { text: 'HEY' } });
    await assertNothingMore(app, a, b, c);
    await closeAll([a, b, c]);
  });

  it('@BroadcastTo a socket id is a private message to that socket only', async () => {
    const [a, b, c] = await connect(app, 3);
    a.send({ event: 'whisper', data: { to: b.id, text: 'psst' } });
    assert.deepEqual(await b.next(), { event: 'whisper', data: { from: a.id, text: 'psst' } });
    await assertNothingMore(app, a, b, c);
    c.send({ event: 'whisper', data: { to: a.id, text: 'back' } });
    assert.deepEqual(await a.next(), { event: 'whisper', data: { from: c.id, text: 'back' } });
    await assertNothingMore(app, a, b, c);
    await closeAll([a, b, c]);
  });

  it('@JoinRoom with @BroadcastTo on one handler joins first, then broadcasts (either decorator order)', async () => {
    const [a, b, c, outsider] = await connect(app, 4);
    await b.request('join', { room: 'jb' });

    a.send({ event: 'joinThenSay', data: { room: 'jb' } });
    const fromA = { event: 'hello', data: { from: a.id, inHandler: false } };
    // The sender is included (exceptSender: false), so it hears it only because it had joined.
    assert.deepEqual(await a.next(), fromA);
    assert.deepEqual(await b.next(), fromA);
    await assertNothingMore(app, a, b, outsider);
    assert.deepEqual(await roomsOf(a), [a.id, 'jb']);

    c.send({ event: 'sayThenJoin', data: { room: 'jb' } });
    const fromC = { event: 'hello', data: { from: c.id, inHandler: false } };
    for (const client of [a, b, c]) assert.deepEqual(await client.next(), fromC);
    await assertNothingMore(app, a, b, c, outsider);
    assert.deepEqual(await roomsOf(c), [c.id, 'jb']);
    await closeAll([a, b, c, outsider]);
  });

  it('RoomSocket to/in/broadcast/except from a handler leave the sender out', async () => {
    const [a, b, c] = await connect(app, 3);
    await Promise.all([a, b].map((client) => client.request('join', { room: 'rs' })));

    for (const mode of ['to', 'in'] as const) {
      // Broadcasts are written before the reply: a sender that got one would see it first.
      assert.deepEqual(await a.request('relay', { mode, rooms: 'rs', text: mode }), {
        event: 'relay-done',
        data: mode,
      });
      assert.deepEqual(await b.next(), { event: 'relayed', data: { from: a.id, text: mode } });
      await assertNothingMore(app, a, b, c);
    }

    assert.deepEqual(await a.request('relay', { mode: 'broadcast', text: 'everyone' }), {
      event: 'relay-done',
      data: 'broadcast',
    });
    assert.deepEqual(await b.next(), { event: 'relayed', data: { from: a.id, text: 'everyone' } });
    assert.deepEqual(await c.next(), { event: 'relayed', data: { from: a.id, text: 'everyone' } });
    await assertNothingMore(app, a, b, c);

    // c is the only socket that is neither the sender nor in rs.
    assert.deepEqual(await a.request('relay', { mode: 'except', rooms: 'rs', text: 'not rs' }), {
      event: 'relay-done',
      data: 'except',
    });
    assert.deepEqual(await c.next(), { event: 'relayed', data: { from: a.id, text: 'not rs' } });
    await assertNothingMore(app, a, b, c);
    await closeAll([a, b, c]);
  });

  it('RoomSocket join and leave from handler code', async () => {
    const [a] = await connect(app, 1);
    assert.deepEqual(await a.request('selfJoin', { room: 'sj1' }), { event: 'self-joined', data: [a.id, 'sj1'] });
    assert.deepEqual(await a.request('selfJoin', { room: ['sj2', 'sj3'] }), {
      event: 'self-joined',
      data: [a.id, 'sj1', 'sj2', 'sj3'],
    });
    app.rooms.to('sj3').emit('sj3-news');
    assert.deepEqual(await a.next(), { event: 'sj3-news' });

    assert.deepEqual(await a.request('selfLeave', { room: 'sj1' }), { event: 'self-left', data: [a.id, 'sj2', 'sj3'] });
    app.rooms.to('sj1').emit('sj1-news');
    await assertNothingMore(app, a);
    assert.deepEqual(await a.request('selfLeave', { room: 'not-in-it' }), {
      event: 'self-left',
      data: [a.id, 'sj2', 'sj3'],
    });
    assert.deepEqual(await a.request('selfLeave', { room: ['sj2', 'sj3'] }), { event: 'self-left', data: [a.id] });
    assert.equal(await app.rooms.in('sj2').count(), 0);
    await a.close();
  });

  it('socket.data persists between messages, per socket, and travels with fetchSockets', async () => {
    const [a, b] = await connect(app, 2);
    assert.deepEqual(await a.request('remember', { name: 'ann' }), {
      event: 'remembered',
      data: { name: 'ann', seen: 1 },
    });
    assert.deepEqual(await a.request('recall'), { event: 'recalled', data: { name: 'ann', seen: 2 } });
    assert.deepEqual(await b.request('recall'), { event: 'recalled', data: { seen: 1 } });
    const [remote] = await app.rooms.in(a.id).fetchSockets();
    assert.deepEqual(remote.data, { name: 'ann', seen: 2 });
    await closeAll([a, b]);
  });

  it('socket.handshake has the address, the url with its query string, and the headers', async () => {
    const a = await TestClient.connect(app.url('/deco?user=ann&n=1'), { headers: { 'x-custom-header': 'hello' } });
    const { event, data } = await a.request('handshake');
    assert.equal(event, 'handshake');
    assert.equal(data.address, '127.0.0.1');
    assert.equal(data.url, '/deco?user=ann&n=1');
    assert.equal(data.headers['x-custom-header'], 'hello');
    assert.equal(data.headers.host, `127.0.0.1:${app.port}`);
    const [remote] = await app.rooms.in(a.id).fetchSockets();
    assert.equal(remote.handshake.url, '/deco?user=ann&n=1');
    assert.equal(remote.handshake.headers['x-custom-header'], 'hello');
    await a.close();
  });

  it('socket.disconnect() sends a close frame (1000)', async () => {
    const [a, b] = await connect(app, 2);
    a.send({ event: 'kickMe', data: {} });
    b.send({ event: 'kickMe', data: { terminate: false } });
    assert.equal((await a.closed).code, 1000);
    assert.equal((await b.closed).code, 1000);
  });

  it('socket.disconnect(true) terminates the connection (1006 on the client)', async () => {
    const [a, bystander] = await connect(app, 2);
    a.send({ event: 'kickMe', data: { terminate: true } });
    assert.equal((await a.closed).code, 1006);
    // The server goes on serving the others.
    assert.deepEqual(await roomsOf(bystander), [bystander.id]);
    await bystander.close();
  });
});
