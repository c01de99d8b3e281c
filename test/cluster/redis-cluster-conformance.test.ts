import { brokerConformance } from '../support/broker-conformance.js';
import { redisClusterHarness } from '../support/redis-harness.js';

brokerConformance(redisClusterHarness);
