export { RoomsEmitter, type RoomsEmitterOptions } from './rooms-emitter.js';
export type { EmitterOperator } from './emitter-operator.js';
export type { Broker, BrokerConnection, BrokerListener } from '../cluster/broker.js';
