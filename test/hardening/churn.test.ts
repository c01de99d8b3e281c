import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Injectable, Module } from '@nestjs/common';
import {
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import { JoinRoom, OnDisconnect, OnDisconnecting, RoomsModule, type RoomSocket } from '../../lib/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { TestClient } from '../support/client.js';
import { gcFunction, ProcessErrors } from './hardening.fixture.js';
import { nextTurn } from '../support/timing.js';

/*
 * Churn: 10,000 cycles of connect, join three rooms, disconnect, in waves of 100 clients. The
 * registry ends empty, every hook ran exactly once per socket and in order, and the heap after
 * GC comes back to within 10% of where it was after a warm-up.
 */

const CYCLES = 10_000;
const WARM_UP = 500;
const CONCURRENCY = 100;

const CONNECTED = 1;
const DISCONNECTING = 2;
const DISCONNECTED = 4;

/**
 * Counts hooks without keeping anything per socket once it is gone (so that the count itself
 * does not grow the heap): a live socket has a bit set per hook seen; `handleDisconnect`, the
 * last one, forgets it. A hook out of order, twice, or for a forgotten socket is a fault.
 */
@Injectable()
class HookCounter {
  private readonly live = new Map<string, number>();
  readonly faults: string[] = [];
  readonly totals = { connect: 0, disconnecting: 0, disconnect: 0, handleDisconnect: 0 };
  private waiter: { target: number; resolve: () => void } | undefined;

  private step(id: string, expected: number, bit: number, hook: string): void {
    const seen = this.live.get(id);
    if (seen !== expected) this.faults.push(`${hook} of ${id} after ${seen === undefined ? 'nothing' : seen}`);
    else this.live.set(id, seen | bit);
  }

  connect(socket: RoomSocket): void {
    this.totals.connect++;
    if (this.live.has(socket.id)) this.faults.push(`second connect of ${socket.id}`);
    this.live.set(socket.id, CONNECTED);
  }

  @OnDisconnecting()
  disconnecting(socket: RoomSocket, rooms: ReadonlySet<string>, reason: string): void {
    this.totals.disconnecting++;
    if (rooms.size !== 4 || socket.rooms.size !== 4)
      this.faults.push(`${socket.id} disconnecting in ${rooms.size} rooms`);
    if (reason !== 'transport close') this.faults.push(`${socket.id} disconnecting: ${reason}`);
    this.step(socket.id, CONNECTED, DISCONNECTING, 'disconnecting');
  }

  @OnDisconnect()
  disconnect(socket: RoomSocket, rooms: ReadonlySet<string>): void {
    this.totals.disconnect++;
    if (rooms.size !== 4 || socket.rooms.size !== 0)
      this.faults.push(`${socket.id} disconnect: ${rooms.size}/${socket.rooms.size}`);
    this.step(socket.id, CONNECTED | DISCONNECTING, DISCONNECTED, 'disconnect');
  }

  handleDisconnect(socket: RoomSocket): void {
    this.totals.handleDisconnect++;
    this.step(socket.id, CONNECTED | DISCONNECTING | DISCONNECTED, 0, 'handleDisconnect');
    this.live.delete(socket.id);
    if (this.waiter !== undefined && this.totals.handleDisconnect >= this.waiter.target) this.waiter.resolve();
  }

  get liveCount(): number {
    return this.live.size;
  }

  /** Resolves once `handleDisconnect` has run `target` times in all. */
  reach(target: number, timeoutMs = 30_000): Promise<void> {
    if (this.totals.handleDisconnect >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`handleDisconnect x${this.totals.handleDisconnect}, not x${target}`)),
        timeoutMs,
      );
      this.waiter = {
        target,
        resolve: () => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve();
        },
      };
    });
  }
}

@WebSocketGateway({ path: '/churn' })
class ChurnGateway implements OnGatewayConnection, OnGatewayDisconnect {
  constructor(private readonly counter: HookCounter) {}

  handleConnection(socket: RoomSocket): void {
    this.counter.connect(socket);
    socket.sendEvent('welcome', { id: socket.id });
  }

  handleDisconnect(socket: RoomSocket): void {
    this.counter.handleDisconnect(socket);
  }

  @SubscribeMessage('join')
  @JoinRoom((data: { rooms: string[] }) => data.rooms)
  join(@MessageBody() data: { rooms: string[] }) {
    return { event: 'joined', data: data.rooms };
  }
}

@Module({ imports: [RoomsModule.forRoot()], providers: [HookCounter, ChurnGateway] })
class ChurnModule {}

describe('churn', () => {
  let app: TestApp;
  let errors: ProcessErrors;
  before(async () => {
    errors = new ProcessErrors().install();
    app = await startApp(ChurnModule);
  });
  after(async () => {
    await app.close();
    errors.dispose();
  });

  let peakRooms = 0;
  let peakSockets = 0;

  /**
   * `count` cycles of connect / join three rooms / disconnect, numbered from `first`, in waves of
   * CONCURRENCY clients: a wave connects and joins at once, so that all of it is in the registry
   * together, then disconnects at once.
   */
  async function churn(first: number, count: number): Promise<void> {
    const url = app.url('/churn');
    const registry = app.registry();
    for (let wave = first; wave < first + count; wave += CONCURRENCY) {
      const numbers = Array.from({ length: Math.min(CONCURRENCY, first + count - wave) }, (_, i) => wave + i);
      const clients = await Promise.all(
        numbers.map(async (n) => {
          const client = await TestClient.connect(url);
          // One room shared by all, one by a hundredth of them, one of its own.
          const rooms = ['churn:all', `churn:group:${n % 100}`, `churn:own:${n}`];
          const reply = await client.request('join', { rooms });
          if (reply.event !== 'joined') throw new Error(`join ${n}: ${JSON.stringify(reply)}`);
          return client;
        }),
      );
      peakRooms = Math.max(peakRooms, registry.roomCount);
      peakSockets = Math.max(peakSockets, registry.memberCount);
      await Promise.all(clients.map((client) => client.close()));
    }
  }

  async function heapAfterGc(gc: () => void): Promise<number> {
    for (let i = 0; i < 4; i++) {
      gc();
      await nextTurn();
    }
    return process.memoryUsage().heapUsed;
  }

  it(
    `${CYCLES} cycles of connect, join three rooms, disconnect: registry empty, hooks once each, heap back within 10%`,
    { timeout: 120_000 },
    async (t) => {
      const gc = gcFunction();
      const counter = app.app.get(HookCounter);
      const registry = app.registry();

      // Warm-up: JIT, pools and caches settle before the baseline.
      await churn(0, WARM_UP);
      await counter.reach(WARM_UP);
      const baseline = await heapAfterGc(gc);

      const started = Date.now();
      await churn(WARM_UP, CYCLES);
      await counter.reach(WARM_UP + CYCLES);
      const elapsed = Date.now() - started;

      const total = WARM_UP + CYCLES;
      assert.deepEqual(counter.faults.slice(0, 10), [], `${counter.faults.length} hook faults`);
      assert.deepEqual(counter.totals, {
        connect: total,
        disconnecting: total,
        disconnect: total,
        handleDisconnect: total,
      });
      assert.equal(counter.liveCount, 0);
      assert.ok(
        peakRooms > 2 * CONCURRENCY && peakSockets >= CONCURRENCY,
        `sockets were in their rooms at once: peak ${peakSockets} sockets, ${peakRooms} rooms`,
      );
      assert.deepEqual({ rooms: registry.roomCount, sockets: registry.memberCount }, { rooms: 0, sockets: 0 });
      assert.equal((await app.rooms.allRooms()).size, 0);
      assert.equal(await app.rooms.count(), 0);

      const end = await heapAfterGc(gc);
      const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
      t.diagnostic(
        `${CYCLES} cycles in ${elapsed} ms; heap ${mb(baseline)} -> ${mb(end)}; peak ${peakSockets} sockets in ${peakRooms} rooms`,
      );
      assert.ok(end <= baseline * 1.1, `heap after GC grew from ${mb(baseline)} to ${mb(end)}`);
      assert.equal(errors.seen.length, 0, errors.describe());
    },
  );
});
