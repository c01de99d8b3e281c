import { fileURLToPath } from 'node:url';
import { HELD_FRAME_OVERHEAD } from '../../lib/recovery/held-frames.js';
import { Child, sleep } from '../ipc.js';
import type { Sizes } from '../sizes.js';
import { quantile } from '../stats.js';
import { CLIENT_CORE, SERVER_CORE, type Row } from './processes.js';

const script = (path: string) => fileURLToPath(new URL(path, import.meta.url));

interface Memory {
  heapUsed: number;
  arrayBuffers: number;
  rss: number;
}

interface Peaks {
  heap: number;
  rss: number;
  busy: number;
}

interface Settled {
  /** Reconnects without an answer when the wait ended, by what they were doing. */
  left: number;
  out: Record<string, number>;
  retries: number;
  recovered: number;
  failed: Record<string, number>;
  replayed: number;
  recoverMs: number[];
  firstStart: number;
  lastStart: number;
  lastRecovered: number;
}

interface Check {
  behind: number;
  gaps: number;
  duplicates: number;
  received: number;
}

interface Latencies {
  arrivals: number[];
  latencies: number[];
}

const MiB = 2 ** 20;

async function startRecoveryServer(): Promise<{ child: Child; url: string }> {
  const child = Child.spawn('recovery server', script('../servers/recovery-server.js'), [], {
    core: SERVER_CORE,
    nodeArgs: ['--expose-gc'],
  });
  const info = (await child.ready) as { port: number; path: string };
  return { child, url: `ws://127.0.0.1:${info.port}${info.path}` };
}

async function startClients(name: string): Promise<Child> {
  const child = Child.spawn(name, script('../recovering-clients.js'), [], { core: CLIENT_CORE });
  await child.ready;
  return child;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`recovery: ${what}`);
    await sleep(20);
  }
}

const ms = (ns: number) => ns / 1e6;

/** p50 and p99 of the latencies (ms) of deliveries that arrived between `from` and `to` (monotonic ns). */
function window(samples: Latencies, from: number, to: number): { p50: number; p99: number; n: number } {
  const picked: number[] = [];
  samples.arrivals.forEach((at, i) => {
    if (at >= from && at <= to) picked.push(ms(samples.latencies[i]));
  });
  return { p50: quantile(picked, 0.5), p99: quantile(picked, 0.99), n: picked.length };
}

/**
 * The recovery storm: one server with recovery on, `stormSockets` sockets that will drop and
 * `stormSteady` that stay, spread over `stormRooms` rooms, while `stormRate` broadcasts a second
 * go round robin to those rooms. Every dropping socket's TCP connection is cut at once (no close
 * frame) in its client process, and each reconnects at a random moment within `stormSpreadMs`
 * with its token and last offset. Measured: the time from the drop until the last socket has read
 * its replay, each reconnect's time to that point, frames replayed per second, the server's peak
 * heap and CPU, gaps and duplicates in every socket's ticks (and any socket that never caught up
 * with its room's last tick), and the delivery latency of the sockets that stayed, before and
 * during the storm. The steady sockets have a client process of their own, so that their
 * latency is not the storm's client work.
 */
export async function storm(run: number, sizes: Sizes): Promise<Row> {
  const server = await startRecoveryServer();
  const children: Child[] = [server.child];
  try {
    const [dropping, steady] = await Promise.all([startClients('storm clients'), startClients('steady clients')]);
    children.push(dropping, steady);
    const roomCount = sizes.stormRooms;
    await dropping.call('connect', { url: server.url, count: sizes.stormSockets, first: 0, roomCount });
    await steady.call('connect', {
      url: server.url,
      count: sizes.stormSteady,
      first: sizes.stormSockets,
      roomCount,
      record: true,
    });
    const baseline = await server.child.call<Memory>('memory');

    await server.child.call('startStream', { roomCount, rate: sizes.stormRate });
    await sleep(sizes.stormWindowMs); // warm up
    await steady.call('latencies');
    await server.child.call('sample');
    await sleep(sizes.stormWindowMs);
    const calm = await server.child.call<Peaks>('peaks');
    const before = await steady.call<Latencies>('latencies');
    const calmStart = before.arrivals[0] ?? 0;

    await server.child.call('sample');
    const dropAt = await dropping.call<number>('drop', { spreadMs: sizes.stormSpreadMs });
    const settled = await dropping.call<Settled>('settled', { timeoutMs: 60_000 }, 90_000);
    const peaks = await server.child.call<Peaks>('peaks');
    const during = await steady.call<Latencies>('latencies');

    await sleep(sizes.stormWindowMs); // live again: the seam after the replay
    const finals = await server.child.call<number[]>('stopStream');
    let checks: Check[] = [];
    await until(
      async () => {
        checks = await Promise.all([dropping, steady].map((c) => c.call<Check>('check', { finals })));
        return checks.every((c) => c.behind === 0);
      },
      'sockets never caught up',
      10_000,
    ).catch(() => undefined);
    const [storming, staying] = checks;
    const notRecovered = sizes.stormSockets - settled.recovered;
    if (notRecovered > 0) {
      const why = { refused: settled.failed, unanswered: settled.out };
      process.stderr.write(`storm: ${notRecovered} not recovered: ${JSON.stringify(why)}\n`);
    }

    const calmLatency = window(before, calmStart, Infinity);
    const stormLatency = window(during, dropAt, settled.lastRecovered);
    const replaySeconds = (settled.lastRecovered - settled.firstStart) / 1e9;
    return {
      scenario: 'storm',
      peer: 'nestjs-rooms-recovery',
      size: sizes.stormSockets,
      run,
      metrics: {
        recoverAllMs: ms(settled.lastRecovered - dropAt),
        afterLastReconnectMs: ms(settled.lastRecovered - settled.lastStart),
        reconnectP50Ms: quantile(settled.recoverMs, 0.5),
        reconnectP99Ms: quantile(settled.recoverMs, 0.99),
        reconnectMaxMs: quantile(settled.recoverMs, 1),
        replayedFrames: settled.replayed,
        replayedPerSec: settled.replayed / replaySeconds,
        notRecovered,
        retries: settled.retries,
        lost: storming.gaps + storming.behind,
        duplicates: storming.duplicates,
        steadyLost: staying.gaps + staying.behind,
        steadyDuplicates: staying.duplicates,
        baselineHeapMiB: baseline.heapUsed / MiB,
        calmPeakHeapMiB: calm.heap / MiB,
        peakHeapMiB: peaks.heap / MiB,
        peakRssMiB: peaks.rss / MiB,
        calmBusy: calm.busy,
        stormBusy: peaks.busy,
        steadyCalmP50Ms: calmLatency.p50,
        steadyCalmP99Ms: calmLatency.p99,
        steadyStormP50Ms: stormLatency.p50,
        steadyStormP99Ms: stormLatency.p99,
      },
    };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

/**
 * What recovery holds, on one server with recovery on: `waitingSessions` sockets, each in two
 * rooms (names shared with others), connect and then drop at once; heap after `gc()` with them
 * waiting minus before the first connected, per session. Then `heldFrames` broadcasts of each of
 * `heldFrameSizes` bytes to a room only waiting sessions are in, so every one is held: heap plus
 * the buffers' memory (`arrayBuffers`) added, per frame and per frame byte, beside what the log
 * counts toward `maxBufferedBytes` for them.
 */
export async function recoveryMemory(run: number, sizes: Sizes): Promise<Row> {
  const server = await startRecoveryServer();
  const children: Child[] = [server.child];
  try {
    const clients = await startClients('recovery clients');
    children.push(clients);
    const n = sizes.waitingSessions;
    const base = await server.child.call<Memory>('memory');
    await clients.call('connect', { url: server.url, count: n, first: 0, roomCount: 100, extraRoom: 'all' });
    const connected = await server.child.call<Memory>('memory');
    await clients.call('drop', { spreadMs: 0, reconnect: false });
    await until(
      async () =>
        (await server.child.call<number>('waiting')) === n &&
        (await server.child.call<number>('members', { room: 'all' })) === 0,
      'sessions never all waited',
    );
    const waiting = await server.child.call<Memory>('memory');

    const metrics: Record<string, number> = {
      heapPerConnected: (connected.heapUsed - base.heapUsed) / n,
      heapPerSession: (waiting.heapUsed - base.heapUsed) / n,
    };
    let last = waiting;
    let held = await server.child.call<{ frames: number; bytes: number }>('held');
    for (const bytes of sizes.heldFrameSizes) {
      await server.child.call('emitSized', { room: 'all', count: sizes.heldFrames, bytes });
      const now = await server.child.call<Memory>('memory');
      const after = await server.child.call<{ frames: number; bytes: number }>('held');
      const frames = after.frames - held.frames;
      if (frames !== sizes.heldFrames) throw new Error(`recovery: ${frames}/${sizes.heldFrames} frames held`);
      const counted = after.bytes - held.bytes;
      const frameBytes = counted - frames * HELD_FRAME_OVERHEAD;
      const memory = now.heapUsed - last.heapUsed + (now.arrayBuffers - last.arrayBuffers);
      metrics[`frameSize${bytes}`] = frameBytes / frames;
      metrics[`perFrame${bytes}`] = memory / frames;
      metrics[`perFrameHeap${bytes}`] = (now.heapUsed - last.heapUsed) / frames;
      metrics[`perByte${bytes}`] = memory / frameBytes;
      metrics[`ofCounted${bytes}`] = memory / counted;
      last = now;
      held = after;
    }
    return { scenario: 'recovery-memory', peer: 'nestjs-rooms-recovery', size: n, run, metrics };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}
