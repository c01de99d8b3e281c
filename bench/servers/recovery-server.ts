import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessageBody, SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import { performance } from 'node:perf_hooks';
import { JoinRoom, RoomService, RoomsAdapter, RoomsModule, type RoomSocket } from '../../lib/index.js';
import { RoomsServer } from '../../lib/rooms.server.js';
import { nowNs, serve, sleep } from '../ipc.js';

/**
 * The server of the recovery scenarios (bench/scenarios/recovery.ts): nestjs-rooms with connection
 * recovery on (default limits), a `@JoinRoom` handler that replies, and a steady stream of
 * broadcasts to rooms. A recovered socket is sent one `mark` frame from `handleConnection`, which
 * runs in the same turn right after its replay: the frames its client reads between its session
 * frame and the mark are exactly the replayed ones.
 */
const MARK = JSON.stringify({ event: 'mark' });
const TEXT = 'the quick brown fox jumps over the lazy';

@WebSocketGateway({ path: '/ws' })
class RecoveryBenchGateway implements OnGatewayConnection {
  handleConnection(socket: RoomSocket): void {
    if (socket.recovered) socket.send(MARK);
  }

  @SubscribeMessage('join')
  @JoinRoom((rooms: string | string[]) => rooms)
  join(@MessageBody() rooms: string | string[]) {
    return { event: 'joined', data: rooms };
  }
}

@Module({
  imports: [RoomsModule.forRoot({ recovery: {} })],
  providers: [RecoveryBenchGateway],
})
class RecoveryBenchModule {}

const app = await NestFactory.create(RecoveryBenchModule, { logger: false });
app.useWebSocketAdapter(new RoomsAdapter(app));
await app.init();
// 5,000 reconnects within 2 s: a listen queue that holds them all (Node's default is 511), as a
// server that expects reconnect storms sets it; past it the kernel drops handshakes.
await new Promise<void>((resolve) =>
  app.getHttpServer().listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => resolve()),
);
const port = (app.getHttpServer().address() as { port: number }).port;
const rooms = app.get(RoomService);
const recovery = app.get(RoomsServer, { strict: false }).recovery!;

interface Memory {
  heapUsed: number;
  arrayBuffers: number;
  rss: number;
}

async function memory(): Promise<Memory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run the server with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  const { heapUsed, arrayBuffers, rss } = process.memoryUsage();
  return { heapUsed, arrayBuffers, rss };
}

/** The stream: `rate` broadcasts a second in all, round robin over rooms `s0..s{n-1}`, each with its own `seq`. */
let stream: { timer: NodeJS.Timeout; seqs: number[]; sent: number } | undefined;
/** The highest heap and RSS seen since `sample` started, read every few milliseconds. */
let sampler: { timer: NodeJS.Timeout; heap: number; rss: number; cpu: NodeJS.CpuUsage; start: number } | undefined;

function sampleOnce(): void {
  if (sampler === undefined) return;
  const { heapUsed, rss } = process.memoryUsage();
  if (heapUsed > sampler.heap) sampler.heap = heapUsed;
  if (rss > sampler.rss) sampler.rss = rss;
}

serve(
  {
    memory,
    members: ({ room }: { room: string }) => rooms.in(room).local.count(),
    /** Sessions waiting here (moving ones included). */
    waiting: () => recovery.waitingCount,
    /** Frames the recovery log holds, and the bytes it counts for them. */
    held: () => ({ frames: recovery.frames.size, bytes: recovery.frames.bytes }),
    /**
     * Starts the stream. It keeps its rate by the clock: a timer that fires late sends every
     * broadcast that fell due meanwhile, as a steady source of events would have.
     */
    startStream({ roomCount, rate }: { roomCount: number; rate: number }) {
      const seqs = new Array<number>(roomCount).fill(0);
      const started = performance.now();
      const state = { seqs, sent: 0, timer: undefined as unknown as NodeJS.Timeout };
      state.timer = setInterval(() => {
        const due = Math.floor(((performance.now() - started) / 1000) * rate);
        while (state.sent < due) {
          const r = state.sent++ % roomCount;
          const room = `s${r}`;
          rooms.to(room).emit('tick', { seq: ++seqs[r], room, t: nowNs(), text: TEXT });
        }
      }, 2);
      stream = state;
    },
    /** Stops the stream; the last `seq` of each room. */
    stopStream() {
      if (stream === undefined) throw new Error('no stream');
      clearInterval(stream.timer);
      const { seqs } = stream;
      stream = undefined;
      return seqs;
    },
    /** Starts watching the peak heap and RSS, and counting CPU time. */
    sample() {
      sampler = { heap: 0, rss: 0, cpu: process.cpuUsage(), start: nowNs(), timer: setInterval(sampleOnce, 5) };
      sampleOnce();
    },
    /** The peaks since `sample`, and CPU time over wall time. */
    peaks() {
      if (sampler === undefined) throw new Error('not sampling');
      sampleOnce();
      clearInterval(sampler.timer);
      const used = process.cpuUsage(sampler.cpu);
      const busy = ((used.user + used.system) * 1000) / (nowNs() - sampler.start);
      const { heap, rss } = sampler;
      sampler = undefined;
      return { heap, rss, busy };
    },
    /** `count` broadcasts of a `tick` whose `text` makes each frame about `bytes` long, to `room`. */
    async emitSized({ room, count, bytes }: { room: string; count: number; bytes: number }) {
      const text = 'x'.repeat(Math.max(0, bytes - 60));
      for (let i = 0; i < count; i++) {
        rooms.to(room).emit('tick', { seq: i, text });
        if (i % 1000 === 999) await sleep(0);
      }
    },
  },
  { port, path: '/ws' },
);
