import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
} from '@nestjs/websockets';
import { WebSocket } from 'ws';
import { JoinRoom, RoomsModule, type RoomSocket } from '../../lib/index.js';
import { TOO_MANY_PENDING } from '../../lib/rooms.messages.js';
import { startApp } from '../support/app.js';
import { ChatGateway, ChatModule } from '../support/chat.fixture.js';
import { closeAll, TestClient } from '../support/client.js';
import { nextTurn } from '../support/timing.js';

/** The HTTP status an upgrade was refused with. */
async function refusedWith(url: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(url, { headers });
  ws.on('error', () => undefined); // aborting a refused handshake reports one
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  ws.terminate();
  return response.statusCode!;
}

describe('authenticate', () => {
  it('admits with data, refuses with 401 before any socket exists', async () => {
    const app = await startApp(ChatModule, {
      authenticate: async (request: IncomingMessage) => {
        const token = request.headers['x-token'];
        if (token === 'boom') throw new Error('auth backend down');
        return token === 'ann' ? { user: 'ann' } : false;
      },
    });
    const gateway = app.app.get(ChatGateway);
    const ann = await TestClient.connect(app.url('/chat'), { headers: { 'x-token': 'ann' } });
    const [remote] = await app.rooms.in(ann.id).fetchSockets();
    assert.deepEqual(remote.data, { user: 'ann' });

    assert.equal(await refusedWith(app.url('/chat'), { 'x-token': 'eve' }), 401);
    assert.equal(await refusedWith(app.url('/chat'), { 'x-token': 'boom' }), 401);
    assert.equal(await refusedWith(app.url('/chat')), 401);
    // No socket, no room, no handleConnection for the refused ones.
    assert.equal(await app.rooms.count(), 1);
    assert.deepEqual(app.registrySize(), { rooms: 1, sockets: 1 });
    assert.equal(gateway.disconnects.length, 0);
    await ann.close();
    await app.close();
  });
});

describe('maxConnections', () => {
  it('answers upgrades past the limit with 503, and admits again once one leaves', async () => {
    const app = await startApp(ChatModule, { maxConnections: 2 });
    const [a, b] = await Promise.all([TestClient.connect(app.url('/chat')), TestClient.connect(app.url('/chat'))]);
    assert.equal(await refusedWith(app.url('/chat')), 503);
    await a.close();
    await app.app.get(ChatGateway).disconnected(a.id);
    const c = await TestClient.connect(app.url('/chat'));
    assert.equal(await app.rooms.count(), 2);
    await closeAll([b, c]);
    await app.close();
  });
});

/** A handler that holds its reply until the test releases it. */
@WebSocketGateway({ path: '/slow' })
class HoldGateway implements OnGatewayConnection {
  readonly held: Array<() => void> = [];

  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id });
  }

  @SubscribeMessage('hold')
  async hold(@MessageBody() data: number) {
    await new Promise<void>((resolve) => this.held.push(resolve));
    return data;
  }

  @SubscribeMessage('join')
  @JoinRoom((data: { room: string }) => data.room)
  join(@MessageBody() data: { room: string }, @ConnectedSocket() socket: RoomSocket) {
    return { event: 'joined', data: { room: data.room, id: socket.id } };
  }
}

@Module({ imports: [RoomsModule.forRoot()], providers: [HoldGateway] })
class HoldModule {}

const heldCount = (gateway: HoldGateway) => gateway.held.length;

describe('maxPendingFrames', () => {
  it('answers frames past the limit with an exception and serves the socket again once handlers finish', async () => {
    const app = await startApp(HoldModule, { maxPendingFrames: 3 });
    const gateway = app.app.get(HoldGateway);
    const client = await TestClient.connect(app.url('/slow'));
    for (let i = 1; i <= 4; i++) client.send({ event: 'hold', data: i, id: i });
    assert.deepEqual(await client.next(), {
      event: 'exception',
      data: { status: 'error', message: TOO_MANY_PENDING(3) },
      id: 4,
    });
    assert.equal(gateway.held.length, 3);
    for (const release of gateway.held.splice(0)) release();
    const replies = [await client.next(), await client.next(), await client.next()];
    assert.deepEqual(
      replies.map((reply) => reply.id),
      [1, 2, 3],
    );
    client.send({ event: 'hold', data: 5, id: 5 });
    while (heldCount(gateway) === 0) await nextTurn();
    gateway.held.pop()!();
    assert.deepEqual(await client.next(), { event: 'hold', data: 5, id: 5 });
    await client.close();
    await app.close();
  });
});

// Held frames count as unsent bytes: the watermarks judge the same with write coalescing on and off.
for (const coalesceWrites of [true, false]) {
  describe(`slow consumers (coalesceWrites: ${coalesceWrites})`, () => {
    it('drops volatile events above the low watermark and sheds a socket above the high one; fast sockets get everything', async () => {
      const app = await startApp(HoldModule, {
        lowWatermark: 16 * 1024,
        highWatermark: 512 * 1024,
        coalesceWrites,
      });
      const [fast, slow] = await Promise.all([
        TestClient.connect(app.url('/slow')),
        TestClient.connect(app.url('/slow')),
      ]);
      await fast.request('join', { room: 'feed' });
      await slow.request('join', { room: 'feed' });
      const [slowSocket] = (await app.rooms.in(slow.id).fetchSockets()).map((socket) => socket.id);
      assert.equal(slowSocket, slow.id);

      // The slow client stops reading: the server's buffer for it can only grow.
      const raw = slow.tcp;
      raw.pause();
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      let volatileSent = 0;
      while ((await app.rooms.in(slow.id).count()) === 1 && sent < 5000) {
        app.rooms.to('feed').emit('chunk', { n: sent++, chunk });
        app.rooms.to('feed').volatile.emit('tick', volatileSent++);
        await nextTurn();
      }
      assert.ok(sent < 5000, 'the slow consumer was shed');
      assert.equal(await app.rooms.in('feed').count(), 1, 'it left its rooms');

      // The fast client got every chunk and every volatile tick, in order.
      for (let n = 0; n < sent; n++) {
        assert.deepEqual(await fast.next(), { event: 'chunk', data: { n, chunk } });
        assert.deepEqual(await fast.next(), { event: 'tick', data: n });
      }
      raw.resume();
      const closed = await slow.closed;
      assert.ok(closed.code === 1013 || closed.code === 1006, `closed with ${closed.code}`);
      await fast.close();
      await app.close();
    });
  });
}
