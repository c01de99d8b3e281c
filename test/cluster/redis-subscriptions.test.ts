/**
 * The Redis broker's subscriptions across its subscriber's connections: whatever was asked for
 * before or while the subscriber connects (or reconnects) holds once the connection reports up,
 * and what was let go of while it was away stays gone.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis, type RedisOptions } from 'ioredis';
import type { BrokerConnection, BrokerListener } from '../../lib/cluster/broker.js';
import { RedisBroker } from '../../lib/redis/index.js';
import { shardSubscribers } from '../support/fault-helpers.js';
import { RedisProcess } from '../support/redis-server.js';
import { within } from '../support/timing.js';

/** A publishing client that hands the test the subscriber the broker duplicates from it. */
class RecordingRedis extends Redis {
  readonly duplicates: Redis[] = [];

  override duplicate(override?: Partial<RedisOptions>): Redis {
    const copy = super.duplicate(override);
    this.duplicates.push(copy);
    return copy;
  }
}

/** What a cluster node would be told: the messages per channel, and each status change. */
class RecordingListener implements BrokerListener {
  readonly messages: Array<{ channel: string; message: string }> = [];
  private statusWaiters: Array<{ up: boolean; resolve: () => void }> = [];
  private messageWaiters: Array<() => void> = [];

  message(channel: string, message: Buffer): void {
    this.messages.push({ channel, message: message.toString() });
    for (const resolve of this.messageWaiters.splice(0)) resolve();
  }
  status(up: boolean): void {
    const waiting = this.statusWaiters.filter((waiter) => waiter.up === up);
    this.statusWaiters = this.statusWaiters.filter((waiter) => waiter.up !== up);
    for (const waiter of waiting) waiter.resolve();
  }
  peersPossible(): void {}

  /** The next status report of `up`; ask before causing it. */
  until(up: boolean): Promise<void> {
    return within(new Promise((resolve) => this.statusWaiters.push({ up, resolve })), 10_000, `status ${up}`);
  }

  /** The first message on `channel`, already here or to come. */
  async messageOn(channel: string): Promise<string> {
    for (;;) {
      const found = this.messages.find((entry) => entry.channel === channel);
      if (found !== undefined) return found.message;
      await within(new Promise<void>((resolve) => this.messageWaiters.push(resolve)), 5000, `a message on ${channel}`);
    }
  }
}

describe('Redis broker subscriptions while the subscriber connects', () => {
  let redis: RedisProcess;
  let publisher: RecordingRedis;
  let connection: BrokerConnection;
  const listener = new RecordingListener();
  const subscribers = (channel: string) => shardSubscribers(redis, `nestjs-rooms:${channel}`);

  before(async () => {
    redis = await RedisProcess.start();
    publisher = new RecordingRedis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    publisher.on('error', () => undefined);
    await once(publisher, 'ready');
  });
  after(async () => {
    await connection?.close();
    await publisher.quit().catch(() => publisher.disconnect());
    await redis.dispose();
  });

  it('subscribes what was asked for during the handshake by the time the connection is up', async () => {
    const broker = new RedisBroker({ client: publisher, logger: { warn: () => undefined } });
    const up = listener.until(true);
    connection = broker.connect(listener);
    const subscriber = publisher.duplicates.at(-1)!;
    assert.equal(connection.up, false);
    // One before the subscriber has a socket, and one while it is connected but still handshaking
    // (CLIENT SETINFO and the ready check are on their way; Redis has answered nothing yet).
    await connection.subscribe('before');
    await once(subscriber, 'connect');
    assert.equal(subscriber.status, 'connect');
    await connection.subscribe('handshake');
    await up;
    assert.equal(connection.up, true);
    assert.equal(await subscribers('before'), 1);
    assert.equal(await subscribers('handshake'), 1);
    assert.equal(await redis.cli('spublish', 'nestjs-rooms:handshake', 'hello'), '1');
    assert.equal(await listener.messageOn('handshake'), 'hello');
  });

  it('after Redis is back, holds what it held, what was asked for while it reconnected, and not what was let go of', async () => {
    await within(Promise.resolve(connection.subscribe('kept')), 5000, 'subscribe kept');
    await within(Promise.resolve(connection.subscribe('let-go')), 5000, 'subscribe let-go');
    const subscriber = publisher.duplicates.at(-1)!;
    const down = listener.until(false);
    await within(redis.stop(), 5000, 'redis stopped');
    await down;
    await within(Promise.resolve(connection.subscribe('while-down')), 5000, 'subscribe while down');
    await within(Promise.resolve(connection.unsubscribe('let-go')), 5000, 'unsubscribe while down');
    const up = listener.until(true);
    // Again during the handshake, this time of the reconnect.
    const connected = once(subscriber, 'connect').then(() => connection.subscribe('reconnect-handshake'));
    await within(redis.start(), 5000, 'redis started');
    await within(connected, 10_000, 'the subscriber connected again');
    await up;
    for (const channel of ['before', 'handshake', 'kept', 'while-down', 'reconnect-handshake']) {
      assert.equal(await subscribers(channel), 1, channel);
    }
    assert.equal(await subscribers('let-go'), 0);
    assert.equal(await redis.cli('spublish', 'nestjs-rooms:reconnect-handshake', 'again'), '1');
    assert.equal(await listener.messageOn('reconnect-handshake'), 'again');
  });
});
