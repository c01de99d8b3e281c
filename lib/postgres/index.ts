export { PostgresBroker, type PostgresBrokerOptions } from './postgres-broker.js';
export type { BrokerLogger } from '../cluster/broker-logger.js';
