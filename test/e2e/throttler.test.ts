import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Injectable, Module, UseGuards, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
  type OnGatewayConnection,
} from '@nestjs/websockets';
import { JoinRoom, RoomsModule, type RoomSocket } from '../../lib/index.js';
import { startApp } from '../support/app.js';
import { closeAll, TestClient } from '../support/client.js';

/** @nestjs/throttler's guard, reading the client from the WebSocket context (as the README shows). */
@Injectable()
class WsThrottlerGuard extends ThrottlerGuard {
  protected override getRequestResponse(context: ExecutionContext) {
    const socket = context.switchToWs().getClient<RoomSocket>();
    return { req: { socketId: socket.id, headers: socket.handshake.headers }, res: socket };
  }

  /** One budget per socket, so one noisy client does not throttle its neighbours. */
  protected override async getTracker(req: Record<string, any>): Promise<string> {
    return req.socketId as string;
  }

  protected override async throwThrottlingException(): Promise<void> {
    throw new WsException('Too many requests');
  }
}

@WebSocketGateway({ path: '/throttled' })
class ThrottledGateway implements OnGatewayConnection {
  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id });
  }

  @UseGuards(WsThrottlerGuard)
  @SubscribeMessage('join')
  @JoinRoom((data: { room: string }) => data.room)
  join(@MessageBody() data: { room: string }) {
    return { event: 'joined', data: data.room };
  }

  @SubscribeMessage('rooms')
  rooms(@ConnectedSocket() socket: RoomSocket) {
    return { event: 'rooms', data: [...socket.rooms].slice(1) };
  }
}

@Module({
  imports: [RoomsModule.forRoot(), ThrottlerModule.forRoot([{ ttl: 60_000, limit: 3 }])],
  providers: [ThrottledGateway],
})
class ThrottledModule {}

it("@nestjs/throttler's guard limits a room handler per socket, and a throttled frame joins nothing", async () => {
  const app = await startApp(ThrottledModule);
  const [noisy, calm] = await Promise.all([
    TestClient.connect(app.url('/throttled')),
    TestClient.connect(app.url('/throttled')),
  ]);
  for (const room of ['a', 'b', 'c'])
    assert.deepEqual(await noisy.request('join', { room }), { event: 'joined', data: room });
  const refused = await noisy.request('join', { room: 'd' }, 9);
  assert.equal(refused.event, 'exception');
  assert.equal(refused.id, 9);
  assert.equal(refused.data.message, 'Too many requests');
  assert.deepEqual(await noisy.request('rooms'), { event: 'rooms', data: ['a', 'b', 'c'] });
  // Another client has its own budget and keeps getting broadcasts.
  assert.deepEqual(await calm.request('join', { room: 'a' }), { event: 'joined', data: 'a' });
  app.rooms.to('a').emit('news');
  assert.deepEqual(await noisy.next(), { event: 'news' });
  assert.deepEqual(await calm.next(), { event: 'news' });
  await closeAll([noisy, calm]);
  await app.close();
});
