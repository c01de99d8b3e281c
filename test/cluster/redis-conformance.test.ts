import { brokerConformance } from '../support/broker-conformance.js';
import { redisHarness } from '../support/redis-harness.js';

brokerConformance(redisHarness);
