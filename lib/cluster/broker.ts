import { DEFAULT_REQUEST_TIMEOUT } from '../rooms.constants.js';

/**
 * The seam between this server and the others in its cluster. A broker carries the cluster
 * protocol between servers; the default one carries nothing, because one server is the whole
 * cluster.
 */
export interface Broker {
  /** How long cluster requests (`emitWithAck`, `fetchSockets`, ...) wait when no `timeout()` is given. */
  readonly requestTimeout: number;
  /** Releases whatever the broker holds (connections, timers). Called once, when the app closes. */
  close(): Promise<void>;
}

/** The default broker: this process is the only server, so there is nobody to talk to. */
export class InMemoryBroker implements Broker {
  readonly requestTimeout: number;

  constructor(options: { requestTimeout?: number } = {}) {
    this.requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
  }

  async close(): Promise<void> {}
}
