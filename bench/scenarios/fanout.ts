import type { Child } from '../ipc.js';
import type { PeerInfo } from '../peers.js';
import type { Sizes } from '../sizes.js';
import { median } from '../stats.js';
import { connect, startClients, startServer, type Row, type Server } from './processes.js';

const ROOM = { prefix: 'bench' };
const WARM_ROOM = 'warm-up';

interface Memory {
  heapUsed: number;
  rss: number;
}

/**
 * One room of `n` sockets: idle memory per socket (what `n` more sockets add to a server that has
 * already served a few, `warmUp`), dispatch time of one broadcast, end-to-end
 * deliveries per second over back-to-back broadcasts with the server's CPU per delivery, and
 * last (it breaks the connections) the library's CPU per socket with every kernel write stubbed.
 */
export async function fanout(peer: PeerInfo, n: number, run: number, sizes: Sizes, profile?: string): Promise<Row> {
  const [server, clients] = await Promise.all([startServer(peer), startClients()]);
  try {
    await warmUp(clients, server, peer, sizes);
    const before = await server.child.call<Memory>('memory');
    await connect(clients, peer, { url: server.url, count: n, joins: 'bench' });
    await server.members('bench', n);
    const after = await server.child.call<Memory>('memory');

    const dispatchUs: number[] = [];
    await clients.call('reset');
    for (let i = 1; i <= sizes.dispatches; i++) {
      dispatchUs.push(await server.child.call<number>('dispatch', { rooms: ROOM }));
      await clients.call('expect', { total: n * i });
    }

    await clients.call('reset');
    const { start } = await server.child.call<{ start: number }>('burst', { rooms: ROOM, passes: sizes.burst });
    const { at } = await clients.call<{ at: number }>('expect', { total: n * sizes.burst });
    const burstCpuNs = await server.child.call<number>('cpu');
    const deliveries = n * sizes.burst;

    const passes = Math.max(1, Math.ceil(sizes.stubbedDeliveries / n));
    const stubbed = await server.child.call<{ deliveries: number; cpuNs: number; wallNs: number }>('stubbed', {
      rooms: ROOM,
      passes,
      warmup: Math.ceil(passes / 5),
      profile,
    });

    return {
      scenario: 'fanout',
      peer: peer.name,
      size: n,
      run,
      metrics: {
        heapPerSocket: (after.heapUsed - before.heapUsed) / n,
        rssPerSocket: (after.rss - before.rss) / n,
        dispatchUs: median(dispatchUs),
        deliveriesPerSec: deliveries / ((at - start) / 1e9),
        cpuNsPerDelivery: burstCpuNs / deliveries,
        serverBusy: burstCpuNs / (at - start),
        libNsPerSocket: stubbed.cpuNs / stubbed.deliveries,
        libWallNsPerSocket: stubbed.wallNs / stubbed.deliveries,
      },
    };
  } finally {
    await Promise.all([server.child.stop(), clients.stop()]);
  }
}

/**
 * `warmSockets` connected and joined to a room of their own, which stay: what the server builds
 * once, at its first connections (the connection path's compiled code, its type feedback, the
 * first entries of its tables), is in place before memory is read, and not counted per socket.
 */
async function warmUp(clients: Child, server: Server, peer: PeerInfo, sizes: Sizes): Promise<void> {
  await connect(clients, peer, { url: server.url, count: sizes.warmSockets, joins: WARM_ROOM });
  await server.members(WARM_ROOM, sizes.warmSockets);
}

/** Heap snapshots of a peer's server before and with `n` sockets connected and joined, after the warm-up (for `--profile`). */
export async function heapSnapshots(
  peer: PeerInfo,
  n: number,
  sizes: Sizes,
  before: string,
  after: string,
): Promise<void> {
  const server = await startServer(peer);
  let clients: Child | undefined;
  try {
    clients = await startClients();
    await warmUp(clients, server, peer, sizes);
    await server.child.call('memory');
    await server.child.call('heapSnapshot', { path: before });
    await connect(clients, peer, { url: server.url, count: n, joins: 'bench' });
    await server.members('bench', n);
    await server.child.call('memory');
    await server.child.call('heapSnapshot', { path: after });
  } finally {
    await Promise.all([server.child.stop(), clients?.stop()]);
  }
}
