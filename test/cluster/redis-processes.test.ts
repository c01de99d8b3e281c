/**
 * Servers as separate processes on one Redis, one of which dies with SIGKILL: no goodbye, its
 * connections simply vanish. The others must notice through heartbeats alone, and requests must
 * complete within `heartbeatTimeout` rather than hang until `requestTimeout`.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { closeAll, TestClient } from '../support/client.js';
import { RedisProcess } from '../support/redis-server.js';

// As configured in cluster-server.main.ts.
const HEARTBEAT_TIMEOUT = 1000;
const REQUEST_TIMEOUT = 8000;
/** Heartbeats are checked every 200 ms, plus an HTTP round trip and a loaded 2-core machine. */
const MARGIN = 600;

const script = fileURLToPath(new URL('../support/cluster-server.main.js', import.meta.url));

type Fact = Record<string, unknown>;

/** A child process running cluster-server.main.js, and the JSON facts it prints. */
class ServerProcess {
  readonly facts: Fact[] = [];
  private readonly listeners = new Set<() => void>();
  port = 0;
  node = '';

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      this.facts.push(JSON.parse(line) as Fact);
      for (const listener of [...this.listeners]) listener();
    });
  }

  static async start(redisUrl: string): Promise<ServerProcess> {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, REDIS_URL: redisUrl },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const server = new ServerProcess(child);
    const exited = once(child, 'exit').then(([code]) => {
      throw new Error(`the server process exited with ${code} before listening`);
    });
    exited.catch(() => undefined); // it exits at the end of the test too
    const listening = await Promise.race([server.until((fact) => typeof fact.port === 'number', 20_000), exited]);
    server.port = listening.port as number;
    server.node = listening.node as string;
    return server;
  }

  /** The first fact matching `predicate`, printed already or within `timeoutMs`. */
  until(predicate: (fact: Fact) => boolean, timeoutMs = 5000): Promise<Fact> {
    const found = this.facts.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no such fact within ${timeoutMs} ms; got ${JSON.stringify(this.facts)}`));
      }, timeoutMs);
      const listener = () => {
        const fact = this.facts.find(predicate);
        if (fact === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(fact);
      };
      this.listeners.add(listener);
    });
  }

  wsUrl(path: string): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  async get(path: string): Promise<{ status: number; body: any }> {
    const response = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return { status: response.status, body: await response.json() };
  }

  async post(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  /** Kills the process (SIGKILL by default) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill(signal);
    await exited;
  }
}

/** Resolves with the request's result and how long it took, in milliseconds, from `since`. */
async function timed<T>(since: number, request: Promise<T>): Promise<T & { ms: number }> {
  const result = await request;
  return { ...result, ms: Date.now() - since };
}

describe('three server processes on one Redis, one killed with SIGKILL', () => {
  let redis: RedisProcess;
  let servers: ServerProcess[] = [];
  let clients: TestClient[] = [];

  before(async () => {
    redis = await RedisProcess.start();
    servers = await Promise.all([0, 1, 2].map(() => ServerProcess.start(redis.url)));
    // Meshed: each process has reported the two others as peers.
    await Promise.all(
      servers.flatMap((server) =>
        servers.filter((other) => other !== server).map((other) => server.until((fact) => fact.peerUp === other.node)),
      ),
    );
    clients = await Promise.all(servers.map((server) => TestClient.connect(server.wsUrl('/chat'))));
    for (const client of clients) {
      assert.deepEqual(await client.request('join', { room: 'crew' }), { event: 'joined', data: 'crew' });
    }
  });
  after(async () => {
    await closeAll(clients);
    await Promise.all(servers.map((server) => server.kill()));
    await redis?.dispose();
  });

  it('counts and fetches the sockets of all three processes', async () => {
    const count = await servers[0].get('/count?room=crew');
    assert.deepEqual(count, { status: 200, body: { count: 3 } });
    const fetched = await servers[1].get('/fetch?room=crew');
    assert.deepEqual(fetched.body.ids.sort(), clients.map((client) => client.id).sort());
  });

  it('after a SIGKILL, requests on the survivors complete within heartbeatTimeout, without its sockets', async (t) => {
    const [first, second, victim] = servers;
    const [a, b, c] = clients;
    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    assert.equal((await c.closed).code, 1006);

    // Both survivors still count the victim as a peer: these requests wait for it until its silence
    // exceeds heartbeatTimeout, and then complete with the answers of the living.
    const [count, fetched] = await Promise.all([
      timed(killedAt, first.get('/count?room=crew')),
      timed(killedAt, second.get('/fetch?room=crew')),
    ]);
    assert.equal(count.status, 200, JSON.stringify(count.body));
    assert.equal(count.body.count, 2);
    assert.equal(fetched.status, 200, JSON.stringify(fetched.body));
    assert.deepEqual(fetched.body.ids.sort(), [a.id, b.id].sort());
    t.diagnostic(`count answered ${count.ms} ms after the kill, fetchSockets ${fetched.ms} ms`);
    for (const { ms } of [count, fetched]) {
      assert.ok(ms < HEARTBEAT_TIMEOUT + MARGIN, `took ${ms} ms (heartbeatTimeout ${HEARTBEAT_TIMEOUT} ms)`);
      assert.ok(ms < REQUEST_TIMEOUT / 4);
    }
    await Promise.all([first, second].map((server) => server.until((fact) => fact.peerDown === victim.node)));

    // The two survivors still broadcast to each other.
    assert.deepEqual(await first.post('/emit', { room: 'crew', event: 'from first', data: 1 }), {
      status: 201,
      body: { emitted: true },
    });
    assert.deepEqual(await b.next(), { event: 'from first', data: 1 });
    assert.deepEqual(await a.next(), { event: 'from first', data: 1 });
    await second.post('/emit', { room: 'crew', event: 'from second', data: 2 });
    assert.deepEqual(await a.next(), { event: 'from second', data: 2 });
    assert.deepEqual(await b.next(), { event: 'from second', data: 2 });

    // And a request made now does not wait at all.
    const asked = Date.now();
    assert.deepEqual(await first.get('/count?room=crew'), { status: 200, body: { count: 2 } });
    assert.ok(Date.now() - asked < 500, `a request after the drop took ${Date.now() - asked} ms`);
  });
});
