/**
 * The seam between this server and the others of its cluster: a transport of opaque messages on
 * named channels. The cluster protocol (`cluster-node.ts`) is written against it alone, so a new
 * transport (NATS, Postgres) is one small class.
 */
export interface Broker {
  /** How long cluster requests wait when no `timeout()` is given. */
  readonly requestTimeout: number;
  /** How often each server says it is alive. */
  readonly heartbeatInterval: number;
  /** How long a silent server is still counted as alive. */
  readonly heartbeatTimeout: number;
  /** One connection per server (per Nest app) that uses this broker. */
  connect(listener: BrokerListener): BrokerConnection;
}

/** What a connection reports to: the cluster node of one server. */
export interface BrokerListener {
  /** A message arrived on a channel this connection subscribed to (its own messages included). */
  message(channel: string, message: Buffer): void;
  /** The transport went down or came back; while down, publishes fail and nothing arrives. */
  status(up: boolean): void;
  /**
   * `mayHavePeers` has just turned true. A listener subscribes no room channels while it is false
   * (nobody could publish to them), so it subscribes them now; call it before the new peer can publish.
   */
  peersPossible(): void;
}

/** One server's link to the transport. */
export interface BrokerConnection {
  /** Whether the transport is up now. */
  readonly up: boolean;
  /**
   * False when no other server can possibly hear a publish (a broker nobody else shares), so that
   * a single server does not build cluster messages for nobody.
   */
  readonly mayHavePeers: boolean;
  /** Resolves once the message is handed to the transport; rejects when it is down. */
  publish(channel: string, message: Buffer): Promise<void>;
  /**
   * Makes messages on `channel` reach this connection: nothing to wait for (`undefined`) when that
   * is done at once, else a promise that resolves when it is (at once while the transport is down:
   * it subscribes on reconnect).
   */
  subscribe(channel: string): Promise<void> | undefined;
  /** Stops messages on `channel` reaching this connection. */
  unsubscribe(channel: string): Promise<void> | undefined;
  /** Lets go of the transport (subscriptions, connections this broker opened for it). */
  close(): Promise<void>;
}
