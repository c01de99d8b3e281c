import { DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, DEFAULT_BROKER_HEARTBEAT } from '../rooms.constants.js';
import type { Broker, BrokerConnection, BrokerListener } from './broker.js';

/** Options of {@link InMemoryBroker}, all in milliseconds. */
export interface InMemoryBrokerOptions {
  /** Default timeout of cluster requests and acks. Default 5000. */
  requestTimeout?: number;
  /** How often each server says it is alive. Default 5000. */
  heartbeatInterval?: number;
  /** How long a silent server is still counted as alive. Default 10000. */
  heartbeatTimeout?: number;
}

/**
 * The default broker: a bus inside this process. Alone it makes one server the whole cluster;
 * shared by several Nest apps (`forRoot({ broker })` with the same instance) it makes them one
 * cluster, which is how the cluster protocol is tested without a network.
 */
export class InMemoryBroker implements Broker {
  readonly requestTimeout: number;
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;
  private readonly connections = new Set<InMemoryConnection>();

  constructor(options: InMemoryBrokerOptions = {}) {
    this.requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
    this.heartbeatInterval = options.heartbeatInterval ?? DEFAULT_BROKER_HEARTBEAT;
    this.heartbeatTimeout = options.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
  }

  connect(listener: BrokerListener): BrokerConnection {
    const connection = new InMemoryConnection(listener, this.connections);
    this.connections.add(connection);
    if (this.connections.size === 2) {
      for (const other of this.connections) if (other !== connection) other.listener.peersPossible();
    }
    return connection;
  }
}

class InMemoryConnection implements BrokerConnection {
  readonly up = true;
  readonly channels = new Set<string>();

  constructor(
    readonly listener: BrokerListener,
    private readonly bus: Set<InMemoryConnection>,
  ) {}

  get mayHavePeers(): boolean {
    return this.bus.size > 1;
  }

  async publish(channel: string, message: Buffer): Promise<void> {
    // Delivered on a later tick, as a network transport would, and in publish order.
    for (const connection of this.bus) {
      if (connection.channels.has(channel)) setImmediate(() => connection.deliver(channel, message));
    }
  }

  subscribe(channel: string): undefined {
    this.channels.add(channel);
  }

  unsubscribe(channel: string): undefined {
    this.channels.delete(channel);
  }

  async close(): Promise<void> {
    this.bus.delete(this);
    this.channels.clear();
  }

  private deliver(channel: string, message: Buffer): void {
    if (this.channels.has(channel)) this.listener.message(channel, message);
  }
}
