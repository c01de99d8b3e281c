import { startBroker, type BrokerKind, type BrokerServer } from '../brokers.js';
import { sleep, type Child } from '../ipc.js';
import { PEERS, SUBJECT, type PeerInfo } from '../peers.js';
import type { TrafficReport } from '../servers/broker-traffic.js';
import type { Sizes } from '../sizes.js';
import { CLIENT_CORE, connect, startClients, startServer, type Row, type Server } from './processes.js';
import { twoServerFigures } from './two-servers.js';

/** Socket.IO's classic Redis adapter (`@socket.io/redis-adapter`): every server gets every broadcast. */
export const CLASSIC = 'socket.io redis-adapter';

const peerNamed = (name: string): PeerInfo => PEERS.find((peer) => peer.name === name)!;

interface Wire {
  read: number;
  written: number;
}

type Traffic = TrafficReport & { wire: Wire };

const traffic = (servers: Server[], broker: BrokerServer) =>
  Promise.all(servers.map((server) => server.child.call<Traffic>('traffic', { port: broker.port })));
const markTraffic = (servers: Server[], broker: BrokerServer) =>
  Promise.all(servers.map((server) => server.child.call('markTraffic', { port: broker.port })));

/**
 * Two nestjs-rooms servers on one private broker of `kind`: the figures of ./two-servers.ts, and
 * the bytes on the wire between the servers and the broker per broadcast of the burst (counted on
 * the servers' sockets to the broker: what it received, what it sent), heartbeats included.
 */
export async function brokerPair(kind: BrokerKind, run: number, sizes: Sizes): Promise<Row> {
  const broker = await startBroker(kind, CLIENT_CORE);
  const peer = peerNamed(SUBJECT);
  const servers: Server[] = [];
  let clients: Child | undefined;
  try {
    const env = { BENCH_BROKER: kind, BENCH_BROKER_URL: broker.url };
    for (let i = 0; i < 2; i++) servers.push(await startServer(peer, env));
    clients = await startClients();
    const metrics = await twoServerFigures(peer, [servers[0], servers[1]], clients, sizes, {
      before: async () => void (await markTraffic(servers, broker)),
      async after() {
        await sleep(200);
        const wire = (await traffic(servers, broker)).map((report) => report.wire);
        const sum = (key: keyof Wire) => wire.reduce((total, one) => total + one[key], 0);
        return { brokerInBytes: sum('written') / sizes.burst, brokerOutBytes: sum('read') / sizes.burst };
      },
    });
    return { scenario: 'brokers', peer: kind, size: sizes.redisSockets, run, metrics };
  } finally {
    await Promise.all([...servers.map((server) => server.child.stop()), clients?.stop()]);
    await broker.stop();
  }
}

/** A seeded generator (mulberry32), so that every broker of one run gets the same placement. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `spreadServers` servers on one broker, `spreadSockets` sockets in rooms of `spreadRoomSize`,
 * each socket on a server drawn at random; server *i* broadcasts `spreadRepeats` times to the
 * rooms `sp<i>-<k>` (every room has one sender). Each server counts what its broker subscriber
 * hands over (a counting wrapper in the bench server, not in lib): messages and bytes (payload and
 * channel) on the channels of rooms where it has no member, and the bytes it read from the broker
 * on the wire. `kind` is a nestjs-rooms broker, or {@link CLASSIC} (Socket.IO's classic adapter on Redis).
 */
export async function brokerSpread(kind: BrokerKind | typeof CLASSIC, run: number, sizes: Sizes): Promise<Row> {
  const classic = kind === CLASSIC;
  const broker = await startBroker(classic ? 'redis' : kind, CLIENT_CORE);
  const peer = peerNamed(classic ? 'socket.io' : SUBJECT);
  const count = sizes.spreadServers;
  let servers: Server[] = [];
  let clients: Child | undefined;
  try {
    const env: Record<string, string> = classic
      ? { BENCH_REDIS_URL: broker.url, BENCH_COUNT_BROKER: '1' }
      : { BENCH_BROKER: kind, BENCH_BROKER_URL: broker.url, BENCH_COUNT_BROKER: '1' };
    servers = await Promise.all(Array.from({ length: count }, () => startServer(peer, env)));
    clients = await startClients();

    const rooms = Math.floor(sizes.spreadSockets / sizes.spreadRoomSize);
    const draw = random(run + 1);
    const joins: string[][] = servers.map(() => []);
    const sent = servers.map(() => 0);
    for (let room = 0; room < rooms; room++) {
      const sender = room % count;
      const name = `sp${sender}-${sent[sender]++}`;
      for (let k = 0; k < sizes.spreadRoomSize; k++) joins[Math.floor(draw() * count)].push(name);
    }
    // One server at a time: each join is answered once its room's subscription is made.
    for (let i = 0; i < count; i++) {
      if (joins[i].length > 0)
        await connect(clients, peer, { url: servers[i].url, count: joins[i].length, joins: joins[i] });
    }
    await sleep(500);

    await markTraffic(servers, broker);
    await clients.call('reset');
    await Promise.all(
      servers.map((server, i) =>
        server.child.call('burst', { rooms: { prefix: `sp${i}-`, count: sent[i] }, passes: sizes.spreadRepeats }),
      ),
    );
    await clients.call('expect', { total: rooms * sizes.spreadRoomSize * sizes.spreadRepeats });
    await sleep(300);
    const reports = await traffic(servers, broker);
    const broadcasts = rooms * sizes.spreadRepeats;
    const mean = (of: (report: Traffic) => number) => reports.reduce((sum, r) => sum + of(r), 0) / reports.length;
    return {
      scenario: 'spread',
      peer: kind,
      size: sizes.spreadSockets,
      run,
      metrics: {
        strayMessagesPerK: (mean((r) => r.stray.messages) / broadcasts) * 1000,
        strayBytesPerBroadcast: mean((r) => r.stray.bytes) / broadcasts,
        memberMessagesPerK: (mean((r) => r.member.messages) / broadcasts) * 1000,
        wireBytesPerBroadcast: mean((r) => r.wire.read) / broadcasts,
        bytesPerMessage: mean((r) => r.member.bytes) / mean((r) => r.member.messages),
      },
    };
  } finally {
    await Promise.all([...servers.map((server) => server.child.stop()), clients?.stop()]);
    await broker.stop();
  }
}
