import { sleep, type Child } from '../ipc.js';
import type { PeerInfo } from '../peers.js';
import { RedisProcess } from '../redis.js';
import type { Sizes } from '../sizes.js';
import { quantile } from '../stats.js';
import { CLIENT_CORE, connect, startClients, startServer, type Row, type Server } from './processes.js';

/**
 * Two servers of one peer over one private Redis, clients split across both: deliveries per
 * second when server A broadcasts to a room with members on both; the latency a member on B adds
 * over a member on A; and the bytes each server receives from Redis for broadcasts to rooms of 5
 * whose members are all on one server (even rooms on A, odd rooms on B).
 */
export async function redis(peer: PeerInfo, run: number, sizes: Sizes): Promise<Row> {
  const redis = await RedisProcess.start(CLIENT_CORE);
  const env = { BENCH_REDIS_URL: redis.url };
  const servers: Server[] = [];
  let clients: Child | undefined;
  try {
    for (let i = 0; i < 2; i++) servers.push(await startServer(peer, env));
    const [a, b] = servers;
    clients = await startClients();
    const half = sizes.redisSockets / 2;
    await connect(clients, peer, { url: a.url, count: half, joins: 'bench' });
    await connect(clients, peer, { url: b.url, count: half, joins: 'bench' });
    await Promise.all([a.members('bench', half), b.members('bench', half)]);
    await sleep(500);

    // Deliveries per second: A broadcasts back to back to the room spread over A and B.
    await clients.call('reset');
    await b.child.call('markCpu');
    const { start } = await a.child.call<{ start: number }>('burst', {
      rooms: { prefix: 'bench' },
      passes: sizes.burst,
    });
    const { at } = await clients.call<{ at: number }>('expect', { total: sizes.redisSockets * sizes.burst });
    const [cpuA, cpuB] = await Promise.all([a.child.call<number>('cpu'), b.child.call<number>('cpu')]);
    const deliveries = sizes.redisSockets * sizes.burst;

    // Latency: one member of `probe` on A, one on B; A broadcasts at a slow pace.
    await connect(clients, peer, { url: a.url, count: 1, joins: 'probe', record: true });
    await connect(clients, peer, { url: b.url, count: 1, joins: 'probe', record: true });
    await Promise.all([a.members('probe', 1), b.members('probe', 1)]);
    await clients.call('reset');
    const sent = await a.child.call<number[]>('probe', {
      room: 'probe',
      count: sizes.probes,
      intervalMs: sizes.probeIntervalMs,
    });
    await clients.call('expect', { total: 2 * sizes.probes });
    const recorded = await clients.call<number[][]>('recorded');
    const [onA, onB] = recorded.slice(-2);
    const local = sent.map((t, i) => (onA[i] - t) / 1000);
    const remote = sent.map((t, i) => (onB[i] - t) / 1000);
    const added = remote.map((r, i) => r - local[i]);

    // Redis traffic: rooms of 5 that live on one server each; A broadcasts to every one of them.
    const rooms = sizes.redisSmallRooms;
    const evenJoins: string[] = [];
    const oddJoins: string[] = [];
    for (let room = 0; room < rooms; room++) {
      for (let k = 0; k < 5; k++) (room % 2 === 0 ? evenJoins : oddJoins).push(`s${room}`);
    }
    await connect(clients, peer, { url: a.url, count: evenJoins.length, joins: evenJoins });
    await connect(clients, peer, { url: b.url, count: oddJoins.length, joins: oddJoins });
    await Promise.all([a.members('s0', 5), b.members('s1', 5)]);
    await sleep(200);
    const bytes = () =>
      Promise.all([a, b].map((server) => server.child.call<number>('redisBytes', { port: redis.port })));
    const [a0, b0] = await bytes();
    await clients.call('reset');
    await a.child.call('burst', { rooms: { prefix: 's', count: rooms }, passes: sizes.smallRoomRepeats });
    await clients.call('expect', { total: rooms * 5 * sizes.smallRoomRepeats });
    await sleep(200);
    const [a1, b1] = await bytes();
    const broadcasts = rooms * sizes.smallRoomRepeats;

    return {
      scenario: 'redis',
      peer: peer.name,
      size: sizes.redisSockets,
      run,
      metrics: {
        deliveriesPerSec: deliveries / ((at - start) / 1e9),
        cpuNsPerDelivery: (cpuA + cpuB) / deliveries,
        localP50Us: quantile(local, 0.5),
        remoteP50Us: quantile(remote, 0.5),
        remoteP99Us: quantile(remote, 0.99),
        addedP50Us: quantile(added, 0.5),
        addedP99Us: quantile(added, 0.99),
        redisBytesA: (a1 - a0) / broadcasts,
        redisBytesB: (b1 - b0) / broadcasts,
      },
    };
  } finally {
    await Promise.all([...servers.map((server) => server.child.stop()), clients?.stop()]);
    await redis.stop();
  }
}
