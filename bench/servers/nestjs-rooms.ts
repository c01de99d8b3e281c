import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import { JoinRoom, RoomService, RoomsAdapter, RoomsModule, type RoomSocket } from '../../lib/index.js';
import { RedisBroker } from '../../lib/redis/index.js';
import { runServer } from './harness.js';
import type { Peer, WsTransport } from './peer.js';

/** nestjs-rooms as an app uses it: a `@JoinRoom` handler that replies, and `rooms.to(room).emit`. */
@WebSocketGateway({ path: '/ws' })
class BenchGateway implements OnGatewayConnection, OnGatewayDisconnect {
  readonly sockets = new Set<RoomSocket>();

  handleConnection(socket: RoomSocket): void {
    this.sockets.add(socket);
  }

  handleDisconnect(socket: RoomSocket): void {
    this.sockets.delete(socket);
  }

  @SubscribeMessage('join')
  @JoinRoom((rooms: string | string[]) => rooms)
  join(@MessageBody() rooms: string | string[]) {
    return { event: 'joined', data: rooms };
  }
}

const redisUrl = process.env.BENCH_REDIS_URL;

@Module({
  imports: [RoomsModule.forRoot(redisUrl === undefined ? {} : { broker: new RedisBroker({ url: redisUrl }) })],
  providers: [BenchGateway],
})
class BenchModule {}

const app = await NestFactory.create(BenchModule, { logger: false });
app.useWebSocketAdapter(new RoomsAdapter(app));
const rooms = app.get(RoomService);
const gateway = app.get(BenchGateway);

const peer: Peer = {
  path: '/ws',
  async start() {
    await app.listen(0, '127.0.0.1');
    return (app.getHttpServer().address() as { port: number }).port;
  },
  members: (room) => rooms.in(room).local.count(),
  broadcast: (room, data) => rooms.to(room).emit('tick', data),
  transports: () => gateway.sockets as unknown as Set<WsTransport>,
  roomOps: {
    sockets: () => [...gateway.sockets],
    join: (socket: RoomSocket, room: string) => socket.join(room),
    leave: (socket: RoomSocket, room: string) => socket.leave(room),
  },
};

await runServer(peer);
