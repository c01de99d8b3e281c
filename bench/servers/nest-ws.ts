import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { WebSocket, type Server } from 'ws';
import { runServer } from './harness.js';
import type { Peer, WsTransport } from './peer.js';

/** `@nestjs/platform-ws` with the usual hand-written broadcast loop over `server.clients` (it has no rooms). */
@WebSocketGateway({ path: '/ws' })
class BenchGateway {
  @WebSocketServer() server!: Server;

  @SubscribeMessage('join')
  join(@MessageBody() rooms: string | string[]) {
    return { event: 'joined', data: rooms };
  }

  broadcast(event: string, data: unknown): void {
    const message = JSON.stringify({ event, data });
    for (const client of this.server.clients) if (client.readyState === WebSocket.OPEN) client.send(message);
  }
}

@Module({ providers: [BenchGateway] })
class BenchModule {}

const app = await NestFactory.create(BenchModule, { logger: false });
app.useWebSocketAdapter(new WsAdapter(app));
const gateway = app.get(BenchGateway);

const peer: Peer = {
  path: '/ws',
  async start() {
    await app.listen(0, '127.0.0.1');
    return (app.getHttpServer().address() as { port: number }).port;
  },
  members: () => gateway.server.clients.size,
  broadcast: (_room, data) => gateway.broadcast('tick', data),
  transports: () => gateway.server.clients as unknown as Set<WsTransport>,
};

await runServer(peer);
