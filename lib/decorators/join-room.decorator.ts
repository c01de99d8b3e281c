import { roomOperation } from './room-operation.js';
import type { RoomsSelector } from './room-operation.types.js';

/**
 * Joins the client to `rooms` once the handler has succeeded, before its first reply is written.
 * Names, limits and `canJoin` are checked before the handler runs; a refusal answers with an
 * exception frame and nothing is joined.
 */
export const JoinRoom = <TData = any>(rooms: RoomsSelector<TData>): MethodDecorator =>
  roomOperation({ kind: 'join', rooms });
