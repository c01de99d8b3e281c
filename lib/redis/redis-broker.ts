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
    for (const client of [this.publisher, this.subscriber]) {
      for (const event of STATUS_EVENTS) client.on(event, this.checkStatus);
    }
    this.wasUp = this.up;
  }

  get up(): boolean {
    return this.publisher.status === 'ready' && this.subscriber.status === 'ready';
  }

  async publish(channel: string, message: Buffer): Promise<void> {
    await this.publisher.spublish(this.prefix + channel, message);
  }

  async subscribe(channel: string): Promise<void> {
    const subscribed = this.subscriber.ssubscribe(this.prefix + channel);
    // While Redis is away the command waits in the subscriber's queue and runs on reconnect.
    if (this.subscriber.status === 'ready') await subscribed;
    else subscribed.catch(() => undefined);
  }

  async unsubscribe(channel: string): Promise<void> {
    const unsubscribed = this.subscriber.sunsubscribe(this.prefix + channel);
    if (this.subscriber.status === 'ready') await unsubscribed;
    else unsubscribed.catch(() => undefined);
  }

  async close(): Promise<void> {
    // Going away on purpose is no outage: nothing more to report.
    for (const client of [this.publisher, this.subscriber]) {
      for (const event of STATUS_EVENTS) client.off(event, this.checkStatus);
    }
    this.subscriber.removeAllListeners('smessageBuffer');
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
