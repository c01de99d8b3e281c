import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import { WebSocket } from 'ws';
import { RoomService, RoomsAdapter, RoomsModule, type RoomSocket } from '../../lib/index.js';
import { RedisBroker } from '../../lib/redis/index.js';
import { nowNs, serve, sleep } from '../ipc.js';
import { bytesReadFrom } from './harness.js';

/**
 * One server of the presence scenario (bench/scenarios/presence.ts) on the Redis at
 * `BENCH_REDIS_URL`: it opens its own sockets (presence costs nothing per message on the wire to
 * clients, so they need no other process), tracks them, and records every `'presence'` event.
 */
@WebSocketGateway({ path: '/ws' })
class PresenceBenchGateway implements OnGatewayConnection {
  readonly sockets: RoomSocket[] = [];
  handleConnection(socket: RoomSocket): void {
    this.sockets.push(socket);
  }
}

const url = process.env.BENCH_REDIS_URL;
if (url === undefined) throw new Error('BENCH_REDIS_URL is not set');

@Module({
  imports: [RoomsModule.forRoot({ broker: new RedisBroker({ url, heartbeatInterval: 1000, heartbeatTimeout: 5000 }) })],
  providers: [PresenceBenchGateway],
})
class PresenceBenchModule {}

const app = await NestFactory.create(PresenceBenchModule, { logger: false });
app.useWebSocketAdapter(new RoomsAdapter(app));
await app.listen(0, '127.0.0.1');
const port = (app.getHttpServer().address() as { port: number }).port;
const rooms = app.get(RoomService);
const gateway = app.get(PresenceBenchGateway);
const clients: WebSocket[] = [];
/** Every presence event: when it fired (ns, monotonic) and the keys it joined. */
let events: Array<{ at: number; room: string; joins: string[] }> = [];
rooms.on('presence', (room, { joins }) => events.push({ at: nowNs(), room, joins: Object.keys(joins) }));

async function heapUsed(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run the server with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  return process.memoryUsage().heapUsed;
}

serve(
  {
    /** Opens `count` more sockets to this server; resolves once it holds them all. */
    async open({ count }: { count: number }) {
      const target = gateway.sockets.length + count;
      for (let i = 0; i < count; i++) clients.push(new WebSocket(`ws://127.0.0.1:${port}/ws`));
      while (gateway.sockets.length < target) await sleep(10);
      return gateway.sockets.length;
    },
    /** Tracks sockets `from` to `to - 1` in `room`, each under its own key, with a small meta. */
    async track({ room, from, to }: { room: string; from: number; to: number }) {
      for (let i = from; i < to; i++) await gateway.sockets[i].track(room, `user-${i}`, { name: `User ${i}` });
    },
    /** Tracks socket `i` in `room` one at a time, every `intervalMs`; returns when each track started (ns). */
    async probe({ room, from, count, intervalMs }: { room: string; from: number; count: number; intervalMs: number }) {
      const sent: number[] = [];
      for (let i = 0; i < count; i++) {
        sent.push(nowNs());
        await gateway.sockets[from + i].track(room, `probe-${i}`);
        await sleep(intervalMs);
      }
      return sent;
    },
    /** How many entries `room` holds here. */
    size: ({ room }: { room: string }) =>
      Object.values(rooms.presence(room)).reduce((sum, metas) => sum + metas.length, 0),
    /** Nanoseconds per `presence(room)` call, the median of `batches` batches of `reads`. */
    read({ room, reads, batches }: { room: string; reads: number; batches: number }) {
      const perRead: number[] = [];
      let keep = 0;
      for (let b = 0; b < batches; b++) {
        const start = nowNs();
        for (let i = 0; i < reads; i++) keep += Object.keys(rooms.presence(room)).length;
        perRead.push((nowNs() - start) / reads);
      }
      if (keep < 0) throw new Error('unreachable');
      return perRead.sort((a, b) => a - b)[Math.floor(perRead.length / 2)];
    },
    heap: () => heapUsed(),
    events: () => events,
    reset() {
      events = [];
    },
    redisBytes: ({ port: redisPort }: { port: number }) => bytesReadFrom(redisPort),
  },
  { port },
);
