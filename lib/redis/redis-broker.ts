import { Cluster, Redis } from 'ioredis';
import type { Broker, BrokerConnection, BrokerListener } from '../cluster/broker.js';
import { consoleLogger, type BrokerLogger } from '../cluster/broker-logger.js';
import { DEFAULT_BROKER_HEARTBEAT, DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT } from '../rooms.constants.js';

/** Options of {@link RedisBroker}; times in milliseconds. */
export interface RedisBrokerOptions {
  /** `redis://...` of a standalone server; ignored when `client` is given. */
  url?: string;
  /** An `ioredis` client to publish with (standalone or `Cluster`); subscribers are its duplicates. */
  client?: Redis | Cluster;
  /** Prefix of every channel, so that several apps can share one Redis. Default `nestjs-rooms`. */
  keyPrefix?: string;
  /** Default 5000 ms. */
  requestTimeout?: number;
  /** Default 5000 ms. */
  heartbeatInterval?: number;
  /** Default 10000 ms: a server silent that long is treated as gone. */
  heartbeatTimeout?: number;
  /** Where lost connections are reported (e.g. `new Logger('RedisBroker')` in a Nest app). Default: the console. */
  logger?: BrokerLogger;
}

type Client = Redis | Cluster;

const STATUS_EVENTS = ['ready', 'close', 'end'] as const;

/**
 * Carries the cluster protocol over Redis sharded pub/sub (`SPUBLISH` / `SSUBSCRIBE`, Redis 7+),
 * so that on a Redis Cluster each room's channel lives on one shard and only the servers with
 * members there subscribe to it. One publishing client is shared by every app using this broker;
 * each app subscribes on its own duplicate.
 */
export class RedisBroker implements Broker {
  readonly requestTimeout: number;
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;
  /** Prefix of every channel. */
  readonly keyPrefix: string;
  private publisher: Client | undefined;
  private readonly ownsPublisher: boolean;
  private readonly connections = new Set<RedisConnection>();
  private readonly options: RedisBrokerOptions;
  /** @internal where lost connections are reported */
  readonly logger: BrokerLogger;

  constructor(options: RedisBrokerOptions = {}) {
    this.options = options;
    this.requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
    this.heartbeatInterval = options.heartbeatInterval ?? DEFAULT_BROKER_HEARTBEAT;
    this.heartbeatTimeout = options.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
    this.keyPrefix = options.keyPrefix ?? 'nestjs-rooms';
    this.ownsPublisher = options.client === undefined;
    this.logger = options.logger ?? consoleLogger('RedisBroker');
  }

  connect(listener: BrokerListener): BrokerConnection {
    const publisher = (this.publisher ??= this.createPublisher());
    const connection = new RedisConnection(this, publisher, listener);
    this.connections.add(connection);
    return connection;
  }

  /** @internal */
  async release(connection: RedisConnection): Promise<void> {
    this.connections.delete(connection);
    if (this.connections.size > 0 || !this.ownsPublisher || this.publisher === undefined) return;
    const publisher = this.publisher;
    this.publisher = undefined;
    await publisher.quit().catch(() => publisher.disconnect());
  }

  private createPublisher(): Client {
    if (this.options.client !== undefined) return this.options.client;
    // Broadcasts made while Redis is away are not queued to burst out later: they fail at once
    // (and the cluster says so once), while local delivery goes on.
    const client = new Redis(this.options.url ?? 'redis://127.0.0.1:6379', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    logErrors(client, 'publisher', this.logger);
    return client;
  }
}

/** Logs a client's errors once per outage rather than on every reconnect attempt. */
function logErrors(client: Client, role: string, logger: BrokerLogger): void {
  let reported = false;
  client.on('error', (error: Error) => {
    if (reported) return;
    reported = true;
    logger.warn(`Redis ${role}: ${error.message}; reconnecting`);
  });
  client.on('ready', () => (reported = false));
}

class RedisConnection implements BrokerConnection {
  readonly mayHavePeers = true;
  private readonly subscriber: Client;
  private readonly prefix: string;
  private wasUp = false;
  /** Every channel asked for and not let go of since (prefixed): what the subscriber holds whenever it is up. */
  private readonly wanted = new Set<string>();
  /** Channels let go of while the subscriber was not ready: a reconnect may subscribe them again. */
  private readonly dropped = new Set<string>();
  /** Whether the subscriber's current connection has confirmed every wanted channel. */
  private subscribed = false;
  /** Which connection of the subscriber `resubscribe` works for: a newer one makes an older one's answers moot. */
  private connectionEpoch = 0;

  constructor(
    private readonly broker: RedisBroker,
    private readonly publisher: Client,
    private readonly listener: BrokerListener,
  ) {
    this.prefix = `${broker.keyPrefix}:`;
    this.subscriber =
      publisher instanceof Cluster
        ? publisher.duplicate(undefined, { shardedSubscribers: true })
        : publisher.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    logErrors(this.subscriber, 'subscriber', broker.logger);
    this.subscriber.on('smessageBuffer', (channel: Buffer, message: Buffer) => {
      const name = channel.toString();
      if (name.startsWith(this.prefix)) this.listener.message(name.slice(this.prefix.length), message);
    });
    this.subscriber.on('ready', this.resubscribe);
    this.subscriber.on('close', this.connectionLost);
    for (const client of [this.publisher, this.subscriber]) {
      for (const event of STATUS_EVENTS) client.on(event, this.checkStatus);
    }
    // A duplicate of a `lazyConnect` client waits for a first command, which is only sent once it is ready.
    if (this.subscriber.status === 'wait') this.subscriber.connect().catch(() => undefined);
    this.wasUp = this.up;
  }

  /** Both clients ready, and every channel asked for so far subscribed on the subscriber's connection. */
  get up(): boolean {
    return this.publisher.status === 'ready' && this.subscriber.status === 'ready' && this.subscribed;
  }

  async publish(channel: string, message: Buffer): Promise<void> {
    await this.publisher.spublish(this.prefix + channel, message);
  }

  /**
   * Sent only on a ready connection; otherwise kept in `wanted` for `resubscribe`. ioredis writes a
   * subscribe issued during its handshake ahead of the ready check (the command may run while
   * Redis loads), which puts the connection in subscriber mode: Redis refuses the check's INFO,
   * and ioredis drops the connection, failing every queued command, without resubscribing.
   */
  async subscribe(channel: string): Promise<void> {
    const name = this.prefix + channel;
    this.wanted.add(name);
    this.dropped.delete(name);
    if (this.subscriber.status !== 'ready') return;
    const subscribed = this.subscriber.ssubscribe(name);
    if (this.answersNow) await subscribed;
    else subscribed.catch(() => undefined);
  }

  async unsubscribe(channel: string): Promise<void> {
    const name = this.prefix + channel;
    this.wanted.delete(name);
    if (this.subscriber.status !== 'ready') return void this.dropped.add(name);
    const unsubscribed = this.subscriber.sunsubscribe(name);
    if (this.answersNow) return void (await unsubscribed);
    this.dropped.add(name);
    unsubscribed.catch(() => undefined);
  }

  /**
   * Whether a command the ready subscriber is sent now may be waited for. Redis lost, the publisher
   * may notice before the subscriber does, whose command would then wait for the reconnect: while
   * Redis is away, (un)subscribing resolves at once, and takes effect on reconnect.
   */
  private get answersNow(): boolean {
    return this.publisher.status === 'ready';
  }

  /**
   * The subscriber is (again) connected: every wanted channel is subscribed on it, and those let go
   * of meanwhile unsubscribed (ioredis resubscribes what the last connection held, and resends what
   * was in flight when it dropped). The connection counts as up once Redis has confirmed them all.
   */
  private readonly resubscribe = (): void => {
    const epoch = ++this.connectionEpoch;
    const subscriber = this.subscriber;
    const commands: Promise<unknown>[] = [];
    for (const name of this.dropped) commands.push(subscriber.sunsubscribe(name));
    this.dropped.clear();
    for (const name of this.wanted) commands.push(subscriber.ssubscribe(name));
    void Promise.allSettled(commands).then((results) => {
      if (epoch !== this.connectionEpoch || subscriber.status !== 'ready') return;
      const failed = results.find((result) => result.status === 'rejected');
      if (failed !== undefined) {
        const reason = (failed as PromiseRejectedResult).reason as Error;
        this.broker.logger.warn(`Redis subscriber: subscribing again after a reconnect failed: ${reason.message}`);
      }
      this.subscribed = true;
      this.checkStatus();
    });
  };

  private readonly connectionLost = (): void => {
    this.subscribed = false;
    ++this.connectionEpoch;
  };

  async close(): Promise<void> {
    // Going away on purpose is no outage: nothing more to report.
    for (const client of [this.publisher, this.subscriber]) {
      for (const event of STATUS_EVENTS) client.off(event, this.checkStatus);
    }
    this.subscriber.removeAllListeners('smessageBuffer');
    this.subscriber.off('ready', this.resubscribe);
    this.subscriber.off('close', this.connectionLost);
    // While Redis is away, QUIT would wait behind the queued (un)subscribes until it is back: forever,
    // if it never is. Disconnecting drops that queue (its promises are already handled).
    if (this.subscriber.status === 'ready') await this.subscriber.quit().catch(() => undefined);
    this.subscriber.disconnect();
    await this.broker.release(this);
  }

  private readonly checkStatus = (): void => {
    const up = this.up;
    if (up === this.wasUp) return;
    this.wasUp = up;
    this.listener.status(up);
  };
}
