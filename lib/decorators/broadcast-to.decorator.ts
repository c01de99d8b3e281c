import { roomOperation } from './room-operation.js';
import type { RoomsSelector } from './room-operation.types.js';

/** Options of {@link BroadcastTo}. */
export interface BroadcastToOptions {
  /** Leave the sending socket out of the broadcast. Default true. */
  exceptSender?: boolean;
}

/** Sends the handler's replies to `rooms` instead of back to the sender. */
export const BroadcastTo = <TData = any>(
  rooms: RoomsSelector<TData>,
  { exceptSender = true }: BroadcastToOptions = {},
): MethodDecorator => roomOperation({ kind: 'broadcast', rooms, exceptSender });
