import { brokerConformance } from '../support/broker-conformance.js';
import { natsHarness } from '../support/nats-harness.js';

brokerConformance(natsHarness);
