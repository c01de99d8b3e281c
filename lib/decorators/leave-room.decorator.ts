import { roomOperation } from './room-operation.js';
import type { RoomsSelector } from './room-operation.types.js';

/** Takes the client out of `rooms` once the handler has succeeded, before its first reply is written. */
export const LeaveRoom = <TData = any>(rooms: RoomsSelector<TData>): MethodDecorator =>
  roomOperation({ kind: 'leave', rooms });
