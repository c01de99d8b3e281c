export { RedisBroker, type RedisBrokerOptions } from './redis-broker.js';
export type { BrokerLogger } from '../cluster/broker-logger.js';
