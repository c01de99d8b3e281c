import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Socket } from 'node:net';
import { writeHeapSnapshot } from 'node:v8';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { nowNs, serve, sleep, type Handlers } from '../ipc.js';
import { tick, type Peer } from './peer.js';

/** A room, or `count` rooms named `prefix0` .. `prefix{count-1}`. */
export interface RoomList {
  prefix: string;
  count?: number;
}

function roomNames(list: RoomList): string[] {
  if (list.count === undefined) return [list.prefix];
  return Array.from({ length: list.count }, (_, i) => `${list.prefix}${i}`);
}

function cpuNs(since?: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) * 1000;
}

/**
 * The kernel write replaced by a no-op: what is left is the library's own CPU. A callback (ws's
 * send path passes one for Socket.IO) still runs, a tick later, as after a real write.
 */
function noWrite(_chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
  const done = typeof encoding === 'function' ? encoding : callback;
  if (typeof done === 'function') process.nextTick(done as () => void);
  return true;
}

/** Bytes this process has read from connections to `port` (its Redis clients). */
export function bytesReadFrom(port: number): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  let total = 0;
  for (const handle of handles) if (handle instanceof Socket && handle.remotePort === port) total += handle.bytesRead;
  return total;
}

/** The V8 sampling profiler of this process (what `node --cpu-prof` runs), for one stretch only. */
async function startProfile(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return session;
}

async function stopProfile(session: Session, path: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(path, JSON.stringify(profile));
  session.disconnect();
}

/** Serves the orchestrator's commands for one peer in this process, and a peer's own `extra` ones. */
export async function runServer(peer: Peer, extra: Handlers = {}): Promise<void> {
  const port = await peer.start();
  let seq = 0;
  let burstCpu: NodeJS.CpuUsage | undefined;
  const broadcastAll = (rooms: string[]) => {
    for (const room of rooms) peer.broadcast(room, tick(++seq));
  };
  const deliveriesPerPass = async (rooms: string[]) => {
    let total = 0;
    for (const room of rooms) total += await peer.members(room);
    return total;
  };
  const stubWrites = async (rooms: string[]) => {
    for (const ws of peer.transports()) if (ws._socket !== null) ws._socket.write = noWrite;
    return deliveriesPerPass(rooms);
  };
  const stubbedStretch = async (rooms: string[], perPass: number, passes: number, scrapeEvery = 0) => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < passes; i++) {
      broadcastAll(rooms);
      await yieldToLoop();
      if (scrapeEvery > 0 && (i + 1) % scrapeEvery === 0) await peer.collector!.scrape();
    }
    const wallNs = (performance.now() - start) * 1e6;
    return { deliveries: perPass * passes, broadcasts: rooms.length * passes, cpuNs: cpuNs(cpu), wallNs };
  };

  serve(
    {
      /** Heap and RSS after a full GC. */
      async memory() {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (gc === undefined) throw new Error('run the server with --expose-gc');
        for (let i = 0; i < 3; i++) {
          gc();
          await sleep(20);
        }
        const { heapUsed, rss } = process.memoryUsage();
        return { heapUsed, rss };
      },
      members: ({ room }: { room: string }) => peer.members(room),
      /** Wall time of one synchronous broadcast, with real writes, in microseconds. */
      dispatch({ rooms }: { rooms: RoomList }) {
        const names = roomNames(rooms);
        const start = performance.now();
        broadcastAll(names);
        return (performance.now() - start) * 1000;
      },
      /**
       * `passes` broadcasts to every room, back to back (the loop yields between passes), or
       * `perTurn` of them in each synchronous block before it yields; returns at once.
       */
      burst({ rooms, passes, perTurn = 1 }: { rooms: RoomList; passes: number; perTurn?: number }) {
        const names = roomNames(rooms);
        burstCpu = process.cpuUsage();
        const start = nowNs();
        void (async () => {
          for (let i = 0; i < passes; i += perTurn) {
            for (let k = 0; k < perTurn && i + k < passes; k++) broadcastAll(names);
            await yieldToLoop();
          }
        })();
        return { start };
      },
      /** Starts counting CPU time here too (a server that takes part in another server's burst). */
      markCpu() {
        burstCpu = process.cpuUsage();
      },
      /** CPU time of this process since the last burst started (or `markCpu`), in nanoseconds. */
      cpu: () => cpuNs(burstCpu),
      /** Library CPU per delivery with every socket's kernel write stubbed (destructive: do it last). */
      async stubbed(args: { rooms: RoomList; passes: number; warmup: number; profile?: string }) {
        const { rooms, passes, warmup, profile } = args;
        const names = roomNames(rooms);
        const perPass = await stubWrites(names);
        await stubbedStretch(names, perPass, warmup);
        const session = profile === undefined ? undefined : await startProfile();
        const stretch = await stubbedStretch(names, perPass, passes);
        if (session !== undefined) await stopProfile(session, profile!);
        return stretch;
      },
      /** Every socket's kernel write stubbed from here on (destructive); the deliveries of one pass over `rooms`. */
      stubWrites: ({ rooms }: { rooms: RoomList }) => stubWrites(roomNames(rooms)),
      /**
       * One stretch of `passes` with writes stubbed (after `stubWrites`): its CPU and wall time. With
       * `scrapeEvery`, the collector (on) is scraped after every that many passes, by count, not time.
       */
      async stretch({ rooms, passes, scrapeEvery }: { rooms: RoomList; passes: number; scrapeEvery?: number }) {
        const names = roomNames(rooms);
        return stubbedStretch(names, await deliveriesPerPass(names), passes, scrapeEvery);
      },
      /** The peer's metrics collector on (registered, scraped every `intervalMs`) or off (unregistered). */
      collector({ on, intervalMs }: { on: boolean; intervalMs: number }) {
        const collector = peer.collector;
        if (collector === undefined) throw new Error('this peer has no metrics collector');
        if (on) collector.start(intervalMs);
        else collector.stop();
      },
      /**
       * Server CPU per scrape, in nanoseconds: `count` scrapes one after the other, with the collector
       * registered and not scraped on its own meanwhile; the median of 5 slices.
       */
      async scrapeCost({ count, collect = true }: { count: number; collect?: boolean }) {
        const collector = peer.collector;
        if (collector === undefined) throw new Error('this peer has no metrics collector');
        collector.start(2 ** 31 - 1);
        const slices: number[] = [];
        let bytes = 0;
        try {
          for (let slice = 0; slice < 5; slice++) {
            const cpu = process.cpuUsage();
            for (let i = 0; i < count; i++) bytes = (await collector.scrape()).length;
            slices.push(cpuNs(cpu) / count);
          }
        } finally {
          collector.stop();
        }
        // Its garbage collected here, not in whatever is measured next.
        if (collect) (globalThis as { gc?: () => void }).gc?.();
        return { nsPerScrape: slices.sort((a, b) => a - b)[2], bytes };
      },
      /**
       * Join+leave through the peer's API on its own sockets: each socket joins a room then leaves
       * it. Timed in `windows` slices whose median is the figure, so that one garbage collection
       * landing in a slice does not decide the run.
       */
      async joinLeave({
        roomCount,
        iterations,
        windows,
        profile,
      }: {
        roomCount: number;
        iterations: number;
        windows: number;
        profile?: string;
      }) {
        const ops = peer.roomOps;
        if (ops === undefined) throw new Error('this peer has no rooms');
        const sockets = ops.sockets();
        const names = Array.from({ length: roomCount }, (_, i) => `jl${i}`);
        let round = 0;
        const run = async (count: number) => {
          for (let end = round + count; round < end; round++) {
            for (let i = 0; i < sockets.length; i++) ops.join(sockets[i], names[(i + round) % roomCount]);
            await yieldToLoop();
            for (let i = 0; i < sockets.length; i++) ops.leave(sockets[i], names[(i + round) % roomCount]);
            await yieldToLoop();
          }
        };
        await run(Math.max(1, Math.floor(iterations / 5)));
        const session = profile === undefined ? undefined : await startProfile();
        const perWindow = Math.max(1, Math.floor(iterations / windows));
        const rates: number[] = [];
        for (let w = 0; w < windows; w++) {
          const cpu = process.cpuUsage();
          await run(perWindow);
          rates.push((sockets.length * perWindow) / (cpuNs(cpu) / 1e9));
        }
        if (session !== undefined) await stopProfile(session, profile!);
        return rates;
      },
      /**
       * `count` broadcasts to `room` (the monotonic time of each emit returned), each `intervalMs`
       * after the previous one's writes were handed to the kernel: the server idles between them,
       * whether it writes inline (during the broadcast) or at the end of the turn (the `setImmediate`
       * that ends it runs before this loop's own). A plain sleep after each broadcast would give a
       * peer that writes at the end of the turn less idle time.
       */
      async probe({ room, count, intervalMs }: { room: string; count: number; intervalMs: number }) {
        const sent: number[] = [];
        for (let i = 0; i < count; i++) {
          sent.push(nowNs());
          peer.broadcast(room, tick(++seq));
          await yieldToLoop();
          await sleep(intervalMs);
        }
        return sent;
      },
      heapSnapshot: ({ path }: { path: string }) => writeHeapSnapshot(path),
      redisBytes: ({ port: redisPort }: { port: number }) => bytesReadFrom(redisPort),
      ...extra,
    },
    { port, path: peer.path },
  );
}
