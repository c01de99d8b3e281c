import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { NestFactory } from '@nestjs/core';
import { WebSocket } from 'ws';
import { RoomsAdapter } from '../../lib/index.js';
import { INVALID_ALLOWED_ORIGIN } from '../../lib/rooms.messages.js';
import { startApp } from '../support/app.js';
import { ChatModule } from '../support/chat.fixture.js';

/** The upgrade's outcome with that `Origin` (none when `undefined`): 101, or the refusal's status. */
async function statusWith(url: string, origin: string | undefined): Promise<number> {
  const ws = new WebSocket(url, origin === undefined ? {} : { headers: { Origin: origin } });
  ws.on('error', () => undefined); // aborting a refused handshake reports one
  const status = await Promise.race([
    once(ws, 'open').then(() => 101),
    once(ws, 'unexpected-response').then(([, response]) => (response as IncomingMessage).statusCode!),
  ]);
  ws.terminate();
  return status;
}

describe('allowedOrigins', () => {
  it('as a list: admits its origins (as browsers write them) and no Origin; others get 403 before authenticate', async () => {
    const authenticated: Array<string | undefined> = [];
    const app = await startApp(ChatModule, {
      allowedOrigins: ['https://Chat.Example.com:443/', 'http://localhost:8080'],
      authenticate: (request: IncomingMessage) => void authenticated.push(request.headers.origin),
    });
    const url = app.url('/chat');
    assert.equal(await statusWith(url, 'https://chat.example.com'), 101);
    assert.equal(await statusWith(url, 'HTTPS://CHAT.EXAMPLE.COM:443'), 101);
    assert.equal(await statusWith(url, 'http://localhost:8080'), 101);
    assert.equal(await statusWith(url, undefined), 101);
    for (const foreign of [
      'https://evil.example',
      'http://chat.example.com', // another scheme
      'https://chat.example.com:8443', // another port
      'https://chat.example.com.evil.example',
      'http://localhost', // port 80, not 8080
      'null', // sandboxed frames, file: pages
      'not an origin',
    ]) {
      assert.equal(await statusWith(url, foreign), 403, foreign);
    }
    assert.deepEqual(authenticated, [
      'https://chat.example.com',
      'HTTPS://CHAT.EXAMPLE.COM:443',
      'http://localhost:8080',
      undefined,
    ]);
    assert.equal(app.registrySize().sockets, 0);
    await app.close();
  });

  it('as a function: decides alone, gets the Origin or undefined, and only `true` admits', async () => {
    const asked: Array<string | undefined> = [];
    const app = await startApp(ChatModule, {
      allowedOrigins: (origin, request) => {
        asked.push(origin);
        assert.equal(request.headers.origin, origin);
        if (origin === 'https://throws.example') throw new Error('policy backend down');
        if (origin === 'https://async.example') return Promise.resolve(true) as unknown as boolean;
        return origin === 'https://ok.example';
      },
    });
    const url = app.url('/chat');
    assert.equal(await statusWith(url, 'https://ok.example'), 101);
    assert.equal(await statusWith(url, undefined), 403);
    assert.equal(await statusWith(url, 'https://other.example'), 403);
    assert.equal(await statusWith(url, 'https://throws.example'), 403);
    assert.equal(await statusWith(url, 'https://async.example'), 403);
    assert.deepEqual(asked, [
      'https://ok.example',
      undefined,
      'https://other.example',
      'https://throws.example',
      'https://async.example',
    ]);
    await app.close();
  });

  it('refuses a list entry that is not an origin when the adapter is made', async () => {
    const app = await NestFactory.create(ChatModule, { logger: false });
    for (const entry of ['chat.example.com', 'https://chat.example.com/path', 'null']) {
      assert.throws(() => new RoomsAdapter(app, { allowedOrigins: [entry] }), {
        message: INVALID_ALLOWED_ORIGIN(entry),
      });
    }
    await app.close();
  });
});
