import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callgrindWrapper, dumpCounts, zeroCounts } from '../callgrind.js';
import type { PeerInfo } from '../peers.js';
import type { Sizes } from '../sizes.js';
import { connect, startClients, startServer, type Row } from './processes.js';

const ROOM = { prefix: 'bench' };

/**
 * The stubbed fan-out counted rather than timed (`--only=instructions`): one peer's server under
 * `valgrind --tool=callgrind` with its cache simulator, `n` sockets in one room, every kernel write
 * stubbed, then a warm-up stretch and a measured stretch of `sizes.instructionDeliveries`
 * deliveries. Instructions and first-level data-cache misses per delivery, the whole process
 * counted (its IPC too, a few thousand instructions per stretch). Counts do not depend on what else
 * the machine runs: they tell what the library's work per socket is where timings on this machine
 * swing by more than the difference looked for. The cache misses are a simulated cache's.
 */
export async function instructions(peer: PeerInfo, n: number, run: number, sizes: Sizes): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-rooms-callgrind-'));
  const env = { BENCH_HEARTBEAT_INTERVAL: String(3_600_000) };
  const [server, clients] = await Promise.all([startServer(peer, env, callgrindWrapper(dir, true)), startClients()]);
  const pid = server.child.pid;
  try {
    await connect(clients, peer, { url: server.url, count: n, joins: 'bench' });
    await server.members('bench', n);
    const passes = Math.max(1, Math.ceil(sizes.instructionDeliveries / n));
    await server.child.call('stubWrites', { rooms: ROOM });
    await server.child.call('stretch', { rooms: ROOM, passes }, 3_600_000);
    zeroCounts(pid);
    await server.child.call('stretch', { rooms: ROOM, passes }, 3_600_000);
    const counts = dumpCounts(pid, dir);
    const deliveries = n * passes;
    return {
      scenario: 'instructions',
      peer: peer.name,
      size: n,
      run,
      metrics: {
        irPerDelivery: counts.Ir / deliveries,
        d1MissesPerDelivery: ((counts.D1mr ?? 0) + (counts.D1mw ?? 0)) / deliveries,
        llMissesPerDelivery: ((counts.DLmr ?? 0) + (counts.DLmw ?? 0)) / deliveries,
      },
    };
  } finally {
    await Promise.all([server.child.stop(), clients.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
