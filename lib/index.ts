export { RoomsModule } from './rooms.module.js';
export { RoomService } from './rooms.service.js';
export { RoomsAdapter } from './adapter/rooms.adapter.js';
export { RoomSocket, type DisconnectReason } from './socket/room-socket.js';
export type { Handshake } from './socket/handshake.js';
export type { RemoteSocket } from './socket/remote-socket.js';
export { BroadcastOperator } from './broadcast/broadcast-operator.js';
export type { EventsMap, DefaultEvents, EventName, EventArgs } from './broadcast/typed-events.js';
export { RoomsError } from './rooms.error.js';
export { JoinRoom } from './decorators/join-room.decorator.js';
export { LeaveRoom } from './decorators/leave-room.decorator.js';
export { BroadcastTo, type BroadcastToOptions } from './decorators/broadcast-to.decorator.js';
export { OnDisconnecting } from './decorators/on-disconnecting.decorator.js';
export { OnDisconnect } from './decorators/on-disconnect.decorator.js';
export { OnServerEvent } from './decorators/on-server-event.decorator.js';
export type { RoomsSelector } from './decorators/room-operation.types.js';
export type {
  RoomsModuleOptions,
  RecoveryOptions,
  RoomsOptionsFactory,
  RoomsAdapterOptions,
  MessageParser,
  ParsedFrame,
} from './rooms.options.js';
export type { Broker, BrokerConnection, BrokerListener } from './cluster/broker.js';
export type { BrokerLogger } from './cluster/broker-logger.js';
export { InMemoryBroker, type InMemoryBrokerOptions } from './cluster/in-memory-broker.js';
export type { RoomEvents } from './registry/room-registry.js';
export type { ServiceEvents } from './rooms.service.js';
export type { PresenceEvents } from './presence/presence-replication.js';
export type { PresenceMeta, PresenceEntries, PresenceDiff, PresenceOptions } from './presence/presence.types.js';
export type { ServerEventHandler } from './cluster/server-events.js';
export type { RoomsMetricsSnapshot, HistogramSnapshot } from './metrics/rooms-metrics.js';
export type {
  DisconnectReasonLabel,
  BroadcastOriginLabel,
  DropReasonLabel,
  BadFrameKind,
  RequestKindLabel,
  RecoveryResultLabel,
} from './metrics/metric-labels.js';
