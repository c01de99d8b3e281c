import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { TestClient } from '../test/support/client.js';
import { createSampleApp } from './bootstrap.js';

let app: INestApplication;
let port: number;

before(async () => {
  app = await createSampleApp({ logger: false });
  await app.listen(0, '127.0.0.1');
  port = (app.getHttpServer().address() as { port: number }).port;
});
after(() => app.close());

it('chats in a room, notifies it over HTTP and announces who left', async () => {
  const url = `ws://127.0.0.1:${port}/chat`;
  const [ann, bob] = await Promise.all([TestClient.connect(url), TestClient.connect(url)]);
  assert.deepEqual(await ann.request('join', { room: 'lobby' }), { event: 'joined', data: 'lobby' });
  assert.deepEqual(await bob.request('join', { room: 'lobby' }), { event: 'joined', data: 'lobby' });

  ann.send({ event: 'say', data: { room: 'lobby', text: 'hello' } });
  assert.deepEqual(await bob.next(), { event: 'said', data: { room: 'lobby', text: 'hello', from: ann.id } });

  const response = await fetch(`http://127.0.0.1:${port}/rooms/lobby/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'deploy at 5' }),
  });
  assert.equal(response.status, 202);
  assert.deepEqual(await response.json(), { delivered: 2 });
  assert.deepEqual(await ann.next(), { event: 'notice', data: { text: 'deploy at 5' } });
  assert.deepEqual(await bob.next(), { event: 'notice', data: { text: 'deploy at 5' } });

  await ann.close();
  assert.deepEqual(await bob.next(), { event: 'user left', data: { id: ann.id } });
  await bob.close();
});
