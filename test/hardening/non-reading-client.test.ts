import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { RoomSocket } from '../../lib/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { ChatGateway, ChatModule } from '../support/chat.fixture.js';
import { TestClient } from '../support/client.js';
import { gcFunction } from './hardening.fixture.js';
import { nextTurn } from '../support/timing.js';

/*
 * A client that sends and never reads: whatever the server writes back (handler replies, exception
 * frames, pongs) piles up in the server's buffer for it. Every write is checked against the high
 * watermark, so the socket is shed with 1013 and the server holds at most the watermark for it.
 */

const HIGH = 256 * 1024;
/** Far more reply bytes than the watermark and both kernels' buffers: without shedding, the server holds most of them. */
const REPLY_BYTES_CAP = 40 * 1024 * 1024;
/** What the process may grow by while the non-reader is served; without shedding it is most of the cap. */
const FOOTPRINT_BOUND = 12 * 1024 * 1024;

const gc = gcFunction();

function footprint(): number {
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/**
 * Pauses the client's reading and calls `send` (which sends one frame and returns how many bytes
 * the server will write back for it) until the server has stopped serving the socket or the cap
 * is reached. Returns the process's growth at that moment, measured after a full GC.
 */
async function flood(client: TestClient, server: RoomSocket, send: () => number): Promise<number> {
  const baseline = footprint();
  // Paused, the client reads nothing: what the server sends stays in the kernel, then in the server.
  client.tcp.pause();
  let replyBytes = 0;
  while (server.readyState === WebSocket.OPEN && replyBytes < REPLY_BYTES_CAP) {
    for (let i = 0; i < 64; i++) replyBytes += send();
    // Let the server read: the client's own buffer stays small.
    do await nextTurn();
    while (client.ws.bufferedAmount > 64 * 1024);
  }
  return footprint() - baseline;
}

// Shed the same way with write coalescing on (held frames count as unsent bytes) and off.
for (const coalesceWrites of [true, false]) {
  describe(`a client that sends frames and never reads (coalesceWrites: ${coalesceWrites})`, () => {
    let app: TestApp;

    before(async () => {
      app = await startApp(ChatModule, { highWatermark: HIGH, maxBadFrames: Infinity, coalesceWrites });
    });

    after(async () => {
      await app.close();
    });

    async function connect(): Promise<{ client: TestClient; server: RoomSocket }> {
      const client = await TestClient.connect(app.url('/chat'));
      client.ws.on('error', () => {});
      return { client, server: app.socket(client.id) };
    }

    async function assertShed(
      client: TestClient,
      server: RoomSocket,
      grown: number,
      frameBytes: number,
    ): Promise<void> {
      assert.notEqual(server.readyState, WebSocket.OPEN, 'the server stopped serving it');
      assert.ok(
        server.bufferedAmount <= HIGH + 2 * frameBytes + 64,
        `it holds ${server.bufferedAmount} unsent bytes, watermark ${HIGH}`,
      );
      assert.ok(grown < FOOTPRINT_BOUND, `the process grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
      client.tcp.resume();
      const closed = await client.closed;
      assert.equal(closed.code, 1013);
      assert.equal(closed.reason, 'slow consumer');
      const seen = await app.app.get(ChatGateway).disconnected(client.id);
      assert.equal(seen.reason, 'server disconnect');
    }

    it("is shed with 1013 when it does not read an echo handler's replies; memory stays bounded", async () => {
      const { client, server } = await connect();
      const text = 'x'.repeat(16 * 1024);
      const frame = JSON.stringify({ event: 'echo', data: text });
      const reply = JSON.stringify({ event: 'echo', data: text }).length + 4;
      const grown = await flood(client, server, () => {
        client.send(frame);
        return reply;
      });
      await assertShed(client, server, grown, reply);
    });

    it('is shed with 1013 when it does not read the exception frames its 1-byte non-JSON frames get', async () => {
      const { client, server } = await connect();
      const reply =
        '{"event":"exception","data":{"status":"error","message":"The frame is not valid JSON."}}'.length + 2;
      const grown = await flood(client, server, () => {
        client.send('x');
        return reply;
      });
      await assertShed(client, server, grown, reply);
    });

    it("is shed with 1013 when it does not read the exception frames Nest's filter writes (refused joins)", async () => {
      const { client, server } = await connect();
      const frame = JSON.stringify({ event: 'join', data: { room: '' } });
      const reply = 100;
      const grown = await flood(client, server, () => {
        client.send(frame);
        return reply;
      });
      await assertShed(client, server, grown, reply);
    });

    it('is shed with 1013 when it floods pings and does not read the pongs', async () => {
      const { client, server } = await connect();
      const payload = Buffer.alloc(125, 1);
      const grown = await flood(client, server, () => {
        client.ws.ping(payload);
        return 127;
      });
      await assertShed(client, server, grown, 127);
    });

    it('leaves a reading client served', async () => {
      const { client } = await connect();
      assert.deepEqual(await client.request('echo', 'still here', 1), { event: 'echo', data: 'still here', id: 1 });
      await client.close();
    });
  });
}
