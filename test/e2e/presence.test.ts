/**
 * Presence on one server: track, re-track (replace), untrack, leave and disconnect, each seen as
 * exactly one `'presence'` diff, in order; and the inputs `track` refuses without changing anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PresenceMeta } from '../../lib/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { closeAll, TestClient } from '../support/client.js';
import { PresenceGateway, PresenceLog, presenceModule } from '../support/presence.fixture.js';

const entry = (meta: PresenceMeta) => ({ ...meta });

describe('presence on one server', () => {
  let app: TestApp;
  let log: PresenceLog;
  const clients: TestClient[] = [];
  const connect = async () => {
    const client = await TestClient.connect(app.url('/chat'));
    clients.push(client);
    return client;
  };

  before(async () => {
    app = await startApp(presenceModule({ maxMetaBytes: 64 }));
    log = new PresenceLog(app);
  });
  after(async () => {
    await closeAll(clients);
    await app.close();
  });

  it('track joins the room and shows the socket under its key, with one join diff', async () => {
    const a = await connect();
    const before = Date.now();
    assert.deepEqual(await a.request('track', { room: 'doc:1', key: 'alice', meta: { name: 'Alice' } }), {
      event: 'tracked',
      data: 'doc:1',
    });
    assert.ok(app.socket(a.id).rooms.has('doc:1'));
    const { room, diff } = await log.next();
    assert.equal(room, 'doc:1');
    assert.equal(Object.getPrototypeOf(diff.joins), null);
    assert.equal(Object.getPrototypeOf(diff.leaves), null);
    assert.deepEqual(Object.keys(diff.leaves), []);
    assert.deepEqual(Object.keys(diff.joins), ['alice']);
    const [joined] = diff.joins.alice;
    assert.deepEqual({ socketId: joined.socketId, meta: joined.meta }, { socketId: a.id, meta: { name: 'Alice' } });
    assert.ok(joined.since >= before && joined.since <= Date.now());
    const presence = app.rooms.presence('doc:1');
    assert.equal(Object.getPrototypeOf(presence), null);
    assert.deepEqual(Object.keys(presence), ['alice']);
    assert.deepEqual(presence.alice.map(entry), [entry(joined)]);
    assert.equal(Object.getPrototypeOf(app.rooms.presence('nobody here')), null);
    assert.deepEqual(Object.keys(app.rooms.presence('nobody here')), []);
    await a.close();
    await log.next();
  });

  it('several tabs share a key: one key, one entry per socket', async () => {
    const [tab1, tab2, other] = [await connect(), await connect(), await connect()];
    await tab1.request('track', { room: 'lobby', key: 'bob' });
    await tab2.request('track', { room: 'lobby', key: 'bob' });
    await other.request('track', { room: 'lobby', key: 'carol' });
    for (let i = 0; i < 3; i++) await log.next();
    const presence = app.rooms.presence('lobby');
    assert.deepEqual(Object.keys(presence).sort(), ['bob', 'carol']);
    assert.deepEqual(presence.bob.map((meta) => meta.socketId).sort(), [tab1.id, tab2.id].sort());
    assert.equal(presence.bob[0].meta, null);
    await closeAll([tab1, tab2, other]);
    for (let i = 0; i < 3; i++) await log.next();
    assert.deepEqual(Object.keys(app.rooms.presence('lobby')), []);
  });

  it('track again replaces key and meta in one diff; untrack, then leave, then disconnect each leave once, in order', async () => {
    const a = await connect();
    await a.request('track', { room: 'r', key: 'k1', meta: 1 });
    const first = (await log.next()).diff.joins.k1[0];
    await a.request('track', { room: 'r', key: 'k2', meta: 2 });
    const replaced = await log.next();
    assert.equal(replaced.room, 'r');
    assert.deepEqual(Object.keys(replaced.diff.leaves), ['k1']);
    assert.deepEqual(replaced.diff.leaves.k1.map(entry), [entry(first)]);
    assert.deepEqual(Object.keys(replaced.diff.joins), ['k2']);
    assert.deepEqual(
      replaced.diff.joins.k2.map(({ socketId, meta }) => ({ socketId, meta })),
      [{ socketId: a.id, meta: 2 }],
    );
    assert.deepEqual(Object.keys(app.rooms.presence('r')), ['k2']);
    const second = replaced.diff.joins.k2[0];

    assert.deepEqual(await a.request('untrack', { room: 'r' }), { event: 'untracked', data: 'r' });
    const untracked = await log.next();
    assert.deepEqual(Object.keys(untracked.diff.joins), []);
    assert.deepEqual(untracked.diff.leaves.k2.map(entry), [entry(second)]);
    assert.ok(app.socket(a.id).rooms.has('r'), 'untrack leaves the socket in the room');
    // Untracking what is not tracked changes nothing and says nothing.
    await a.request('untrack', { room: 'r' });

    await a.request('track', { room: 'r', key: 'k3' });
    await log.next();
    assert.deepEqual(await a.request('leave', { room: 'r' }), { event: 'left', data: 'r' });
    const left = await log.next();
    assert.deepEqual(Object.keys(left.diff.leaves), ['k3']);
    assert.deepEqual(Object.keys(app.rooms.presence('r')), []);

    await a.request('track', { room: 'x', key: 'k' });
    await a.request('track', { room: 'y', key: 'k' });
    await log.next();
    await log.next();
    await a.close();
    const gone = [await log.next(), await log.next()];
    assert.deepEqual(gone.map((event) => event.room).sort(), ['x', 'y']);
    for (const { diff } of gone) {
      assert.deepEqual(Object.keys(diff.joins), []);
      assert.deepEqual(
        diff.leaves.k.map((meta) => meta.socketId),
        [a.id],
      );
    }
    // @OnDisconnecting ran while the socket was still tracked.
    const seen = app.app.get(PresenceGateway).atDisconnecting.get(a.id)!;
    assert.deepEqual(Object.keys(seen.x), ['k']);
    assert.equal(log.unread, 0);
  });

  it('server code leaving the socket from the room (socketsLeave) untracks it', async () => {
    const a = await connect();
    await a.request('track', { room: 'team', key: 'dana' });
    await log.next();
    await app.rooms.in(a.id).socketsLeave('team');
    assert.deepEqual(Object.keys((await log.next()).diff.leaves), ['dana']);
    await a.close();
  });

  it('refuses bad keys, oversized or unserialisable meta and socket id rooms, changing nothing', async () => {
    const a = await connect();
    const b = await connect();
    await a.request('track', { room: 'kept', key: 'me', meta: 'before' });
    await log.next();
    const refusals: Array<[unknown, string]> = [
      [{ room: 'kept', key: '' }, 'A presence key must be a string of 1 to 256 characters.'],
      [{ room: 'kept', key: 'x'.repeat(257) }, 'A presence key must be a string of 1 to 256 characters.'],
      [{ room: 'kept', key: 42 }, 'A presence key must be a string of 1 to 256 characters.'],
      [{ room: 'kept', key: 'me', meta: 'é'.repeat(32) }, 'Presence meta must be at most 64 bytes of JSON.'],
      [{ room: 'other', key: 'me', meta: { text: 'y'.repeat(60) } }, 'Presence meta must be at most 64 bytes of JSON.'],
      [{ room: b.id, key: 'me' }, 'Socket id rooms are private: presence cannot be tracked in one.'],
      [{ room: a.id, key: 'me' }, 'Socket id rooms are private: presence cannot be tracked in one.'],
      [{ room: '', key: 'me' }, 'Room names must be non-empty strings of at most 256 characters.'],
    ];
    for (const [data, message] of refusals) {
      const reply = await a.request('track', data);
      assert.equal(reply.event, 'exception', JSON.stringify(data));
      assert.equal(reply.data.message, message);
    }
    // 256 characters in code points (emoji count once) is a valid key, and 64 bytes exactly a valid meta.
    await a.request('track', { room: 'edge', key: '😀'.repeat(256), meta: 'a'.repeat(62) });
    assert.deepEqual(Object.keys((await log.next()).diff.joins), ['😀'.repeat(256)]);
    assert.equal(log.unread, 0, 'no refusal made a diff');
    assert.deepEqual(
      app.rooms.presence('kept').me.map((meta) => meta.meta),
      ['before'],
    );
    assert.deepEqual(Object.keys(app.rooms.presence(b.id)), []);
    assert.deepEqual([...app.socket(a.id).rooms].sort(), [a.id, 'edge', 'kept'].sort());
    assert.deepEqual([...app.socket(b.id).rooms], [b.id]);
    assert.deepEqual(await b.request('echo', { event: 'ok' }), { event: 'ok' });
    await closeAll([a, b]);
    await log.next();
    await log.next();
  });

  it('refuses meta JSON cannot hold (server code), keeping a copy of what it accepts', async () => {
    const a = await connect();
    const socket = app.socket(a.id);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await assert.rejects(socket.track('m', 'k', circular), /Presence meta cannot be serialised to JSON/);
    await assert.rejects(socket.track('m', 'k', 10n), /Presence meta cannot be serialised to JSON/);
    await assert.rejects(
      socket.track('m', 'k', () => 1),
      /Presence meta cannot be serialised to JSON/,
    );
    assert.ok(!socket.rooms.has('m'));
    assert.equal(log.unread, 0);
    const meta = { name: 'Eve' };
    await socket.track('m', 'k', meta);
    meta.name = 'changed';
    assert.deepEqual(app.rooms.presence('m').k[0].meta, { name: 'Eve' });
    assert.ok(Object.isFrozen(app.rooms.presence('m').k[0]));
    await log.next();
    await a.close();
    await log.next();
  });
});
