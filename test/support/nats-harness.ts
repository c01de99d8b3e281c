import { NatsBroker } from '../../lib/nats/index.js';
import type { BrokerHarness, FaultyBrokerServer } from './broker-conformance.js';
import { NatsProcess } from './nats-server.js';

/** A private nats-server; every server of the cluster gets its own NatsBroker (its own connection) to it. */
async function natsServer(up: boolean): Promise<FaultyBrokerServer> {
  const nats = up ? await NatsProcess.start() : await NatsProcess.reserve();
  return {
    broker: (_index, timings) => new NatsBroker({ servers: nats.url, ...timings }),
    kill: () => nats.stop(),
    restart: () => nats.start(),
    dispose: () => nats.dispose(),
    childEnv: { BROKER: 'nats', BROKER_URL: nats.url },
  };
}

export const natsHarness: BrokerHarness = {
  name: 'NATS',
  start: () => natsServer(true),
  faults: {
    start: () => natsServer(true),
    startDown: () => natsServer(false),
    // One connection per server, one line per outage.
    outageWarnings: { pattern: /^NATS: .*; reconnecting$/, max: 1 },
  },
};
