import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import {
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
  type OnGatewayConnection,
} from '@nestjs/websockets';
import { RoomsModule, type RoomSocket } from '../../lib/index.js';
import { EXCEPTION_MESSAGE_LIMIT } from '../../lib/rooms.constants.js';
import { startApp, type TestApp } from '../support/app.js';
import { TestClient } from '../support/client.js';

/*
 * Exception frames carry a status and a bounded message, never what the client sent: Nest 12's
 * filter would echo the client's data back as `cause`, making each answer as large as the frame
 * that caused it, or larger.
 */

@WebSocketGateway({ path: '/errors' })
class ErrorGateway implements OnGatewayConnection {
  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id });
  }

  @SubscribeMessage('reject')
  reject(@MessageBody() data: { message: string }) {
    throw new WsException(data.message);
  }

  @SubscribeMessage('reject-object')
  rejectObject(@MessageBody() data: unknown) {
    throw new WsException({ message: 'refused', echo: data });
  }

  @SubscribeMessage('crash')
  crash() {
    throw new Error('internal detail');
  }
}

@Module({ imports: [RoomsModule.forRoot()], providers: [ErrorGateway] })
class ErrorModule {}

describe('exception frames', () => {
  let app: TestApp;
  let client: TestClient;
  const bulk = 'client data '.repeat(10_000);

  before(async () => {
    app = await startApp(ErrorModule);
    client = await TestClient.connect(app.url('/errors'));
  });

  after(async () => {
    await client.close();
    await app.close();
  });

  it("answers a handler's WsException with status and message only, not the client's data", async () => {
    client.send({ event: 'reject', data: { message: 'no', bulk }, id: 'r' });
    assert.deepEqual(await client.next(), { event: 'exception', data: { status: 'error', message: 'no' }, id: 'r' });
  });

  it('keeps only the message of an object error', async () => {
    client.send({ event: 'reject-object', data: { bulk }, id: 2 });
    assert.deepEqual(await client.next(), { event: 'exception', data: { status: 'error', message: 'refused' }, id: 2 });
  });

  it("answers a plain Error with Nest's generic message, without the client's data", async () => {
    client.send({ event: 'crash', data: { bulk } });
    assert.deepEqual(await client.next(), {
      event: 'exception',
      data: { status: 'error', message: 'Internal server error' },
    });
  });

  it(`cuts a message to ${EXCEPTION_MESSAGE_LIMIT} characters`, async () => {
    client.send({ event: 'reject', data: { message: bulk }, id: 3 });
    assert.deepEqual(await client.next(), {
      event: 'exception',
      data: { status: 'error', message: bulk.slice(0, EXCEPTION_MESSAGE_LIMIT) },
      id: 3,
    });
  });
});
