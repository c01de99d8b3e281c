/**
 * `RoomsClient` in front of two servers on Redis, through a TCP proxy (as behind a load
 * balancer): requests and broadcasts from either server, and a session that resumes on the other
 * server when the proxy cuts the connection.
 */
import assert from 'node:assert/strict';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { RoomsClient, type WebSocketConstructor } from '../../lib/client/index.js';
import type { TestApp } from '../support/app.js';
import { clientModule, next } from '../support/client-app.fixture.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { redisBroker } from '../support/fault-helpers.js';
import { RedisProcess } from '../support/redis-server.js';
import { eventually, untilMeshed } from '../support/timing.js';

/** A TCP proxy to one backend port at a time; `cut()` destroys every connection through it. */
class Proxy {
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    public target: number,
  ) {}

  static async start(target: number): Promise<Proxy> {
    const server = createServer();
    const proxy = new Proxy(server, target);
    server.on('connection', (inbound) => {
      const outbound = createConnection(proxy.target, '127.0.0.1');
      for (const socket of [inbound, outbound]) {
        proxy.sockets.add(socket);
        socket.on('close', () => proxy.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/client`;
  }

  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('RoomsClient before two servers on Redis', () => {
  let redis: RedisProcess;
  let apps: TestApp[];
  let proxy: Proxy;

  before(async () => {
    redis = await RedisProcess.start();
    apps = await startCluster(2, () => clientModule({ recovery: true, broker: redisBroker(redis) }));
    await untilMeshed(apps);
    proxy = await Proxy.start(apps[0].port);
  });
  after(async () => {
    await proxy.close();
    await closeCluster(apps);
    await redis.dispose();
  });

  it('gets answers from its server and broadcasts from both, and resumes on the other server after a cut', async () => {
    const [a, b] = apps;
    const client = new RoomsClient(proxy.url, {
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      reconnect: { initialDelay: 10, maxDelay: 50 },
    });
    await next(client, 'open');
    assert.equal(await client.request('join', { room: 'both' }), 'both');
    const id = client.id!;
    assert.ok(a.findSocket(id) !== undefined, 'connected to A');
    const ticks: number[] = [];
    client.on('tick', (n: number) => void ticks.push(n));
    let sent = 0;
    // Ticks from B while the socket is on A, then on B itself.
    const timer = setInterval(() => b.rooms.to('both').emit('tick', sent++), 1);
    await eventually(async () => ticks.length > 20, true);
    proxy.target = b.port;
    const resumed = next(client, 'open');
    proxy.cut();
    assert.deepEqual(await resumed, { recovered: true });
    assert.equal(client.id, id);
    assert.ok(b.findSocket(id) !== undefined, 'moved to B');
    const target = sent + 20;
    await eventually(async () => ticks.at(-1)! >= target, true);
    clearInterval(timer);
    assert.deepEqual(
      ticks,
      ticks.map((_, index) => index),
      'every tick exactly once, in order, across the move',
    );
    assert.equal(await client.request('echo', 'from B'), 'from B');
    client.close();
  });
});
