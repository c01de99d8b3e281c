/**
 * Presence across three servers on a private Redis: a change on one shows on the others as one
 * diff each; after 1,000 random track/untrack/disconnect operations every server's view equals a
 * plain model and each fired exactly one event per change; a server that starts late learns every
 * entry; and entries changed on both sides of a Redis outage converge once it is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { PresenceDiff, PresenceEntries } from '../../lib/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { closeAll, TestClient } from '../support/client.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { redisBroker } from '../support/fault-helpers.js';
import { canonical, PresenceLog, presenceModule } from '../support/presence.fixture.js';
import { RedisProcess } from '../support/redis-server.js';
import { untilBrokerStatus, untilMeshed } from '../support/timing.js';

const ROOMS = ['doc:1', 'doc:2', 'lobby', '__proto__', 'constructor'];
const KEYS = ['ann', 'ben', 'cat', '__proto__', 'toString'];
const CLIENTS_PER_SERVER = 4;

/** Every room's view on `app`, canonical. */
function views(app: TestApp, rooms: readonly string[] = ROOMS) {
  return rooms.map((room) => [room, canonical(app.rooms.presence(room))]);
}

/** The views of every app agree with each other (and are returned). */
function agreed(apps: TestApp[], rooms?: readonly string[]) {
  const first = JSON.stringify(views(apps[0], rooms));
  return apps.every((app) => JSON.stringify(views(app, rooms)) === first);
}

/** Replays `events` (one server's diffs, in order) on empty rooms: what that server's listeners could build. */
function replay(events: ReadonlyArray<{ room: string; diff: PresenceDiff }>): Map<string, Map<string, string>> {
  const rooms = new Map<string, Map<string, string>>();
  for (const { room, diff } of events) {
    const entries = rooms.get(room) ?? new Map<string, string>();
    rooms.set(room, entries);
    for (const [key, metas] of Object.entries(diff.leaves)) {
      for (const meta of metas) assert.ok(entries.delete(`${key}/${meta.socketId}`), `a leave of something joined`);
    }
    for (const [key, metas] of Object.entries(diff.joins)) {
      for (const meta of metas) entries.set(`${key}/${meta.socketId}`, JSON.stringify(meta));
    }
  }
  return rooms;
}

function flatten(room: string, entries: PresenceEntries): Map<string, string> {
  const flat = new Map<string, string>();
  for (const [key, metas] of Object.entries(entries)) {
    for (const meta of metas) flat.set(`${key}/${meta.socketId}`, JSON.stringify(meta));
  }
  void room;
  return flat;
}

describe('presence across three servers on Redis', () => {
  let redis: RedisProcess;
  let apps: TestApp[] = [];
  let logs: PresenceLog[] = [];
  const clients: TestClient[] = [];

  before(async () => {
    redis = await RedisProcess.start();
    apps = await startCluster(3, () => presenceModule({ broker: redisBroker(redis) }));
    await untilMeshed(apps);
    logs = apps.map((app) => new PresenceLog(app));
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps);
    await redis.dispose();
  });

  const connect = async (app: TestApp) => {
    const client = await TestClient.connect(app.url('/chat'));
    clients.push(client);
    return client;
  };

  it('a track on one server shows on the others as the same one diff, and so does its untrack', async () => {
    const client = await connect(apps[0]);
    await client.request('track', { room: 'doc:1', key: 'ann', meta: { tab: 1 } });
    const seen = await Promise.all(logs.map((log) => log.next()));
    for (const { room, diff } of seen) {
      assert.equal(room, 'doc:1');
      assert.equal(Object.getPrototypeOf(diff.joins), null);
      assert.deepEqual(Object.keys(diff.leaves), []);
      assert.deepEqual(
        diff.joins.ann.map((meta) => ({ ...meta })),
        seen[0].diff.joins.ann.map((meta) => ({ ...meta })),
      );
    }
    assert.equal(seen[0].diff.joins.ann[0].socketId, client.id);
    for (const app of apps) assert.equal(Object.getPrototypeOf(app.rooms.presence('doc:1')), null);
    assert.ok(agreed(apps));
    await client.request('untrack', { room: 'doc:1' });
    for (const { diff } of await Promise.all(logs.map((log) => log.next()))) {
      assert.deepEqual(Object.keys(diff.joins), []);
      assert.deepEqual(
        diff.leaves.ann.map((meta) => meta.socketId),
        [client.id],
      );
    }
    assert.deepEqual(Object.keys(apps[2].rooms.presence('doc:1')), []);
  });

  it('after 1,000 random track/untrack/disconnect operations all views equal the model, one event per change each', async () => {
    type Op =
      | { kind: 'track'; client: number; room: number; key: number; meta: number }
      | { kind: 'untrack'; client: number; room: number }
      | { kind: 'disconnect'; client: number };
    const client = fc.nat({ max: 3 * CLIENTS_PER_SERVER - 1 });
    const room = fc.nat({ max: ROOMS.length - 1 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('track' as const),
          client,
          room,
          key: fc.nat({ max: KEYS.length - 1 }),
          meta: fc.nat({ max: 3 }),
        }),
      },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('untrack' as const), client, room }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('disconnect' as const), client }) },
    );
    const [ops] = fc.sample(fc.array(op, { minLength: 1000, maxLength: 1000 }), { numRuns: 1, seed: Date.now() });

    const slots: TestClient[] = [];
    for (let i = 0; i < 3 * CLIENTS_PER_SERVER; i++) slots.push(await connect(apps[i % 3]));
    // The model: socket id -> room -> "key/meta".
    const model = new Map<string, Map<string, { key: string; meta: number }>>();
    const start = logs.map((log) => log.events.length);
    let changes = 0;
    for (const step of ops) {
      const socket = slots[step.client];
      const tracked = model.get(socket.id) ?? new Map<string, { key: string; meta: number }>();
      model.set(socket.id, tracked);
      if (step.kind === 'track') {
        await socket.request('track', { room: ROOMS[step.room], key: KEYS[step.key], meta: { n: step.meta } });
        tracked.set(ROOMS[step.room], { key: KEYS[step.key], meta: step.meta });
        changes++;
      } else if (step.kind === 'untrack') {
        await socket.request('untrack', { room: ROOMS[step.room] });
        if (tracked.delete(ROOMS[step.room])) changes++;
      } else {
        await socket.close();
        changes += tracked.size;
        model.delete(socket.id);
        slots[step.client] = await connect(apps[step.client % 3]);
      }
    }
    await Promise.all(
      logs.map((log, i) =>
        log.until(() => log.events.length - start[i] >= changes, 20_000, `server ${i}: ${changes} presence events`),
      ),
    );
    const expected = ROOMS.map((name) => {
      const byKey = new Map<string, Array<{ socketId: string; meta: unknown }>>();
      for (const [socketId, rooms] of model) {
        const entry = rooms.get(name);
        if (entry === undefined) continue;
        byKey.set(entry.key, [...(byKey.get(entry.key) ?? []), { socketId, meta: { n: entry.meta } }]);
      }
      return [
        name,
        [...byKey.keys()]
          .sort()
          .map((key) => [key, byKey.get(key)!.sort((a, b) => a.socketId.localeCompare(b.socketId))]),
      ];
    });
    for (const [i, app] of apps.entries()) {
      const withoutSince = views(app).map(([name, keys]) => [
        name,
        (keys as ReturnType<typeof canonical>).map(([key, metas]) => [
          key,
          metas.map(({ socketId, meta }) => ({ socketId, meta })),
        ]),
      ]);
      assert.deepEqual(withoutSince, expected, `server ${i} agrees with the model`);
      assert.equal(logs[i].events.length - start[i], changes, `server ${i} fired once per change`);
      // Its diffs, replayed, build exactly its view.
      const replayed = replay(logs[i].events);
      for (const name of ROOMS) {
        assert.deepEqual(
          replayed.get(name) ?? new Map(),
          flatten(name, app.rooms.presence(name)),
          `server ${i}, ${name}`,
        );
      }
    }
    assert.ok(agreed(apps), 'every server holds the same entries, `since` included');
    await closeAll(slots);
    await Promise.all(
      logs.map((log) => log.until(() => ROOMS.every((name) => Object.keys(log.app.rooms.presence(name)).length === 0))),
    );
  });

  it('a server that starts late learns every current entry', async () => {
    const a = await connect(apps[0]);
    const b = await connect(apps[1]);
    await a.request('track', { room: 'lobby', key: 'ann', meta: 'a' });
    await b.request('track', { room: 'lobby', key: 'ben', meta: 'b' });
    await b.request('track', { room: 'doc:2', key: 'ben' });
    await Promise.all(logs.map((log) => log.until(() => Object.keys(log.app.rooms.presence('lobby')).length === 2)));
    const late = await startApp(presenceModule({ broker: redisBroker(redis) }));
    try {
      const lateLog = new PresenceLog(late);
      await lateLog.until(() => agreed([...apps, late]), 5000, 'the late server to learn every entry');
      assert.deepEqual(Object.keys(late.rooms.presence('lobby')).sort(), ['ann', 'ben']);
      assert.deepEqual(Object.keys(late.rooms.presence('doc:2')), ['ben']);
      // And the others learn its entries.
      const c = await TestClient.connect(late.url('/chat'));
      await c.request('track', { room: 'lobby', key: 'cat' });
      await Promise.all(logs.map((log) => log.until(() => 'cat' in log.app.rooms.presence('lobby'))));
      await c.close();
    } finally {
      await late.close();
    }
    await closeAll([a, b]);
    await Promise.all(logs.map((log) => log.until(() => Object.keys(log.app.rooms.presence('lobby')).length === 0)));
  });

  it('entries changed on both sides of a Redis outage converge once it is back: nothing lost, nothing left over', async () => {
    const stay = await connect(apps[0]);
    const goes = await connect(apps[1]);
    const untracks = await connect(apps[2]);
    await stay.request('track', { room: 'doc:1', key: 'ann' });
    await goes.request('track', { room: 'doc:1', key: 'ben' });
    await untracks.request('track', { room: 'doc:1', key: 'cat' });
    await Promise.all(logs.map((log) => log.until(() => Object.keys(log.app.rooms.presence('doc:1')).length === 3)));

    const down = apps.map((app) => untilBrokerStatus(app, false));
    await redis.stop();
    await Promise.all(down);
    // While Redis is away: a new entry on server 0, a disconnect on server 1, an untrack and a re-track on server 2.
    const added = await connect(apps[0]);
    await added.request('track', { room: 'doc:1', key: 'dan' });
    await goes.close();
    await untracks.request('untrack', { room: 'doc:1' });
    await untracks.request('track', { room: 'doc:2', key: 'cat', meta: 'moved' });
    assert.deepEqual(Object.keys(apps[0].rooms.presence('doc:1')).sort(), ['ann', 'ben', 'cat', 'dan']);

    const up = apps.map((app) => untilBrokerStatus(app, true));
    await redis.start();
    await Promise.all(up);
    await logs[0].until(
      () => agreed(apps) && Object.keys(apps[0].rooms.presence('doc:1')).length === 2,
      10_000,
      'views to converge',
    );
    await Promise.all(logs.map((log) => log.until(() => agreed(apps), 10_000, 'views to converge')));
    for (const app of apps) {
      assert.deepEqual(Object.keys(app.rooms.presence('doc:1')).sort(), ['ann', 'dan']);
      assert.deepEqual(
        app.rooms.presence('doc:2').cat.map((meta) => [meta.socketId, meta.meta]),
        [[untracks.id, 'moved']],
      );
    }
    await closeAll([stay, added, untracks]);
  });
});
