import { setTimeout as delay } from 'node:timers/promises';
import {
  connect,
  type ConnectionOptions,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import type { Broker, BrokerConnection, BrokerListener } from '../cluster/broker.js';
import { consoleLogger, type BrokerLogger } from '../cluster/broker-logger.js';
import { DEFAULT_BROKER_HEARTBEAT, DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT } from '../rooms.constants.js';
import { INVALID_SUBJECT_PREFIX, NATS_DOWN, NATS_TOO_LARGE } from '../rooms.messages.js';
import { SubjectMap } from './subject-map.js';

/** Options of {@link NatsBroker}; times in milliseconds. */
export interface NatsBrokerOptions {
  /** NATS servers to connect to (`host:port` or `nats://host:port`); ignored when `connection` is given. Default `127.0.0.1:4222`. */
  servers?: string | string[];
  /** An open connection to use instead; the broker never closes it. */
  connection?: NatsConnection;
  /** First token(s) of every subject, so that several apps can share one NATS. Default `nestjs-rooms`. */
  subjectPrefix?: string;
  /** Default 5000 ms. */
  requestTimeout?: number;
  /** Default 5000 ms; also how often the connection pings NATS, so that a hung server is noticed. */
  heartbeatInterval?: number;
  /** Default 10000 ms: a server silent that long is treated as gone. */
  heartbeatTimeout?: number;
  /** Where lost connections are reported (e.g. `new Logger('NatsBroker')` in a Nest app). Default: the console. */
  logger?: BrokerLogger;
}

/** Between two attempts to reach NATS, before the first connection and after any loss. */
const RECONNECT_WAIT = 250;

/**
 * Carries the cluster protocol over NATS core pub/sub: one subject per channel (so per room), so
 * that NATS's interest routing delivers a room's messages only to the servers with members in it.
 * Each server (each Nest app using this broker) has a connection of its own, unless one is given.
 */
export class NatsBroker implements Broker {
  readonly requestTimeout: number;
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;
  /** First token(s) of every subject. */
  readonly subjectPrefix: string;
  /** @internal where lost connections are reported */
  readonly logger: BrokerLogger;
  private readonly options: NatsBrokerOptions;

  constructor(options: NatsBrokerOptions = {}) {
    this.options = options;
    this.requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
    this.heartbeatInterval = options.heartbeatInterval ?? DEFAULT_BROKER_HEARTBEAT;
    this.heartbeatTimeout = options.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
    this.subjectPrefix = options.subjectPrefix ?? 'nestjs-rooms';
    if (!SubjectMap.validPrefix(this.subjectPrefix)) throw new Error(INVALID_SUBJECT_PREFIX(this.subjectPrefix));
    this.logger = options.logger ?? consoleLogger('NatsBroker');
  }

  connect(listener: BrokerListener): BrokerConnection {
    return new NatsBrokerConnection(this, listener, this.options.connection);
  }

  /** @internal the options of a connection this broker opens */
  connectionOptions(): ConnectionOptions {
    return {
      servers: this.options.servers ?? '127.0.0.1:4222',
      // The client gives up for good after a finite number of attempts: a broker never does.
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_WAIT,
      // A hung server (no TCP reset) is noticed after about three heartbeat intervals.
      pingInterval: this.heartbeatInterval,
      maxPingOut: 2,
    };
  }
}

class NatsBrokerConnection implements BrokerConnection {
  readonly mayHavePeers = true;
  private nc: NatsConnection | undefined;
  private readonly ownsConnection: boolean;
  private readonly subjects: SubjectMap;
  private readonly subscriptions = new Map<string, Subscription | undefined>();
  private isUp = false;
  private closing = false;
  private readonly abort = new AbortController();
  /** One warning per outage. */
  private reported = false;

  constructor(
    private readonly broker: NatsBroker,
    private readonly listener: BrokerListener,
    given: NatsConnection | undefined,
  ) {
    this.subjects = new SubjectMap(broker.subjectPrefix);
    this.ownsConnection = given === undefined;
    if (given !== undefined) this.attach(given);
    else void this.open();
  }

  get up(): boolean {
    return this.isUp;
  }

  publish(channel: string, message: Buffer): Promise<void> {
    // NATS drops what is published while it is away without a word: refuse it here instead.
    if (!this.isUp || this.nc === undefined) return Promise.reject(new Error(NATS_DOWN));
    const max = this.nc.info?.max_payload;
    if (max !== undefined && message.length > max) {
      // The client would throw the same; this says which limit to raise.
      const error = new Error(NATS_TOO_LARGE(message.length, max));
      this.broker.logger.warn(error.message);
      return Promise.reject(error);
    }
    try {
      this.nc.publish(this.subjects.subjectOf(channel), message);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  subscribe(channel: string): Promise<void> | undefined {
    if (this.subscriptions.has(channel)) return undefined;
    this.subscriptions.set(channel, undefined);
    if (this.nc === undefined) return undefined; // subscribed once connected
    this.subscriptions.set(channel, this.subscribeOn(this.nc, channel));
    // While NATS is away the client re-sends the subscription on reconnect.
    return this.isUp ? this.nc.flush().catch(() => undefined) : undefined;
  }

  unsubscribe(channel: string): Promise<void> | undefined {
    if (!this.subscriptions.has(channel)) return undefined;
    this.subscriptions.get(channel)?.unsubscribe();
    this.subscriptions.delete(channel);
    this.subjects.forget(channel);
    return undefined;
  }

  async close(): Promise<void> {
    // Going away on purpose is no outage: nothing more to report.
    this.closing = true;
    this.isUp = false;
    this.abort.abort();
    for (const subscription of this.subscriptions.values()) subscription?.unsubscribe();
    this.subscriptions.clear();
    const nc = this.nc;
    this.nc = undefined;
    if (nc === undefined) return;
    if (this.ownsConnection) await nc.close();
    else if (!nc.isClosed()) await nc.flush().catch(() => undefined);
  }

  /** Connects, retrying until NATS is there; the client itself reconnects after that. */
  private async open(): Promise<void> {
    while (!this.closing) {
      try {
        const nc = await connect(this.broker.connectionOptions());
        if (this.closing) return void (await nc.close());
        this.attach(nc);
        return;
      } catch (error) {
        this.warn(`NATS: ${(error as Error).message}; reconnecting`);
        await delay(RECONNECT_WAIT, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
  }

  private attach(nc: NatsConnection): void {
    this.nc = nc;
    for (const channel of this.subscriptions.keys()) this.subscriptions.set(channel, this.subscribeOn(nc, channel));
    void this.watch(nc);
    // Up once NATS has every subscription made so far. A given connection that is away now
    // rejects this flush; its `reconnect` reports up then.
    nc.flush().then(
      () => this.setUp(nc, true),
      () => undefined,
    );
  }

  private subscribeOn(nc: NatsConnection, channel: string): Subscription {
    const subject = this.subjects.subscribed(channel);
    return nc.subscribe(subject, { callback: this.deliver });
  }

  private readonly deliver = (error: Error | null, msg: Msg): void => {
    if (error !== null || this.closing) return;
    const channel = this.subjects.channelOf(msg.subject);
    if (channel === undefined) return;
    const data = msg.data;
    this.listener.message(channel, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  };

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.closing || this.nc !== nc) return;
      switch (status.type) {
        case 'disconnect':
        case 'staleConnection':
          this.warn(`NATS: connection to ${nc.getServer()} lost; reconnecting`);
          this.setUp(nc, false);
          break;
        case 'reconnect':
          // The client has re-sent every subscription; the flush says NATS has them.
          nc.flush().then(
            () => this.setUp(nc, true),
            () => undefined,
          );
          break;
        case 'close':
          this.setUp(nc, false);
          break;
      }
    }
  }

  private setUp(nc: NatsConnection, up: boolean): void {
    if (this.closing || this.nc !== nc || up === this.isUp) return;
    if (up) this.reported = false;
    this.isUp = up;
    this.listener.status(up);
  }

  private warn(message: string): void {
    if (this.reported) return;
    this.reported = true;
    this.broker.logger.warn(message);
  }
}
