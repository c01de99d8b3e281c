/**
 * What only the Postgres broker has to get right (its faults run in the conformance suite):
 * messages over NOTIFY's 8000 bytes through its table, which it creates safely and cleans; room
 * names far over the 63-byte channel limit; its options; and what it leaves behind when closed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { BrokerListener } from '../../lib/index.js';
import { PostgresBroker, type PostgresBrokerOptions } from '../../lib/postgres/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { closeAll, TestClient } from '../support/client.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { brokerModule } from '../support/fault-helpers.js';
import { PostgresProcess } from '../support/postgres-server.js';
import { eventually, untilBrokerStatus, untilMeshed } from '../support/timing.js';

let postgres: PostgresProcess;
let sql: pg.Client;

before(async () => {
  postgres = await PostgresProcess.start();
  sql = new pg.Client({ connectionString: postgres.url });
  await sql.connect();
});
after(async () => {
  await sql.end();
  await postgres.dispose();
});

/** Each test its own channelPrefix: one Postgres, no crosstalk. */
function broker(channelPrefix: string, options: PostgresBrokerOptions = {}): PostgresBroker {
  return new PostgresBroker({
    connectionString: postgres.url,
    channelPrefix,
    heartbeatInterval: 100,
    heartbeatTimeout: 1000,
    ...options,
  });
}

async function scalar(query: string): Promise<unknown> {
  const { rows } = await sql.query<{ value: unknown }>(query);
  return rows[0]?.value;
}

/** Other sessions than the test's own, optionally only those whose last statement matches `like`. */
function sessions(like = '%'): Promise<unknown> {
  return scalar(
    "SELECT count(*)::int AS value FROM pg_stat_activity WHERE backend_type = 'client backend' " +
      `AND pid <> pg_backend_pid() AND query LIKE '${like}'`,
  );
}

/** 100 KiB of text with multi-byte characters in it, different at every position. */
function largeText(bytes: number, seed: number): string {
  let text = `${seed} café 😀 `;
  for (let i = 0; text.length < bytes; i++) text += String.fromCharCode(97 + ((i * 7 + seed) % 26));
  return text;
}

describe('a message larger than NOTIFY allows', () => {
  let apps: TestApp[];
  let clients: TestClient[];

  before(async () => {
    // A short retention, so that the cleaning shows within the test.
    apps = await startCluster(2, () => brokerModule(broker('big', { payloadRetention: 300 })));
    await untilMeshed(apps);
    clients = await Promise.all(apps.map((app) => TestClient.connect(app.url('/chat'))));
    for (const client of clients) await client.request('join', { room: 'big' });
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps);
  });

  it('reaches sockets on the other server whole, through the table, which is cleaned afterwards', async () => {
    const [, b] = clients;
    const payload = largeText(100 * 1024, 1);
    apps[0].rooms.to('big').emit('big', payload);
    assert.deepEqual(await b.next(), { event: 'big', data: payload });
    assert.deepEqual(await clients[0].next(), { event: 'big', data: payload });
    // It went through the table: a row was inserted.
    assert.ok(Number(await scalar('SELECT last_value AS value FROM "big_payloads_id_seq"')) >= 1);
    // And it is gone once older than the retention.
    assert.equal(await eventually(() => scalar('SELECT count(*)::int AS value FROM "big_payloads"'), 0, 5000), 0);
  });

  it('keeps its place among small messages: everything arrives in the order it was sent', async () => {
    const [a, b] = clients;
    const sent: unknown[] = [];
    for (let i = 0; i < 60; i++) {
      const data = i % 4 === 0 ? largeText(20_000, i) : i;
      sent.push(data);
      apps[i % 3 === 0 ? 1 : 0].rooms.to('big').emit('seq', data);
    }
    // Two senders: each one's messages arrive in its order, and each client sees both interleaved.
    for (const client of [a, b]) {
      const received: unknown[] = [];
      for (let i = 0; i < sent.length; i++) {
        const frame = await client.next();
        assert.equal(frame.event, 'seq');
        received.push(frame.data);
      }
      const from = (server: number) => sent.filter((_, i) => (i % 3 === 0 ? 1 : 0) === server);
      const fromReceived = (server: number) => received.filter((data) => from(server).includes(data));
      assert.deepEqual(fromReceived(0), from(0));
      assert.deepEqual(fromReceived(1), from(1));
    }
  });
});

describe('the payload table', () => {
  it('is created once by many servers storing their first large message at the same time', async () => {
    const brokers = Array.from({ length: 6 }, () => broker('race'));
    const received: Buffer[] = [];
    const connections = await Promise.all(
      brokers.map(async (each) => {
        let up!: () => void;
        const isUp = new Promise<void>((resolve) => (up = resolve));
        const listener: BrokerListener = {
          message: (_channel, message) => received.push(message),
          status: (status) => status && up(),
          peersPossible: () => undefined,
        };
        const connection = each.connect(listener);
        await isUp;
        await connection.subscribe('all');
        return connection;
      }),
    );
    try {
      const messages = connections.map((_, i) => Buffer.alloc(10_000, i));
      await Promise.all(connections.map((connection, i) => connection.publish('all', messages[i]!)));
      // Every connection hears every message.
      await eventually(async () => received.length, 36, 5000);
      assert.equal(received.length, 36);
      for (const message of messages) assert.equal(received.filter((got) => got.equals(message)).length, 6);
    } finally {
      await Promise.all(connections.map((connection) => connection.close()));
    }
  });
});

describe('a listening connection that the database ends', () => {
  it('reports down, refuses publishes at once meanwhile, and listens again on a new connection', async () => {
    const received: string[] = [];
    // Every status report in order; `nextStatus(i, ...)` waits for report number i.
    const statuses: boolean[] = [];
    const waiters: Array<() => boolean> = [];
    const nextStatus = (index: number, wanted: boolean, then: () => void = () => undefined) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (statuses.length <= index) return false;
          if (statuses[index] !== wanted) reject(new Error(`status ${index} was ${statuses[index]}`));
          then();
          resolve();
          return true;
        };
        if (!check()) waiters.push(check);
      });
    const onStatus = (up: boolean) => {
      statuses.push(up);
      for (const waiter of waiters.splice(0)) if (!waiter()) waiters.push(waiter);
    };
    const listener: BrokerListener = {
      message: (_channel, message) => received.push(message.toString()),
      status: (up) => onStatus(up),
      peersPossible: () => undefined,
    };
    const up = nextStatus(0, true);
    const connection = broker('ended').connect(listener);
    try {
      await up;
      await connection.subscribe('room:here');
      await connection.publish('room:here', Buffer.from('before'));
      await eventually(async () => received.length, 1);

      // Postgres stays up: only a check of the broker's own can refuse a publish made while it is not listening.
      let refused!: Promise<string>;
      const down = nextStatus(1, false, () => {
        refused = connection.publish('room:here', Buffer.from('while down')).then(
          () => 'published',
          (error: Error) => error.message,
        );
      });
      const { rows } = await sql.query<{ ended: boolean }>(
        'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity ' +
          "WHERE pid <> pg_backend_pid() AND query LIKE 'LISTEN%'",
      );
      assert.deepEqual(rows, [{ ended: true }]);
      const upAgain = nextStatus(2, true);
      await down;
      assert.equal(connection.up, false);
      assert.equal(await refused, 'Postgres is not connected');

      // A new connection listens on the channel again.
      await upAgain;
      assert.equal(connection.up, true);
      await connection.publish('room:here', Buffer.from('after'));
      await eventually(async () => received.length, 2);
      assert.deepEqual(received, ['before', 'after']);
    } finally {
      await connection.close();
    }
  });
});

describe('room names far over the 63-byte channel limit', () => {
  let apps: TestApp[];
  let clients: TestClient[];
  // Pairs that a cut at 63 bytes would merge into one channel.
  const latin = 'x'.repeat(256);
  const latinSibling = `${'x'.repeat(255)}y`;
  const emoji = '😀'.repeat(256);
  const emojiSibling = `${'😀'.repeat(255)}😁`;

  before(async () => {
    apps = await startCluster(2, () => brokerModule(broker('long')));
    await untilMeshed(apps);
    clients = await Promise.all([apps[1], apps[1]].map((app) => TestClient.connect(app.url('/chat'))));
    const [b, c] = clients;
    assert.deepEqual(await b.request('join', { room: [latin, emoji] }), { event: 'joined', data: [latin, emoji] });
    await c.request('join', { room: [latinSibling, emojiSibling] });
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps);
  });

  it('route to their own members on another server, and only to them', async () => {
    const [b, c] = clients;
    for (const [room, member, other] of [
      [latin, b, c],
      [latinSibling, c, b],
      [emoji, b, c],
      [emojiSibling, c, b],
    ] as const) {
      apps[0].rooms.to(room).emit('to', room.length);
      assert.deepEqual(await member.next(), { event: 'to', data: room.length });
      apps[0].rooms.to(other.id).emit('marker');
      assert.deepEqual(await other.next(), { event: 'marker' });
    }
    assert.equal(await apps[0].rooms.in(emoji).count(), 1);
  });
});

describe('options', () => {
  it('refuses a channelPrefix that would not leave room for the hash, and a broker with nowhere to connect', () => {
    const url = 'postgres://127.0.0.1:1/none';
    assert.throws(() => new PostgresBroker({ connectionString: url, channelPrefix: 'é'.repeat(16) }), /channelPrefix/);
    assert.throws(() => new PostgresBroker({ connectionString: url, channelPrefix: '' }), /channelPrefix/);
    assert.throws(() => new PostgresBroker({}), /connectionString or a pool/);
    assert.equal(new PostgresBroker({ connectionString: url, channelPrefix: 'p'.repeat(30) }).channelPrefix.length, 30);
  });

  it('keeps apps with different channelPrefix apart on one database', async () => {
    const apps = [await startApp(brokerModule(broker('one'))), await startApp(brokerModule(broker('two')))];
    // The listener connects after the app has started; a cluster request (`count`) needs it up.
    for (const app of apps) if (app.rooms.metrics().brokerUp === 0) await untilBrokerStatus(app, true);
    const clients = await Promise.all(apps.map((app) => TestClient.connect(app.url('/chat'))));
    try {
      for (const client of clients) await client.request('join', { room: 'shared' });
      assert.equal(await apps[0].rooms.in('shared').count(), 1);
      apps[0].rooms.to('shared').emit('from one');
      assert.deepEqual(await clients[0].next(), { event: 'from one' });
      apps[1].rooms.to('shared').emit('marker');
      assert.deepEqual(await clients[1].next(), { event: 'marker' });
    } finally {
      await closeAll(clients);
      await closeCluster(apps);
    }
  });
});

describe('closing', () => {
  it('ends the listening client and the pool it made', async () => {
    const app = await startApp(brokerModule(broker('closing')));
    try {
      const client = await TestClient.connect(app.url('/chat'));
      await client.request('join', { room: 'here' });
      // The listener connects in the background after the app has started.
      assert.equal(await eventually(() => sessions('LISTEN%'), 1, 5000), 1, 'a listening session while open');
    } finally {
      await app.close();
    }
    assert.equal(await eventually(() => sessions(), 0, 5000), 0);
  });

  it('ends its listening client but leaves a given pool open', async () => {
    const pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
    pool.on('error', () => undefined);
    try {
      const app = await startApp(brokerModule(broker('given', { pool })));
      try {
        const client = await TestClient.connect(app.url('/chat'));
        await client.request('join', { room: 'here' });
        assert.equal(await eventually(() => sessions('LISTEN%'), 1, 5000), 1, 'a listening session while open');
      } finally {
        await app.close();
      }
      assert.equal(await eventually(() => sessions('LISTEN%'), 0, 5000), 0);
      assert.deepEqual((await pool.query<{ one: number }>('SELECT 1 AS one')).rows, [{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });
});
