import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { RoomsAdapter, RoomService } from '../../lib/index.js';
import { FastifyRoomsModule } from '../support/adapter.fixture.js';
import { HookRecorder, type HookCall } from '../support/hook-recorder.js';
import { within } from '../support/timing.js';
import { closeAll, TestClient } from '../support/client.js';

/** A hook call as this file compares it: the socket's rooms sorted, no socket object or time. */
const seen = ({ hook, id, socketRooms, rooms, reason }: HookCall) => ({
  hook,
  id,
  socketRooms: [...socketRooms].sort(),
  rooms,
  reason,
});

describe('RoomsAdapter on @nestjs/platform-fastify', () => {
  let app: NestFastifyApplication;
  let base: string;
  let closing: Promise<void> | undefined;
  const closeApp = () => (closing ??= app.close());

  before(async () => {
    app = await NestFactory.create<NestFastifyApplication>(FastifyRoomsModule, new FastifyAdapter(), {
      logger: false,
    });
    app.useWebSocketAdapter(new RoomsAdapter(app));
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    base = `127.0.0.1:${port}`;
  });
  after(() => closeApp());

  it('joins through @JoinRoom, broadcasts from an HTTP route through RoomService, and runs the disconnect hooks', async (t) => {
    const recorder = app.get(HookRecorder);
    const rooms = app.get(RoomService);
    const member = await TestClient.connect(`ws://${base}/f`);
    const outsider = await TestClient.connect(`ws://${base}/f`);
    t.after(() => closeAll([member, outsider]));

    assert.deepEqual(await member.request('join', { room: 'fastify:news' }), {
      event: 'joined',
      data: 'fastify:news',
    });
    assert.deepEqual([...(await rooms.allRooms())], ['fastify:news']);

    const response = await fetch(`http://${base}/broadcast`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'fastify:news', event: 'headline', data: { title: 'rooms on fastify' } }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { sent: true });
    assert.deepEqual(await member.next(), { event: 'headline', data: { title: 'rooms on fastify' } });
    // The outsider got nothing: the next thing it reads is a marker sent after the broadcast.
    rooms.to(outsider.id).emit('marker');
    assert.deepEqual(await outsider.next(), { event: 'marker' });

    await member.close();
    const [disconnecting, disconnected, handled] = await Promise.all([
      recorder.wait('disconnecting', member.id),
      recorder.wait('disconnect', member.id),
      recorder.wait('disconnect:F', member.id),
    ]);
    assert.deepEqual(seen(disconnecting), {
      hook: 'disconnecting',
      id: member.id,
      socketRooms: ['fastify:news', member.id].sort(),
      rooms: ['fastify:news', member.id].sort(),
      reason: 'transport close',
    });
    assert.deepEqual(seen(disconnected), {
      hook: 'disconnect',
      id: member.id,
      socketRooms: [],
      rooms: ['fastify:news', member.id].sort(),
      reason: 'transport close',
    });
    assert.deepEqual(seen(handled), {
      hook: 'disconnect:F',
      id: member.id,
      socketRooms: [],
      rooms: [],
      reason: 'transport close',
    });
    const order = recorder.callsOf(member.id).map((call) => call.hook);
    // disconnecting (rooms intact) first; then @OnDisconnect and handleDisconnect, rooms left.
    assert.deepEqual(order.slice(0, 2), ['connect:F', 'disconnecting']);
    assert.deepEqual(order.slice(2).sort(), ['disconnect', 'disconnect:F']);
    assert.equal((await rooms.allRooms()).size, 0);

    // The app closes its remaining clients with 1001.
    await closeApp();
    assert.equal((await within(outsider.closed, 3000, 'close of the remaining client')).code, 1001);
    assert.equal((await recorder.wait('disconnect:F', outsider.id)).reason, 'server shutting down');
  });
});
