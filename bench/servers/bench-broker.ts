import type { Broker, BrokerConnection, BrokerListener } from '../../lib/index.js';
import { TrafficCounter } from './broker-traffic.js';

/**
 * The broker of a nestjs-rooms bench server: `BENCH_BROKER` (`redis`, `nats`, `postgres`) at
 * `BENCH_BROKER_URL`, or Redis at `BENCH_REDIS_URL`; none (a single server) without either.
 * Imported only for the broker asked for, so that each needs only its own client library.
 */
export async function benchBroker(): Promise<Broker | undefined> {
  const url = process.env.BENCH_BROKER_URL ?? process.env.BENCH_REDIS_URL;
  const kind = process.env.BENCH_BROKER ?? (process.env.BENCH_REDIS_URL === undefined ? undefined : 'redis');
  switch (kind) {
    case undefined:
      return undefined;
    case 'redis': {
      const { RedisBroker } = await import('../../lib/redis/index.js');
      return new RedisBroker({ url });
    }
    case 'nats': {
      const { NatsBroker } = await import('../../lib/nats/index.js');
      return new NatsBroker({ servers: url });
    }
    case 'postgres': {
      const { PostgresBroker } = await import('../../lib/postgres/index.js');
      return new PostgresBroker({ connectionString: url });
    }
    default:
      throw new Error(`unknown BENCH_BROKER ${kind}`);
  }
}

const ROOM_PREFIX = 'room:';

/** The room of a cluster channel (`room:<name>`), as `lib/cluster/channels.ts` names them. */
export function roomOfChannel(channel: string): string | undefined {
  return channel.startsWith(ROOM_PREFIX) ? channel.slice(ROOM_PREFIX.length) : undefined;
}

/** A broker whose connections count what they hand to the server (bench only: lib has no such hook). */
export class CountingBroker implements Broker {
  readonly requestTimeout: number;
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;

  constructor(
    private readonly inner: Broker,
    private readonly counter: TrafficCounter,
  ) {
    this.requestTimeout = inner.requestTimeout;
    this.heartbeatInterval = inner.heartbeatInterval;
    this.heartbeatTimeout = inner.heartbeatTimeout;
  }

  connect(listener: BrokerListener): BrokerConnection {
    const counter = this.counter;
    return this.inner.connect({
      message(channel, message) {
        counter.count(channel, message.length);
        listener.message(channel, message);
      },
      status: (up) => listener.status(up),
      peersPossible: () => listener.peersPossible(),
    });
  }
}
