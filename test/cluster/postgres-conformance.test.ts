import { brokerConformance } from '../support/broker-conformance.js';
import { postgresHarness } from '../support/postgres-harness.js';

brokerConformance(postgresHarness);
