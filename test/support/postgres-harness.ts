import { PostgresBroker } from '../../lib/postgres/index.js';
import type { BrokerHarness, FaultyBrokerServer } from './broker-conformance.js';
import { PostgresProcess } from './postgres-server.js';

/** A throwaway Postgres cluster; every server of the cluster gets its own PostgresBroker to it. */
async function postgresServer(up: boolean): Promise<FaultyBrokerServer> {
  const postgres = await PostgresProcess.start(up);
  return {
    broker: (_index, timings) => new PostgresBroker({ connectionString: postgres.url, ...timings }),
    kill: () => postgres.stop(),
    restart: () => postgres.start(),
    dispose: () => postgres.dispose(),
    childEnv: { BROKER: 'postgres', BROKER_URL: postgres.url },
  };
}

export const postgresHarness: BrokerHarness = {
  name: 'Postgres',
  start: () => postgresServer(true),
  faults: {
    start: () => postgresServer(true),
    startDown: () => postgresServer(false),
    // Only the listening client reports an outage; failed publishes are the cluster's to report.
    outageWarnings: { pattern: /^Postgres listener: .*; reconnecting$/, max: 1 },
  },
};
