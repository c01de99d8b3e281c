import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callgrindWrapper, dumpCounts, zeroCounts } from '../callgrind.js';
import type { PeerInfo } from '../peers.js';
import type { Sizes } from '../sizes.js';
import { COLLECTOR_OFF, COLLECTOR_ON } from './metrics.js';
import { connect, startClients, startServer, type Row } from './processes.js';

const ROOM = { prefix: 'bench' };
/** Scrapes counted per measurement of one scrape's instructions. */
const SCRAPES = 100;
/**
 * Passes between two scrapes in a stretch with the collector on: about a tenth of what this server
 * broadcasts to 5,000 stubbed sockets in a second, so ten times the scrapes of the real rate (which
 * would leave a stretch of callgrind's length with none or one).
 */
export const SCRAPE_EVERY_PASSES = 250;

/**
 * The metrics scenario counted in instructions rather than timed (`--callgrind`): the same server
 * under `valgrind --tool=callgrind`, whose counts do not depend on what else the machine runs.
 * Writes stubbed, `sizes.metricsPairs` pairs of stretches of `passes` broadcasts, collector off and
 * on (in alternating order; on, it is scraped every `SCRAPE_EVERY_PASSES` passes, ten times the
 * real rate, whatever a scrape costs later, collections included, counted); then the
 * instructions of one scrape alone, over `SCRAPES` of them. Each figure is the server's instructions between a zero and a
 * dump of callgrind's counters around one command (its IPC included, a few thousand instructions).
 */
export async function metricsInstructions(
  peer: PeerInfo,
  n: number,
  sizes: Sizes,
  log: (message: string) => void = () => undefined,
): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-rooms-callgrind-'));
  const wrapper = callgrindWrapper(dir);
  const env = { BENCH_HEARTBEAT_INTERVAL: String(3_600_000) };
  const [server, clients] = await Promise.all([startServer(peer, env, wrapper), startClients()]);
  const pid = server.child.pid;
  // Scraped by pass count, not by the clock: under valgrind a second of wall time holds some 50 times
  // less work, so a timer would scrape that much too often.
  const collector = (on: boolean) => server.child.call('collector', { on, intervalMs: 2 ** 31 - 1 });
  const stretch = (on: boolean, passes: number) =>
    server.child.call('stretch', { rooms: ROOM, passes, scrapeEvery: on ? SCRAPE_EVERY_PASSES : 0 }, 3_600_000);
  const rows: Row[] = [];
  try {
    await connect(clients, peer, { url: server.url, count: n, joins: 'bench' });
    await server.members('bench', n);
    const passes = Math.max(1, Math.ceil(sizes.metricsInstructionDeliveries / n));
    await server.child.call('stubWrites', { rooms: ROOM });
    for (const on of [true, false]) {
      await collector(on);
      await stretch(on, passes);
    }
    await collector(false);
    for (let pair = 0; pair < sizes.metricsPairs; pair++) {
      for (const on of pair % 2 === 0 ? [false, true] : [true, false]) {
        await collector(on);
        zeroCounts(pid);
        await stretch(on, passes);
        const instructions = dumpCounts(pid, dir).Ir;
        rows.push({
          scenario: 'metrics',
          peer: on ? COLLECTOR_ON : COLLECTOR_OFF,
          size: n,
          run: pair,
          metrics: { irPerDelivery: instructions / (n * passes) },
        });
        log(`metrics --callgrind: pair ${pair + 1}, collector ${on ? 'on' : 'off'}: ${instructions} instructions`);
      }
      await collector(false);
    }
    zeroCounts(pid);
    await server.child.call('scrapeCost', { count: SCRAPES / 5, collect: false }, 3_600_000);
    const scrape = dumpCounts(pid, dir).Ir / SCRAPES;
    for (const row of rows) if (row.peer === COLLECTOR_ON) row.metrics.irPerScrape = scrape;
    return rows;
  } finally {
    await Promise.all([server.child.stop(), clients.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
