import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { Registry } from 'prom-client';
import type { Server } from 'ws';
import { JoinRoom, RoomService, RoomsAdapter, RoomsModule, RoomSocket } from '../../lib/index.js';
import { registerRoomsMetrics } from '../../lib/prometheus/index.js';
import { benchBroker, CountingBroker, roomOfChannel } from './bench-broker.js';
import { TrafficCounter, trafficHandlers } from './broker-traffic.js';
import { runServer } from './harness.js';
import type { Collector, Peer, WsTransport } from './peer.js';

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

/** With BENCH_COUNT_BROKER=1, what the broker hands over is counted by room (./broker-traffic.ts). */
const counter =
  process.env.BENCH_COUNT_BROKER === '1'
    ? new TrafficCounter(roomOfChannel, async (room) => (await rooms.in(room).local.count()) > 0)
    : undefined;
const inner = await benchBroker();
const broker = inner === undefined || counter === undefined ? inner : new CountingBroker(inner, counter);
/** Set by ./nestjs-rooms-recovery.ts: the same server with connection recovery on. */
const recovery = process.env.BENCH_RECOVERY === '1' ? { recovery: {} } : {};

@Module({
  imports: [
    RoomsModule.forRoot({
      ...(broker === undefined ? {} : { broker }),
      ...recovery,
    }),
  ],
  providers: [BenchGateway],
})
class BenchModule {}

const app = await NestFactory.create(BenchModule, { logger: false });
/** Set by the metrics scenario, whose stretches with writes stubbed (pongs unseen) outlast the default 25 s. */
const heartbeatInterval = Number(process.env.BENCH_HEARTBEAT_INTERVAL ?? 0) || undefined;
/** Set by ./nestjs-rooms-uncoalesced.ts: the same server writing each frame as it comes. */
const coalesceWrites = process.env.BENCH_COALESCE !== '0';
app.useWebSocketAdapter(
  new RoomsAdapter(app, heartbeatInterval === undefined ? { coalesceWrites } : { coalesceWrites, heartbeatInterval }),
);
const rooms = app.get(RoomService);
const gateway = app.get(BenchGateway);

/** The Prometheus collector on a registry of its own, scraped as Prometheus would, while it is on. */
function prometheusCollector(): Collector {
  const registry = new Registry();
  let unregister: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    clearInterval(timer);
    unregister?.();
    timer = unregister = undefined;
  };
  return {
    start(intervalMs) {
      stop();
      unregister = registerRoomsMetrics(registry, rooms);
      timer = setInterval(() => void registry.metrics(), intervalMs).unref();
    },
    stop,
    scrape: () => registry.metrics(),
  };
}

const collector = prometheusCollector();
/** Set by ./nestjs-rooms-metrics.ts: the collector on from the start, scraped once a second. */
if (process.env.BENCH_METRICS === '1') collector.start(1000);

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
  collector,
};

await runServer(peer, trafficHandlers(counter));
