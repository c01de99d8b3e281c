import 'reflect-metadata';
import { Module, type LoggerService, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { WebSocket } from 'ws';
import { RoomsAdapter, RoomsModule, type Broker } from '../../lib/index.js';
import { RedisBroker, type RedisBrokerOptions } from '../../lib/redis/index.js';
import { listenWith, type TestApp } from './app.js';
import { ChatGateway } from './chat.fixture.js';
import type { Frame } from './client.js';
import type { RedisProcess } from './redis-server.js';

/** The chat gateway on a broker of its own: one server of a cluster. */
export function brokerModule(broker: Broker): Type {
  @Module({ imports: [RoomsModule.forRoot({ broker })], providers: [ChatGateway] })
  class BrokerModule {}
  return BrokerModule;
}

/** Short heartbeats so that faults show within a second; each server gets its own broker, as separate processes would. */
export function redisBroker(redis: RedisProcess, options: RedisBrokerOptions = {}): RedisBroker {
  return new RedisBroker({
    url: redis.url,
    heartbeatInterval: 100,
    heartbeatTimeout: 1000,
    requestTimeout: 5000,
    ...options,
  });
}

/** Every frame a connection receives, raw and parsed, searchable without consuming anything. */
export class FrameLog {
  readonly frames: Frame[] = [];
  readonly raw: string[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '{}' : data.toString();
      this.raw.push(text);
      this.frames.push(JSON.parse(text) as Frame);
      for (const listener of [...this.listeners]) listener();
    });
  }

  /** The first frame from index `from` on that matches; waits for it up to `timeoutMs`. */
  until(predicate: (frame: Frame) => boolean, timeoutMs = 5000, from = 0): Promise<Frame> {
    let index = from;
    const find = () => {
      for (; index < this.frames.length; index++) if (predicate(this.frames[index])) return this.frames[index];
      return undefined;
    };
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = () => {
        const frame = find();
        if (frame === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(frame);
      };
      this.listeners.add(listener);
    });
  }

  /** The `data` of every frame of `event`, in arrival order. */
  dataOf(event: string): unknown[] {
    return this.frames.filter((frame) => frame.event === event).map((frame) => frame.data);
  }
}

/** `PUBSUB SHARDNUMSUB channel` on one Redis node: how many connections there subscribe to it. */
export async function shardSubscribers(redis: RedisProcess, channel: string): Promise<number> {
  const lines = (await redis.cli('pubsub', 'shardnumsub', channel)).split('\n');
  assertEqual(lines[0], channel);
  return Number(lines[1]);
}

function assertEqual(actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new Error(`expected ${String(expected)}, got ${String(actual)}`);
}

/** A Nest logger that keeps what it is given, to assert on warnings. */
export class CapturingLogger implements LoggerService {
  readonly entries: Array<{ level: string; message: string; context?: string }> = [];
  private readonly listeners = new Set<() => void>();

  log(message: unknown, context?: string): void {
    this.add('log', message, context);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.add('error', message, rest.at(-1) as string | undefined);
  }
  warn(message: unknown, context?: string): void {
    this.add('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.add('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.add('verbose', message, context);
  }

  messages(level: string): string[] {
    return this.entries.filter((entry) => entry.level === level).map((entry) => entry.message);
  }

  /** Resolves with the first `level` message matching `pattern`, logged already or within `timeoutMs`. */
  until(level: string, pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const find = () => this.messages(level).find((message) => pattern.test(message));
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no ${level} matching ${pattern} within ${timeoutMs} ms: ${JSON.stringify(this.entries)}`));
      }, timeoutMs);
      const listener = () => {
        const message = find();
        if (message === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(message);
      };
      this.listeners.add(listener);
    });
  }

  private add(level: string, message: unknown, context: string | undefined): void {
    this.entries.push({ level, message: String(message), context });
    for (const listener of [...this.listeners]) listener();
  }
}

/** Like `startApp`, with a logger of the test's own (Nest's logger is process-wide: the last app created sets it). */
export async function startAppWithLogger(module: Type, logger: LoggerService): Promise<TestApp> {
  const app = await NestFactory.create(module, { logger });
  return listenWith(app, new RoomsAdapter(app));
}
