import pg from 'pg';
import type { Broker, BrokerConnection, BrokerListener } from '../cluster/broker.js';
import { consoleLogger, type BrokerLogger } from '../cluster/broker-logger.js';
import { DEFAULT_BROKER_HEARTBEAT, DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT } from '../rooms.constants.js';
import { channelNameOf, INLINE, isValidChannelPrefix, MAX_NOTIFY_PAYLOAD, STORED } from './postgres-channels.js';
import { PayloadTable } from './payload-table.js';

/** Options of {@link PostgresBroker}; times in milliseconds. */
export interface PostgresBrokerOptions {
  /** `postgres://...` of the database; ignored when `pool` is given. */
  connectionString?: string;
  /**
   * A `pg` pool to publish with; each server listens on a `pg.Client` of its own built from the
   * pool's options. The broker does not end it, and does not listen to its `error` event.
   */
  pool?: pg.Pool;
  /**
   * Prefix of every channel and of the payload table's name, so that several apps can share one
   * database: at most 30 bytes of UTF-8, not empty. Default `nestjs-rooms`.
   */
  channelPrefix?: string;
  /** Default 5000 ms. */
  requestTimeout?: number;
  /** Default 5000 ms. */
  heartbeatInterval?: number;
  /** Default 10000 ms: a server silent that long is treated as gone. */
  heartbeatTimeout?: number;
  /**
   * How long a message too large for `NOTIFY` stays in the payload table for the receivers to read
   * it; older rows are deleted. Default 60000 ms.
   */
  payloadRetention?: number;
  /** Where lost connections are reported (e.g. `new Logger('PostgresBroker')` in a Nest app). Default: the console. */
  logger?: BrokerLogger;
}

/** Re-LISTEN attempts after a lost connection wait 100 ms, doubling up to this. */
const MAX_RECONNECT_DELAY = 2000;
const FIRST_RECONNECT_DELAY = 100;
const DEFAULT_PAYLOAD_RETENTION = 60_000;

/**
 * Carries the cluster protocol over Postgres `LISTEN`/`NOTIFY`. Each server listens on one
 * dedicated connection of its own, and publishes one message at a time through a pool (in order:
 * parallel `NOTIFY`s on several connections would overtake each other). Channel names are hashed
 * to fit Postgres's 63-byte identifiers; messages too large for `NOTIFY` go through a table.
 */
export class PostgresBroker implements Broker {
  readonly requestTimeout: number;
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;
  /** Prefix of every channel and of the payload table. */
  readonly channelPrefix: string;
  /** @internal where lost connections are reported */
  readonly logger: BrokerLogger;
  private readonly options: PostgresBrokerOptions;
  private pool: pg.Pool | undefined;
  private payloads: PayloadTable | undefined;
  private readonly connections = new Set<PostgresConnection>();

  constructor(options: PostgresBrokerOptions = {}) {
    const prefix = options.channelPrefix ?? 'nestjs-rooms';
    if (!isValidChannelPrefix(prefix)) {
      throw new TypeError(`PostgresBroker: channelPrefix must be 1 to 30 bytes of UTF-8 without NUL, got "${prefix}"`);
    }
    if (options.pool === undefined && options.connectionString === undefined) {
      throw new TypeError('PostgresBroker: give a connectionString or a pool');
    }
    this.options = options;
    this.channelPrefix = prefix;
    this.requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
    this.heartbeatInterval = options.heartbeatInterval ?? DEFAULT_BROKER_HEARTBEAT;
    this.heartbeatTimeout = options.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
    this.logger = options.logger ?? consoleLogger('PostgresBroker');
  }

  connect(listener: BrokerListener): BrokerConnection {
    const pool = (this.pool ??= this.createPool());
    this.payloads ??= new PayloadTable(
      pool,
      this.channelPrefix,
      this.options.payloadRetention ?? DEFAULT_PAYLOAD_RETENTION,
    );
    const connection = new PostgresConnection(this, pool, this.payloads, listener);
    this.connections.add(connection);
    return connection;
  }

  /** @internal a new listening client (a `pg.Client` serves one session only) */
  createListener(): pg.Client {
    const config: pg.ClientConfig =
      this.options.pool !== undefined
        ? { ...(this.options.pool.options as pg.ClientConfig) }
        : { connectionString: this.options.connectionString };
    // A dead peer without a FIN shows within minutes instead of never.
    return new pg.Client({ ...config, keepAlive: true });
  }

  /** @internal */
  async release(connection: PostgresConnection): Promise<void> {
    this.connections.delete(connection);
    if (this.connections.size > 0) return;
    const { pool, payloads } = this;
    this.pool = undefined;
    this.payloads = undefined;
    payloads?.stop();
    if (pool !== undefined && this.options.pool === undefined) await pool.end().catch(() => undefined);
  }

  private createPool(): pg.Pool {
    if (this.options.pool !== undefined) return this.options.pool;
    // Against an unreachable host a publish fails after requestTimeout rather than hanging.
    const pool = new pg.Pool({
      connectionString: this.options.connectionString,
      connectionTimeoutMillis: this.requestTimeout,
      max: 4,
    });
    // An idle pooled connection lost in an outage must not crash the process: the listener reports it.
    pool.on('error', () => undefined);
    return pool;
  }
}

class PostgresConnection implements BrokerConnection {
  readonly mayHavePeers = true;
  private isUp = false;
  private closed = false;
  /** Postgres channel name to the cluster's channel, for every channel subscribed. */
  private readonly channels = new Map<string, string>();
  private client: pg.Client | undefined;
  /** Whether `client` is connected, so that a subscribe goes to it rather than waiting for the next one. */
  private connected = false;
  /** Queries on the listening client, one at a time (pg warns about queries sent while one runs). */
  private listenQueue: Promise<unknown> = Promise.resolve();
  /** Publishes, one at a time so that they arrive in the order they were made. */
  private publishQueue: Promise<unknown> = Promise.resolve();
  /** Messages that wait for an earlier one read from the payload table, so that none overtakes another. */
  private readonly inbox: Array<{ channel: string; message: Buffer | Promise<Buffer | undefined> }> = [];
  private draining = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = FIRST_RECONNECT_DELAY;
  private reported = false;

  constructor(
    private readonly broker: PostgresBroker,
    private readonly pool: pg.Pool,
    private readonly payloads: PayloadTable,
    private readonly listener: BrokerListener,
  ) {
    this.open();
  }

  get up(): boolean {
    return this.isUp;
  }

  publish(channel: string, message: Buffer): Promise<void> {
    if (!this.isUp) return Promise.reject(new Error('Postgres is not connected'));
    const name = channelNameOf(this.broker.channelPrefix, channel);
    const published = this.publishQueue.then(() => this.send(name, message));
    this.publishQueue = published.catch(() => undefined);
    return published;
  }

  subscribe(channel: string): Promise<void> | undefined {
    const name = channelNameOf(this.broker.channelPrefix, channel);
    this.channels.set(name, channel);
    // While the connection is away this is applied with every other channel when it is back.
    return this.connected ? this.onListener(`LISTEN ${pg.escapeIdentifier(name)}`) : undefined;
  }

  unsubscribe(channel: string): Promise<void> | undefined {
    const name = channelNameOf(this.broker.channelPrefix, channel);
    if (!this.channels.delete(name)) return undefined;
    return this.connected ? this.onListener(`UNLISTEN ${pg.escapeIdentifier(name)}`) : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.isUp = false;
    this.connected = false;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
    await this.publishQueue;
    await this.broker.release(this);
  }

  private async send(name: string, message: Buffer): Promise<void> {
    const inline = INLINE + message.toString('base64');
    if (inline.length <= MAX_NOTIFY_PAYLOAD) {
      await this.pool.query('SELECT pg_notify($1, $2)', [name, inline]);
    } else {
      await this.payloads.notify(name, message);
    }
  }

  /** A query on the current listening client; a client lost meanwhile is no failure (the next one listens again). */
  private onListener(sql: string): Promise<void> {
    const client = this.client!;
    const done = this.listenQueue
      .then(() => client.query(sql))
      .then(
        () => undefined,
        (error: unknown) => {
          if (client === this.client && this.connected) throw error;
        },
      );
    this.listenQueue = done.catch(() => undefined);
    return done;
  }

  private open(): void {
    const client = this.broker.createListener();
    this.client = client;
    // Every connection loss shows as `error` (once or twice) and then `end`: the first one counts.
    const lost = (error?: Error) => this.lost(client, error);
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (notification) => this.received(notification));
    client
      .connect()
      .then(async () => {
        if (client !== this.client) return;
        this.connected = true;
        this.listenQueue = Promise.resolve();
        const names = [...this.channels.keys()];
        if (names.length > 0) {
          await this.onListener(names.map((name) => `LISTEN ${pg.escapeIdentifier(name)}`).join('; '));
        }
        if (client !== this.client || !this.connected) return;
        this.reconnectDelay = FIRST_RECONNECT_DELAY;
        this.reported = false;
        this.isUp = true;
        this.listener.status(true);
      })
      .catch((error: unknown) => this.lost(client, error instanceof Error ? error : new Error(String(error))));
  }

  private lost(client: pg.Client, error: Error | undefined): void {
    if (client !== this.client || this.closed) return;
    this.client = undefined;
    this.connected = false;
    client.end().catch(() => undefined);
    if (!this.reported) {
      this.reported = true;
      this.broker.logger.warn(`Postgres listener: ${error?.message ?? 'connection ended'}; reconnecting`);
    }
    this.reconnectTimer = setTimeout(() => this.open(), this.reconnectDelay);
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, MAX_RECONNECT_DELAY);
    if (this.isUp) {
      this.isUp = false;
      this.listener.status(false);
    }
  }

  private received(notification: pg.Notification): void {
    const channel = this.channels.get(notification.channel);
    const payload = notification.payload;
    if (channel === undefined || payload === undefined) return;
    let message: Buffer | Promise<Buffer | undefined>;
    if (payload.startsWith(INLINE)) message = Buffer.from(payload.slice(INLINE.length), 'base64');
    else if (payload.startsWith(STORED)) message = this.payloads.read(payload.slice(STORED.length), this.broker.logger);
    else return;
    if (this.inbox.length === 0 && Buffer.isBuffer(message)) {
      this.listener.message(channel, message);
      return;
    }
    this.inbox.push({ channel, message });
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.inbox.length > 0) {
      const { channel, message } = this.inbox[0]!;
      const body = await message;
      this.inbox.shift();
      if (body !== undefined && !this.closed) this.listener.message(channel, body);
    }
    this.draining = false;
  }
}
