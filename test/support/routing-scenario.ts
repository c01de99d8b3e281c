import assert from 'node:assert/strict';
import type { TestApp } from './app.js';
import { TestClient } from './client.js';
import { eventually } from './timing.js';

/** Clients of `apps` on the chat path, in that order (an app named twice gets two). */
export async function connectAll(apps: TestApp[]): Promise<TestClient[]> {
  return Promise.all(apps.map((app) => TestClient.connect(app.url('/chat'))));
}

/** `client` joins `room` through the chat gateway, answered. */
export async function join(client: TestClient, room: string): Promise<void> {
  assert.deepEqual(await client.request('join', { room }), { event: 'joined', data: room });
}

/**
 * What a broker that routes by room must show, whatever it is: the room `routed` is subscribed by
 * exactly the servers with members, once each, by the time the join is answered; a server without
 * members publishes to it; a server whose room empties unsubscribes (a leave does not wait for the
 * broker to confirm it). `apps` are servers A, B, C; `clients` a and a2 on A, b on B, c on C;
 * `subscribers()` asks the broker how many servers are subscribed to the room.
 */
export async function routesToMembersOnly(
  apps: TestApp[],
  clients: TestClient[],
  subscribers: () => Promise<number>,
): Promise<void> {
  const [a, a2, b, c] = clients;
  assert.equal(await subscribers(), 0);
  await join(a, 'routed');
  assert.equal(await subscribers(), 1);
  // One subscription per server, not per socket.
  await join(a2, 'routed');
  assert.equal(await subscribers(), 1);
  await join(b, 'routed');
  assert.equal(await subscribers(), 2);

  // C has no member: it publishes without subscribing, and the members on A and B get it.
  apps[2].rooms.to('routed').emit('hello', 'from C');
  for (const client of [a, a2, b]) assert.deepEqual(await client.next(), { event: 'hello', data: 'from C' });
  apps[0].rooms.to(c.id).emit('marker');
  assert.deepEqual(await c.next(), { event: 'marker' });

  // The room empties on A: A unsubscribes (a leave does not wait for the broker to confirm it).
  assert.deepEqual(await a.request('leave', { room: 'routed' }), { event: 'left', data: 'routed' });
  assert.equal(await subscribers(), 2, 'a2 is still in the room on A');
  assert.deepEqual(await a2.request('leave', { room: 'routed' }), { event: 'left', data: 'routed' });
  assert.equal(await eventually(subscribers, 1), 1);
  apps[0].rooms.to('routed').emit('still there', 'from A');
  assert.deepEqual(await b.next(), { event: 'still there', data: 'from A' });
  apps[0].rooms.to([a.id, a2.id]).emit('marker');
  assert.deepEqual(await a.next(), { event: 'marker' });
  assert.deepEqual(await a2.next(), { event: 'marker' });
}
