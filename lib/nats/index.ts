export { NatsBroker, type NatsBrokerOptions } from './nats-broker.js';
export type { BrokerLogger } from '../cluster/broker-logger.js';
