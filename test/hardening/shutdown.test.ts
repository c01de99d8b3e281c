import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import { RoomsModule } from '../../lib/index.js';
import { RedisBroker } from '../../lib/redis/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { TestClient } from '../support/client.js';
import { HookRecorder, recordingGateway } from '../support/hook-recorder.js';
import { within } from '../support/timing.js';
import { RedisProcess } from '../support/redis-server.js';

/*
 * Graceful shutdown, in a child process (shutdown.child.ts): on SIGTERM the child calls
 * `app.close()`; every client is closed with 1001, the disconnect hooks run for each with reason
 * 'server shutting down', a peer on the same Redis sees the server gone at once (a goodbye, not
 * a heartbeat timeout), and the process then exits by itself with code 0: nothing it leaves
 * behind (timer, socket, Redis connection) keeps its event loop alive.
 */

const CHILD = fileURLToPath(new URL('./shutdown.child.js', import.meta.url));
const ROOMS = ['sd:a', 'sd:b'];
const CLIENTS = 4;
/** app.close() waits up to a second for clients that do not answer the close frame. */
const EXIT_WITHIN = 5000;

type Line = Record<string, any>;

/** The child, its output as JSON lines, and a way to wait for one. */
class Child {
  readonly lines: Line[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  private readonly waiters: Array<{ match: (line: Line) => boolean; resolve: (line: Line) => void }> = [];

  constructor(readonly process: ChildProcess) {
    createInterface({ input: process.stdout! }).on('line', (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        line = { text };
      }
      this.lines.push(line);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i].match(line)) this.waiters.splice(i, 1)[0].resolve(line);
      }
    });
    process.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
    this.exited = once(process, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
      at: performance.now(),
    }));
  }

  static start(env: Record<string, string> = {}): Child {
    return new Child(
      spawn(process.execPath, [CHILD], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
  }

  wait(match: (line: Line) => boolean, what: string, timeoutMs = 10_000): Promise<Line> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child: no ${what} within ${timeoutMs} ms; stderr: ${this.stderr.join('')}`)),
        timeoutMs,
      );
      this.waiters.push({
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  hooksOf(id: string): Line[] {
    return this.lines.filter((line) => line.id === id);
  }

  /** Exit within `ms` or be killed; what kept it alive, if anything, is in the message. */
  async exit(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.process.kill('SIGKILL');
        const alive = this.lines.filter((line) => line.stillAlive || line.closing);
        reject(new Error(`the child did not exit by itself within ${ms} ms; ${JSON.stringify(alive)}`));
      }, ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Connects `count` clients to the child, each in ROOMS; one more that stops reading (it never answers the close frame). */
async function connectClients(port: number): Promise<{ clients: TestClient[]; deaf: TestClient }> {
  const url = `ws://127.0.0.1:${port}/shutdown`;
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => TestClient.connect(url)));
  const deaf = await TestClient.connect(url);
  for (const client of [...clients, deaf]) {
    assert.deepEqual(await client.request('join', { rooms: ROOMS }), { event: 'joined', data: ROOMS });
  }
  // Its socket stops reading: the server's close frame is never answered.
  deaf.tcp.pause();
  deaf.ws.on('error', () => {});
  return { clients, deaf };
}

/** The hooks the child printed for one client: once each, in order, with its rooms, reason 'server shutting down'. */
function assertShutdownHooks(child: Child, id: string): void {
  const rooms = [id, ...ROOMS].sort();
  const reason = 'server shutting down';
  assert.deepEqual(child.hooksOf(id), [
    { hook: 'disconnecting', id, rooms, live: rooms.length, reason },
    { hook: 'disconnect', id, rooms, live: 0, reason },
    { hook: 'handleDisconnect', id, rooms: [], live: 0, reason },
  ]);
}

describe('graceful shutdown', () => {
  let redis: RedisProcess;
  before(async () => {
    redis = await RedisProcess.start();
  });
  after(() => redis.dispose());

  it('on the in-memory broker: app.close() closes every client with 1001, runs the hooks for each, and the process exits by itself', async (t) => {
    const child = Child.start();
    try {
      const { port } = await child.wait((line) => line.ready, 'ready');
      const { clients, deaf } = await connectClients(port);

      const sentAt = performance.now();
      child.process.kill('SIGTERM');
      for (const client of clients) assert.equal((await client.closed).code, 1001);
      const { code, signal, at } = await child.exit(EXIT_WITHIN);
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, `stderr: ${child.stderr.join('')}`);
      t.diagnostic(`exited ${(at - sentAt).toFixed(0)} ms after SIGTERM`);
      assert.ok(
        child.lines.some((line) => line.closed),
        'app.close() resolved',
      );
      assert.ok(!child.lines.some((line) => line.stillAlive), 'nothing was left running');

      for (const client of [...clients, deaf]) assertShutdownHooks(child, client.id);
      // The client that did not answer was cut off after the grace period; its close frame was 1001 too.
      deaf.tcp.resume();
      assert.equal((await deaf.closed).code, 1001);
    } finally {
      child.process.kill('SIGKILL');
    }
  });

  it('on Redis: a peer sees the server gone at once, and the process exits by itself', async (t) => {
    const child = Child.start({ REDIS_URL: redis.url });
    let peer: TestApp | undefined;
    try {
      const { port, node } = await child.wait((line) => line.ready, 'ready');
      // A peer on the same Redis, with the default 10 s heartbeat timeout: seeing the child gone
      // well before that means the child said goodbye.
      const broker = new RedisBroker({ url: redis.url });
      @Module({ imports: [RoomsModule.forRoot({ broker })] })
      class PeerModule {}
      peer = await startApp(PeerModule);
      const cluster = peer.cluster();
      while (!cluster.peerIds.includes(node)) await once(cluster, 'peer-up');
      const { clients, deaf } = await connectClients(port);
      assert.equal(await peer.rooms.in(ROOMS).count(), CLIENTS + 1, "the peer counts the child's sockets");

      const gone = new Promise<number>((resolve) => {
        const onDown = (down: string) => {
          if (down !== node) return;
          cluster.off('peer-down', onDown);
          resolve(performance.now());
        };
        cluster.on('peer-down', onDown);
      });
      const closedAt = child.wait((line) => line.closed, 'closed').then(() => performance.now());
      const sentAt = performance.now();
      child.process.kill('SIGTERM');
      for (const client of clients) assert.equal((await client.closed).code, 1001);
      const goneAt = await gone;
      // The goodbye goes out as the close ends: the peer knows by the time app.close() resolves.
      const afterClose = goneAt - (await closedAt);
      assert.ok(afterClose < 500, `peer-down ${afterClose.toFixed(0)} ms after app.close() resolved`);
      const { code, signal, at } = await child.exit(EXIT_WITHIN);
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, `stderr: ${child.stderr.join('')}`);
      t.diagnostic(
        `peer saw it gone ${(goneAt - sentAt).toFixed(0)} ms after SIGTERM (${afterClose.toFixed(0)} ms after app.close() resolved); exited after ${(at - sentAt).toFixed(0)} ms`,
      );
      // At once: within the close itself (a second of grace for the deaf client), far from the 10 s timeout.
      assert.ok(goneAt - sentAt < 3000, `peer-down ${(goneAt - sentAt).toFixed(0)} ms after SIGTERM`);
      assert.ok(!child.lines.some((line) => line.stillAlive), 'nothing was left running');
      for (const client of [...clients, deaf]) assertShutdownHooks(child, client.id);
      deaf.tcp.resume();
      assert.equal((await deaf.closed).code, 1001);

      // The peer's requests do not wait for the server that left.
      const started = performance.now();
      assert.equal(await peer.rooms.in(ROOMS).count(), 0);
      assert.ok(performance.now() - started < 1000, 'count() did not wait for the departed server');
    } finally {
      child.process.kill('SIGKILL');
      await peer?.close();
    }
  });
});

describe('shutdown while clients connect', () => {
  it('refuses upgrades once app.close() has begun, so that it never waits for a client it did not close', async () => {
    @Module({ imports: [RoomsModule.forRoot()], providers: [HookRecorder, recordingGateway('/recording')] })
    class ShutdownModule {}
    const app = await startApp(ShutdownModule);
    // A client that never answers the close frame keeps app.close() waiting for its grace second.
    const deaf = await TestClient.connect(app.url('/recording'));
    deaf.tcp.pause();
    const closing = app.close();
    await new Promise((resolve) => setImmediate(resolve));
    const late = await TestClient.connect(app.url('/recording')).then(
      (client) => ({ connected: true, client }),
      (error: Error) => ({ connected: false, error }),
    );
    assert.equal(late.connected, false, 'an upgrade during the shutdown is refused');
    assert.match(String((late as { error: Error }).error), /503/);
    await within(closing, 5000, 'app.close()');
    deaf.tcp.resume();
    assert.equal((await deaf.closed).code, 1001);
  });
});
