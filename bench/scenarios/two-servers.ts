import { sleep, type Child } from '../ipc.js';
import type { PeerInfo } from '../peers.js';
import type { Sizes } from '../sizes.js';
import { quantile } from '../stats.js';
import { connect, type Server } from './processes.js';

/** What the caller measures around the burst (broker traffic), as figures of its own. */
export interface AroundBurst {
  before(): Promise<void>;
  after(): Promise<Record<string, number>>;
}

/**
 * The figures of two servers of one peer over one broker, clients split across both: deliveries
 * per second when server A broadcasts to a room with members on both, and the latency a member on
 * B adds over a member on A (sender's clock to receiver's: one monotonic clock for every process).
 */
export async function twoServerFigures(
  peer: PeerInfo,
  [a, b]: [Server, Server],
  clients: Child,
  sizes: Sizes,
  around?: AroundBurst,
): Promise<Record<string, number>> {
  const half = sizes.redisSockets / 2;
  await connect(clients, peer, { url: a.url, count: half, joins: 'bench' });
  await connect(clients, peer, { url: b.url, count: half, joins: 'bench' });
  await Promise.all([a.members('bench', half), b.members('bench', half)]);
  await sleep(500);

  // Deliveries per second: A broadcasts back to back to the room spread over A and B.
  await clients.call('reset');
  await around?.before();
  await b.child.call('markCpu');
  const { start } = await a.child.call<{ start: number }>('burst', {
    rooms: { prefix: 'bench' },
    passes: sizes.burst,
  });
  const { at } = await clients.call<{ at: number }>('expect', { total: sizes.redisSockets * sizes.burst });
  const [cpuA, cpuB] = await Promise.all([a.child.call<number>('cpu'), b.child.call<number>('cpu')]);
  const deliveries = sizes.redisSockets * sizes.burst;
  const aroundFigures = (await around?.after()) ?? {};

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

  return {
    deliveriesPerSec: deliveries / ((at - start) / 1e9),
    cpuNsPerDelivery: (cpuA + cpuB) / deliveries,
    localP50Us: quantile(local, 0.5),
    remoteP50Us: quantile(remote, 0.5),
    remoteP99Us: quantile(remote, 0.99),
    addedP50Us: quantile(added, 0.5),
    addedP99Us: quantile(added, 0.99),
    ...aroundFigures,
  };
}
