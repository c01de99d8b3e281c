import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { RedisBroker } from '../lib/redis/index.js';
import { TestClient } from '../test/support/client.js';
import { untilMeshed } from '../test/support/timing.js';
import { testAppOf } from '../test/support/app.js';
import { RedisProcess } from '../test/support/redis-server.js';
import { createSampleApp } from './bootstrap.js';

/** What `npm run start:cluster` runs: two instances of the sample on one (private) Redis. */
let redis: RedisProcess;
const apps: INestApplication[] = [];
const ports: number[] = [];

before(async () => {
  redis = await RedisProcess.start();
  for (let i = 0; i < 2; i++) {
    const broker = new RedisBroker({ url: redis.url, heartbeatInterval: 200, heartbeatTimeout: 1000 });
    // One process, one global metrics registry: the first app's rooms only.
    const app = await createSampleApp({ logger: false, broker, metrics: i === 0 });
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    ports.push((app.getHttpServer().address() as { port: number }).port);
  }
  await untilMeshed(apps.map(testAppOf));
});
after(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await redis.dispose();
});

/** Reads frames until one with `event` arrives (the page's lists also stream in). */
async function nextOf(client: TestClient, event: string) {
  for (;;) {
    const frame = await client.next();
    if (frame.event === event) return frame;
  }
}

it('two instances on Redis: a person on one chats with a person on the other, and HTTP notifies cross too', async () => {
  const ann = await TestClient.connect(`ws://127.0.0.1:${ports[0]}/chat`);
  const bob = await TestClient.connect(`ws://127.0.0.1:${ports[1]}/chat`);
  ann.send({ event: 'hello', data: { name: 'ann' } });
  await nextOf(ann, 'hello');
  bob.send({ event: 'hello', data: { name: 'bob' } });
  await nextOf(bob, 'hello');
  ann.send({ event: 'join', data: { room: 'lobby' } });
  await nextOf(ann, 'joined');
  bob.send({ event: 'join', data: { room: 'lobby' } });
  // Each server's room list comes from presence: bob's server shows ann, who is on the other one.
  let joined = false;
  let lobby: unknown;
  while (!joined || lobby === undefined) {
    const frame = await bob.next();
    if (frame.event === 'joined') joined = true;
    if (frame.event !== 'rooms') continue;
    const listed = frame.data.find((room: { name: string }) => room.name === 'lobby');
    if (listed.people.length === 2) lobby = listed;
  }
  assert.deepEqual(lobby, {
    name: 'lobby',
    members: 2,
    people: [
      { name: 'ann', tabs: 1 },
      { name: 'bob', tabs: 1 },
    ],
  });

  ann.send({ event: 'say', data: { room: 'lobby', text: 'hi from 3000' } });
  const said = await nextOf(bob, 'said');
  assert.equal(said.data.text, 'hi from 3000');

  const response = await fetch(`http://127.0.0.1:${ports[1]}/users/ann/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'from the other server' }),
  });
  assert.equal(response.status, 202);
  const notification = await nextOf(ann, 'notification');
  assert.equal(notification.data.text, 'from the other server');

  await ann.close();
  await bob.close();
});
