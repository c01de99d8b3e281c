/**
 * How the NATS broker routes (its faults are in the broker conformance suite): one subject per
 * room, subscribed by exactly the servers with members, safe whatever the room name; a given
 * connection left open; subject prefixes that keep apps apart, and bad ones refused.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsBroker, type NatsBrokerOptions } from '../../lib/nats/index.js';
import { INVALID_SUBJECT_PREFIX } from '../../lib/rooms.messages.js';
import type { TestApp } from '../support/app.js';
import { closeAll, TestClient } from '../support/client.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { brokerModule } from '../support/fault-helpers.js';
import { NatsProcess } from '../support/nats-server.js';
import { connectAll, join, routesToMembersOnly } from '../support/routing-scenario.js';
import { untilMeshed } from '../support/timing.js';

const subjectOf = (room: string, prefix = 'nestjs-rooms') => {
  const token = Buffer.from(`room:${room}`).toString('base64url');
  return token.length <= 192
    ? `${prefix}.${token}`
    : `${prefix}.h.${createHash('sha256').update(`room:${room}`).digest('hex')}`;
};

const natsBroker = (nats: NatsProcess, options: NatsBrokerOptions = {}) =>
  new NatsBroker({
    servers: nats.url,
    heartbeatInterval: 100,
    heartbeatTimeout: 1000,
    requestTimeout: 5000,
    ...options,
  });

describe('routing through NATS', () => {
  let nats: NatsProcess;
  let apps: TestApp[];
  let clients: TestClient[];

  before(async () => {
    nats = await NatsProcess.monitored();
    apps = await startCluster(3, () => brokerModule(natsBroker(nats)));
    await untilMeshed(apps);
    // a and a2 on server A, b on B, c on C.
    clients = await connectAll([apps[0], apps[0], apps[1], apps[2]]);
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps);
    await nats.dispose();
  });

  it('subscribes a room subject on exactly the servers with members, by the time the join is answered', async () => {
    const subscribers = () => nats.subscribers(subjectOf('routed'));
    await routesToMembersOnly(apps, clients, subscribers);
  });

  it('carries rooms whose names are wildcards, dots, spaces, other scripts or 256 characters long', async () => {
    const [a, , b, c] = clients;
    const rooms = ['*', '>', 'a.b', '.', 'with space\tand tab', '$SYS.x', 'ünï 😀', 'x'.repeat(256), 'é'.repeat(256)];
    for (const room of rooms) {
      await join(a, room);
      await join(b, room);
      apps[2].rooms.to(room).emit('in', room.length);
      assert.deepEqual(await a.next(), { event: 'in', data: room.length }, JSON.stringify(room.slice(0, 20)));
      assert.deepEqual(await b.next(), { event: 'in', data: room.length });
    }
    // Each room its own subject, and none of them near NATS's 4 KiB control-line limit.
    const subjects = (await nats.subscriptions()).flat();
    for (const room of rooms) assert.ok(subjects.includes(subjectOf(room)), `subject of ${room.slice(0, 20)}`);
    assert.ok(Math.max(...subjects.map((subject) => subject.length)) <= 256);
    // A wildcard room is no wildcard: "*" reached nobody in "a.b", and c (in none) got nothing.
    apps[0].rooms.to(c.id).emit('marker');
    assert.deepEqual(await c.next(), { event: 'marker' });
  });
});

describe('a NatsBroker given a connection', () => {
  let nats: NatsProcess;
  let connections: NatsConnection[];
  let apps: TestApp[];

  before(async () => {
    nats = await NatsProcess.monitored();
    connections = await Promise.all([0, 1].map(() => connect({ servers: nats.url })));
    apps = await startCluster(2, (index) => brokerModule(natsBroker(nats, { connection: connections[index] })));
    await untilMeshed(apps);
  });
  after(async () => {
    await Promise.all(connections.map((connection) => connection.close()));
    await nats.dispose();
  });

  it('carries the cluster on it, and on close leaves it open with none of its subscriptions', async () => {
    const clients = await connectAll(apps);
    await join(clients[0], 'given');
    apps[1].rooms.to('given').emit('over the given connection');
    assert.deepEqual(await clients[0].next(), { event: 'over the given connection' });
    assert.equal(await apps[1].rooms.count(), 2);
    await closeAll(clients);
    await closeCluster(apps);
    for (const connection of connections) assert.equal(connection.isClosed(), false);
    assert.deepEqual(await nats.subscriptions(), [[], []]);
    // Still usable by its owner.
    await Promise.all(connections.map((connection) => connection.flush()));
  });
});

describe('subject prefixes', () => {
  let nats: NatsProcess;

  before(async () => {
    nats = await NatsProcess.start();
  });
  after(async () => {
    await nats.dispose();
  });

  it('keep two apps on one NATS apart', async () => {
    const apps = await startCluster(3, (index) =>
      brokerModule(natsBroker(nats, { subjectPrefix: index < 2 ? 'app-one' : 'app.two' })),
    );
    try {
      await untilMeshed(apps.slice(0, 2));
      const clients = await connectAll(apps);
      for (const client of clients) await join(client, 'shared name');
      apps[0].rooms.to('shared name').emit('one');
      assert.deepEqual(await clients[0].next(), { event: 'one' });
      assert.deepEqual(await clients[1].next(), { event: 'one' });
      assert.equal(await apps[0].rooms.count(), 2);
      assert.equal(await apps[2].rooms.count(), 1);
      apps[2].rooms.to('shared name').emit('two');
      assert.deepEqual(await clients[2].next(), { event: 'two' });
      apps[0].rooms.to(clients[1].id).emit('marker');
      assert.deepEqual(await clients[1].next(), { event: 'marker' });
      await closeAll(clients);
    } finally {
      await closeCluster(apps);
    }
  });

  it('are refused at construction when NATS could not take them', () => {
    for (const prefix of ['', 'a..b', '.a', 'a.', 'a b', 'a\tb', '*', 'a.>', '$SYS', 'p'.repeat(129)]) {
      assert.throws(() => new NatsBroker({ subjectPrefix: prefix }), { message: INVALID_SUBJECT_PREFIX(prefix) });
    }
  });
});
