/**
 * RedisBroker on a Redis Cluster of three masters, each server with its own ioredis `Cluster`
 * client: room channels hash to slots on different masters, and sharded pub/sub must carry each
 * room through the master that owns its slot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { RedisBroker } from '../../lib/redis/index.js';
import type { TestApp } from '../support/app.js';
import { closeAll, TestClient } from '../support/client.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { untilMeshed } from '../support/timing.js';
import { brokerModule, shardSubscribers } from '../support/fault-helpers.js';
import { RedisClusterProcess, type RedisProcess } from '../support/redis-server.js';

const channelOf = (room: string) => `nestjs-rooms:room:${room}`;

/** The master that serves each slot range, from `CLUSTER NODES`. */
async function slotOwners(cluster: RedisClusterProcess): Promise<(slot: number) => RedisProcess> {
  const ranges: Array<{ from: number; to: number; node: RedisProcess }> = [];
  for (const line of (await cluster.nodes[0].cli('cluster', 'nodes')).split('\n')) {
    const [, address, flags, , , , , , ...slots] = line.split(' ');
    if (!flags.includes('master')) continue;
    const port = Number(address.split('@')[0].split(':')[1]);
    const node = cluster.nodes.find((candidate) => candidate.port === port)!;
    for (const range of slots) {
      const [from, to = from] = range.split('-').map(Number);
      ranges.push({ from, to, node });
    }
  }
  return (slot) => ranges.find((range) => slot >= range.from && slot <= range.to)!.node;
}

describe('RedisBroker on a Redis Cluster of three masters', () => {
  let redis: RedisClusterProcess;
  let redisClients: Cluster[] = [];
  let apps: TestApp[] = [];
  let clients: TestClient[] = [];
  /** One room per master, with the master that owns its channel's slot. */
  const rooms: Array<{ room: string; owner: RedisProcess }> = [];

  before(async () => {
    redis = await RedisClusterProcess.start();
    // Each server its own Cluster client, as separate processes would have.
    redisClients = [0, 1, 2].map(() => new Cluster(redis.startupNodes));
    apps = await startCluster(3, (index) =>
      brokerModule(
        new RedisBroker({
          client: redisClients[index],
          heartbeatInterval: 100,
          heartbeatTimeout: 1000,
          requestTimeout: 5000,
        }),
      ),
    );
    await untilMeshed(apps);
    clients = await Promise.all(apps.map((app) => TestClient.connect(app.url('/chat'))));

    const ownerOf = await slotOwners(redis);
    for (let index = 0; rooms.length < redis.nodes.length; index++) {
      const room = `shard-${index}`;
      const owner = ownerOf(Number(await redis.nodes[0].cli('cluster', 'keyslot', channelOf(room))));
      if (!rooms.some((entry) => entry.owner === owner)) rooms.push({ room, owner });
    }
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps);
    // The broker closes the subscribers it made, never a client it was given.
    await Promise.all(redisClients.map((client) => client.quit()));
    await redis?.dispose();
  });

  it('has rooms whose channels live on three different masters', () => {
    assert.equal(new Set(rooms.map((entry) => entry.owner.port)).size, 3);
  });

  it('carries each of those rooms across servers, subscribed on the owning master only', async () => {
    const [a, b, c] = clients;
    for (const { room, owner } of rooms) {
      // Members on servers A and B; server C has none.
      for (const client of [a, b])
        assert.deepEqual(await client.request('join', { room }), { event: 'joined', data: room });
      for (const node of redis.nodes) {
        assert.equal(await shardSubscribers(node, channelOf(room)), node === owner ? 2 : 0, `${room} on ${node.port}`);
      }

      apps[2].rooms.to(room).emit('from C', room);
      assert.deepEqual(await a.next(), { event: 'from C', data: room });
      assert.deepEqual(await b.next(), { event: 'from C', data: room });
      apps[1].rooms.to(room).emit('from B', room);
      assert.deepEqual(await a.next(), { event: 'from B', data: room });
      assert.deepEqual(await b.next(), { event: 'from B', data: room });
      // Nothing of it reached c: its next frame is this marker.
      apps[0].rooms.to(c.id).emit('marker', room);
      assert.deepEqual(await c.next(), { event: 'marker', data: room });
    }
  });

  it("keeps the order of one server's broadcasts in one room", async () => {
    const [a, b] = clients;
    for (const { room } of rooms) {
      const sent = Array.from({ length: 50 }, (_, index) => index);
      for (const index of sent) apps[2].rooms.to(room).emit('n', index);
      for (const client of [a, b]) {
        const received: unknown[] = [];
        while (received.length < sent.length) received.push((await client.next()).data);
        assert.deepEqual(received, sent);
      }
    }
  });

  it('answers cluster requests across the shards', async () => {
    const [a, b, c] = clients;
    assert.equal(await apps[2].rooms.count(), 3);
    const ids = (await apps[0].rooms.in(rooms[1].room).fetchSockets()).map((socket) => socket.id);
    assert.deepEqual(ids.sort(), [a.id, b.id].sort());
    await apps[0].rooms.in(c.id).socketsJoin(rooms[2].room);
    assert.equal(await shardSubscribers(rooms[2].owner, channelOf(rooms[2].room)), 3);
    apps[0].rooms.to(rooms[2].room).emit('all three');
    for (const client of [a, b, c]) assert.deepEqual(await client.next(), { event: 'all three' });
  });
});
