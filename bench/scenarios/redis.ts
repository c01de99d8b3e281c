import { startBroker } from '../brokers.js';
import { sleep, type Child } from '../ipc.js';
import type { PeerInfo } from '../peers.js';
import type { Sizes } from '../sizes.js';
import { CLIENT_CORE, connect, startClients, startServer, type Row, type Server } from './processes.js';
import { twoServerFigures } from './two-servers.js';

/**
 * Two servers of one peer over one private Redis, clients split across both: the figures of
 * ./two-servers.ts (deliveries per second, the latency a member on B adds), and the bytes each
 * server receives from Redis for broadcasts to rooms of 5 whose members are all on one server
 * (even rooms on A, odd rooms on B).
 */
export async function redis(peer: PeerInfo, run: number, sizes: Sizes): Promise<Row> {
  const redis = await startBroker('redis', CLIENT_CORE);
  const env = { BENCH_REDIS_URL: redis.url };
  const servers: Server[] = [];
  let clients: Child | undefined;
  try {
    for (let i = 0; i < 2; i++) servers.push(await startServer(peer, env));
    const [a, b] = servers;
    clients = await startClients();
    const figures = await twoServerFigures(peer, [a, b], clients, sizes);

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
        ...figures,
        redisBytesA: (a1 - a0) / broadcasts,
        redisBytesB: (b1 - b0) / broadcasts,
      },
    };
  } finally {
    await Promise.all([...servers.map((server) => server.child.stop()), clients?.stop()]);
    await redis.stop();
  }
}
