import type { PeerInfo } from '../peers.js';
import type { Sizes } from '../sizes.js';
import { connect, startClients, startServer, type Row, type Server } from './processes.js';

const ROOM = { prefix: 'bench' };
/** How often the collector is scraped while it is on: Prometheus's usual interval is 15 s, so once a second is harsh. */
const SCRAPE_INTERVAL_MS = 1000;
/** The names the two halves of a pair are reported under. */
export const COLLECTOR_OFF = 'nestjs-rooms';
export const COLLECTOR_ON = 'nestjs-rooms-metrics';

interface Stretch {
  deliveries: number;
  cpuNs: number;
  wallNs: number;
}

/** One end-to-end burst: deliveries/s, the server's CPU per delivery and its share of the wall time. */
async function burst(server: Server, clients: Awaited<ReturnType<typeof startClients>>, n: number, sizes: Sizes) {
  await clients.call('reset');
  const passes = sizes.metricsBurst;
  const { start } = await server.child.call<{ start: number }>('burst', { rooms: ROOM, passes });
  const { at } = await clients.call<{ at: number }>('expect', { total: n * passes });
  const cpuNs = await server.child.call<number>('cpu');
  const deliveries = n * passes;
  return {
    deliveriesPerSec: deliveries / ((at - start) / 1e9),
    cpuNsPerDelivery: cpuNs / deliveries,
    serverBusy: cpuNs / (at - start),
  };
}

/**
 * What the Prometheus collector costs a fan-out to `n` sockets, paired: one nestjs-rooms server,
 * and `sizes.metricsPairs` pairs of stretches in that one process, one with the collector
 * registered and scraped once a second, one with it unregistered, in alternating order (off first
 * in even pairs). The two stretches of a pair run seconds apart on the same sockets and the same
 * compiled code, so what differs between processes, and drift over the minutes of a run, cancel
 * out of the pair's ratio. First the end-to-end bursts, then (writes stubbed from there on) the
 * library CPU per socket over stretches long enough to take scrapes; last, the CPU of one scrape.
 */
export async function metricsPairs(
  peer: PeerInfo,
  n: number,
  sizes: Sizes,
  log: (message: string) => void = () => undefined,
): Promise<Row[]> {
  // No heartbeat within the scenario: with writes stubbed, a ping's pong never comes, and the sockets would be dropped.
  const env = { BENCH_HEARTBEAT_INTERVAL: String(3_600_000) };
  const [server, clients] = await Promise.all([startServer(peer, env), startClients()]);
  const collector = (on: boolean) => server.child.call('collector', { on, intervalMs: SCRAPE_INTERVAL_MS });
  const halves = (pair: number) => (pair % 2 === 0 ? [false, true] : [true, false]);
  const rows = new Map<string, Row>();
  const row = (pair: number, on: boolean): Row => {
    const name = on ? COLLECTOR_ON : COLLECTOR_OFF;
    const key = `${name} ${pair}`;
    if (!rows.has(key)) rows.set(key, { scenario: 'metrics', peer: name, size: n, run: pair, metrics: {} });
    return rows.get(key)!;
  };
  try {
    await connect(clients, peer, { url: server.url, count: n, joins: 'bench' });
    await server.members('bench', n);
    // Warm-up, with the collector on so that its code is compiled too before the first pair.
    await collector(true);
    await burst(server, clients, n, sizes);
    await collector(false);
    await burst(server, clients, n, sizes);

    for (let pair = 0; pair < sizes.metricsPairs; pair++) {
      for (const on of halves(pair)) {
        await collector(on);
        Object.assign(row(pair, on).metrics, await burst(server, clients, n, sizes));
      }
      await collector(false);
      log(`metrics: end-to-end pair ${pair + 1}/${sizes.metricsPairs}`);
    }

    const passes = Math.max(1, Math.ceil(sizes.metricsStubbedDeliveries / n));
    await server.child.call('stubWrites', { rooms: ROOM });
    await collector(true);
    await server.child.call('stretch', { rooms: ROOM, passes: Math.ceil(passes / 5) });
    await collector(false);
    await server.child.call('stretch', { rooms: ROOM, passes: Math.ceil(passes / 5) });
    for (let pair = 0; pair < sizes.metricsPairs; pair++) {
      for (const on of halves(pair)) {
        await collector(on);
        const stretch = await server.child.call<Stretch>('stretch', { rooms: ROOM, passes });
        if (stretch.deliveries !== n * passes) throw new Error(`${stretch.deliveries / passes} of ${n} sockets left`);
        row(pair, on).metrics.libNsPerSocket = stretch.cpuNs / stretch.deliveries;
      }
      await collector(false);
      log(`metrics: stubbed pair ${pair + 1}/${sizes.metricsPairs}`);
    }
    // Last, so that no pair's stretch collects a scrape loop's garbage.
    for (let pair = 0; pair < sizes.metricsPairs; pair++) {
      const { nsPerScrape } = await server.child.call<{ nsPerScrape: number }>('scrapeCost', { count: 200 });
      row(pair, true).metrics.scrapeUs = nsPerScrape / 1000;
    }
    return [...rows.values()];
  } finally {
    await Promise.all([server.child.stop(), clients.stop()]);
  }
}
