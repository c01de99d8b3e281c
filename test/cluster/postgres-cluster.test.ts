import { PostgresBroker } from '../../lib/postgres/index.js';
import { clusterContract } from '../support/cluster-contract.js';
import { PostgresProcess } from '../support/postgres-server.js';

let postgres: PostgresProcess;

clusterContract(
  'three servers on one Postgres, each with its own PostgresBroker',
  () =>
    new PostgresBroker({
      connectionString: postgres.url,
      requestTimeout: 2000,
      heartbeatInterval: 100,
      heartbeatTimeout: 400,
    }),
  async () => {
    postgres = await PostgresProcess.start();
    return () => postgres.dispose();
  },
);
