import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { startApp, type TestApp } from '../support/app.js';
import { ChatGateway, ChatModule } from '../support/chat.fixture.js';
import { closeAll, TestClient } from '../support/client.js';
import { ProcessErrors } from './hardening.fixture.js';

interface Admitted {
  ws: WebSocket;
  /** The socket id from the gateway's `welcome`. */
  id: string;
}

/** How one upgrade ended: the client, once welcomed, or the HTTP status it was refused with. */
async function upgrade(url: string, headers: Record<string, string> = {}): Promise<Admitted | number> {
  const ws = new WebSocket(url, { headers });
  ws.on('error', () => undefined); // aborting a refused handshake reports one
  const outcome = await Promise.race([
    once(ws, 'message').then(([raw]) => ({ ws, id: JSON.parse(String(raw)).data.id as string })),
    once(ws, 'unexpected-response').then(([, response]) => (response as IncomingMessage).statusCode!),
  ]);
  if (typeof outcome === 'number') ws.terminate();
  return outcome;
}

const isAdmitted = (outcome: Admitted | number): outcome is Admitted => typeof outcome !== 'number';

/** Closes the clients and resolves once the server has seen each of them go. */
async function leave(app: TestApp, clients: Admitted[]): Promise<void> {
  const gateway = app.app.get(ChatGateway);
  for (const { ws } of clients) ws.close();
  await Promise.all(clients.map(({ id }) => gateway.disconnected(id)));
}

/**
 * An `authenticate` whose answer for each `x-token` the test gives when it chooses; `asked`
 * announces each call with its token.
 */
class HeldAuthenticate extends EventEmitter {
  private readonly answers = new Map<string, (answer: unknown) => void>();

  readonly authenticate = (request: IncomingMessage): Promise<unknown> => {
    const token = String(request.headers['x-token']);
    return new Promise((resolve) => {
      this.answers.set(token, resolve);
      this.emit('asked', token);
    });
  };

  /** Resolves once `authenticate` runs for `token`. */
  async asked(token: string): Promise<void> {
    if (this.answers.has(token)) return;
    for (;;) if ((await once(this, 'asked'))[0] === token) return;
  }

  answer(token: string, answer: unknown): void {
    this.answers.get(token)!(answer);
  }
}

/** A raw upgrade request on its own TCP connection, for clients `ws` would not let misbehave. */
async function rawUpgrade(app: TestApp, token: string, key = 'dGhlIHNhbXBsZSBub25jZQ=='): Promise<Socket> {
  const socket = connect(app.port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(
    `GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nx-token: ${token}\r\n\r\n`,
  );
  return socket;
}

describe('maxConnections under concurrency', () => {
  it('never lets more than the limit in while authenticate is slow, and frees places as sockets leave', async () => {
    const LIMIT = 50;
    const app = await startApp(ChatModule, {
      maxConnections: LIMIT,
      authenticate: () => new Promise((resolve) => setTimeout(() => resolve({}), 200)),
    });
    const outcomes = await Promise.all(Array.from({ length: 300 }, () => upgrade(app.url('/chat'))));
    const admitted = outcomes.filter(isAdmitted);
    const refused = outcomes.filter((outcome) => !isAdmitted(outcome));
    assert.equal(admitted.length, LIMIT);
    assert.deepEqual(new Set(refused), new Set([503]));
    assert.equal(app.registrySize().sockets, LIMIT);

    // Ten leave: exactly ten places are free again.
    await leave(app, admitted.splice(0, 10));
    const again = await Promise.all(Array.from({ length: 11 }, () => upgrade(app.url('/chat'))));
    assert.equal(again.filter(isAdmitted).length, 10);
    assert.deepEqual(
      again.filter((outcome) => !isAdmitted(outcome)),
      [503],
    );
    assert.equal(app.registrySize().sockets, LIMIT);

    await leave(app, [...admitted, ...again.filter(isAdmitted)]);
    await app.close();
  });

  it('holds a place while authenticate runs and gives it back on a refusal, a failure or a reset', async () => {
    const held = new HeldAuthenticate();
    const errors = new ProcessErrors().install();
    const app = await startApp(ChatModule, { maxConnections: 1, authenticate: held.authenticate });
    try {
      // Refused: while eve's authenticate runs she holds the only place; her 401 frees it.
      const eve = upgrade(app.url('/chat'), { 'x-token': 'eve' });
      await held.asked('eve');
      assert.equal(await upgrade(app.url('/chat'), { 'x-token': 'x1' }), 503);
      held.answer('eve', false);
      assert.equal(await eve, 401);

      // A rejection is a refusal too.
      const boom = upgrade(app.url('/chat'), { 'x-token': 'boom' });
      await held.asked('boom');
      assert.equal(await upgrade(app.url('/chat'), { 'x-token': 'x2' }), 503);
      held.answer('boom', Promise.reject(new Error('auth backend down')));
      assert.equal(await boom, 401);

      // The client resets its TCP connection while authenticate runs: the place is free at once,
      // before authenticate answers, and the server neither crashes nor serves the dead socket.
      const gone = await rawUpgrade(app, 'gone');
      await held.asked('gone');
      const goneClosed = once(gone, 'close');
      gone.resetAndDestroy();
      await goneClosed;
      const ann = upgrade(app.url('/chat'), { 'x-token': 'ann' });
      await held.asked('ann');
      held.answer('gone', {});
      held.answer('ann', {});
      const annAdmitted = await ann;
      assert.ok(isAdmitted(annAdmitted));
      assert.equal(app.registrySize().sockets, 1);
      await leave(app, [annAdmitted]);

      // Admitted, then the handshake itself fails (a bad key: `ws` answers 400): freed.
      const bad = await rawUpgrade(app, 'bad', 'not-a-key');
      await held.asked('bad');
      assert.equal(await upgrade(app.url('/chat'), { 'x-token': 'x3' }), 503);
      const answered = once(bad, 'data');
      held.answer('bad', {});
      assert.match(String((await answered)[0]), /^HTTP\/1\.1 400 /);
      bad.destroy();

      const bob = TestClient.connect(app.url('/chat'), { headers: { 'x-token': 'bob' } });
      await held.asked('bob');
      held.answer('bob', {});
      const client = await bob;
      assert.equal(app.registrySize().sockets, 1);
      await closeAll([client]);
      assert.equal(errors.seen.length, 0, errors.describe());
    } finally {
      errors.dispose();
      await app.close();
    }
  });
});
