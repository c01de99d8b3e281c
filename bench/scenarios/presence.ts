import { fileURLToPath } from 'node:url';
import { startBroker } from '../brokers.js';
import { Child, sleep } from '../ipc.js';
import type { Sizes } from '../sizes.js';
import { quantile } from '../stats.js';
import { CLIENT_CORE, SERVER_CORE, type Row } from './processes.js';

const script = fileURLToPath(new URL('../servers/presence-server.js', import.meta.url));

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`presence: ${what}`);
    await sleep(10);
  }
}

/**
 * Presence between two nestjs-rooms servers on one private Redis (server A tracks, server B holds
 * the replica): `presence(room)` read time for a room of `presenceEntries` entries on B; heap per
 * entry on B (the replica) and on A (own entries); bytes B reads from Redis per change; and the
 * convergence lag from a `track` on A to the `'presence'` event on B, p50 and p99.
 */
export async function presence(run: number, sizes: Sizes): Promise<Row> {
  const redis = await startBroker('redis', CLIENT_CORE);
  const servers: Child[] = [];
  try {
    for (const name of ['presence A', 'presence B']) {
      const child = Child.spawn(name, script, [], {
        core: SERVER_CORE,
        nodeArgs: ['--expose-gc'],
        env: { BENCH_REDIS_URL: redis.url },
      });
      await child.ready;
      servers.push(child);
    }
    const [a, b] = servers;
    const entries = sizes.presenceEntries;
    await a.call('open', { count: entries + sizes.presenceProbes });
    // Meshed once B has a replica of A: A's first change reaches it.
    await a.call('track', { room: 'warm', from: 0, to: 1 });
    await until(async () => (await b.call<number>('size', { room: 'warm' })) === 1, 'B never heard from A');

    const [heapA0, heapB0] = await Promise.all([a.call<number>('heap'), b.call<number>('heap')]);
    const bytes0 = await b.call<number>('redisBytes', { port: redis.port });
    await a.call('track', { room: 'big', from: 0, to: entries });
    await until(async () => (await b.call<number>('size', { room: 'big' })) === entries, 'B missed entries');
    const bytes1 = await b.call<number>('redisBytes', { port: redis.port });
    const [heapA1, heapB1] = await Promise.all([a.call<number>('heap'), b.call<number>('heap')]);

    const readNs = await b.call<number>('read', { room: 'big', reads: sizes.presenceReads, batches: 5 });

    await b.call('reset');
    const sent = await a.call<number[]>('probe', {
      room: 'probe',
      from: entries,
      count: sizes.presenceProbes,
      intervalMs: sizes.probeIntervalMs,
    });
    await until(
      async () => (await b.call<unknown[]>('events')).length >= sizes.presenceProbes,
      'B missed probe events',
    );
    const events = await b.call<Array<{ at: number; room: string; joins: string[] }>>('events');
    const arrived = new Map<string, number>();
    for (const event of events) if (event.room === 'probe') for (const key of event.joins) arrived.set(key, event.at);
    const lags = sent.map((at, i) => (arrived.get(`probe-${i}`)! - at) / 1e6);

    return {
      scenario: 'presence',
      peer: 'nestjs-rooms',
      size: entries,
      run,
      metrics: {
        readUs: readNs / 1000,
        lagP50Ms: quantile(lags, 0.5),
        lagP99Ms: quantile(lags, 0.99),
        replicaBytesPerEntry: (heapB1 - heapB0) / entries,
        ownBytesPerEntry: (heapA1 - heapA0) / entries,
        brokerBytesPerChange: (bytes1 - bytes0) / entries,
      },
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await redis.stop();
  }
}
