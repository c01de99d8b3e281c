import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { Registry } from 'prom-client';
import type { Server } from 'ws';
import { JoinRoom, RoomService, RoomsAdapter, RoomsModule, RoomSocket } from '../../lib/index.js';
import { registerRoomsMetrics } from '../../lib/prometheus/index.js';
import { RedisBroker } from '../../lib/redis/index.js';
import { runServer } from './harness.js';
import type { Peer, WsTransport } from './peer.js';

/**
 * nestjs-rooms as an app uses it: a `@JoinRoom` handler that replies, and `rooms.to(room).emit`.
 * The harness reaches the sockets through `ws`'s own client set, as it does for the other `ws` peers.
 */
@WebSocketGateway({ path: '/ws' })
class BenchGateway {
  @WebSocketServer() server!: Server<typeof RoomSocket>;

  @SubscribeMessage('join')
  @JoinRoom((rooms: string | string[]) => rooms)
  join(@MessageBody() rooms: string | string[]) {
    return { event: 'joined', data: rooms };
  }

  /** The chat storm's message: to the sender's room, the sender excluded; no reply. */
  @SubscribeMessage('say')
  say(@MessageBody() data: { room: string }, @ConnectedSocket() socket: RoomSocket) {
    socket.to(data.room).emit('said', data);
  }
}

const redisUrl = process.env.BENCH_REDIS_URL;
/** Set by ./nestjs-rooms-recovery.ts: the same server with connection recovery on. */
const recovery = process.env.BENCH_RECOVERY === '1' ? { recovery: {} } : {};

@Module({
  imports: [
    RoomsModule.forRoot({
      ...(redisUrl === undefined ? {} : { broker: new RedisBroker({ url: redisUrl }) }),
      ...recovery,
    }),
  ],
  providers: [BenchGateway],
})
class BenchModule {}

const app = await NestFactory.create(BenchModule, { logger: false });
/** Set by ./nestjs-rooms-uncoalesced.ts: the same server writing each frame as it comes. */
const coalesceWrites = process.env.BENCH_COALESCE !== '0';
app.useWebSocketAdapter(new RoomsAdapter(app, { coalesceWrites }));
const rooms = app.get(RoomService);
const gateway = app.get(BenchGateway);

/** Set by ./nestjs-rooms-metrics.ts: the Prometheus collector on, scraped once a second as Prometheus would. */
const SCRAPE_INTERVAL = 1000;
if (process.env.BENCH_METRICS === '1') {
  const registry = new Registry();
  registerRoomsMetrics(registry, rooms);
  setInterval(() => void registry.metrics(), SCRAPE_INTERVAL).unref();
}

const peer: Peer = {
  path: '/ws',
  async start() {
    await app.listen(0, '127.0.0.1');
    return (app.getHttpServer().address() as { port: number }).port;
  },
  members: (room) => rooms.in(room).local.count(),
  broadcast: (room, data) => rooms.to(room).emit('tick', data),
  transports: () => gateway.server.clients as unknown as Set<WsTransport>,
  roomOps: {
    sockets: () => [...gateway.server.clients],
    join: (socket: RoomSocket, room: string) => socket.join(room),
    leave: (socket: RoomSocket, room: string) => socket.leave(room),
  },
};

await runServer(peer);
