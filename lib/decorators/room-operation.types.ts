import type { RoomSocket } from '../socket/room-socket.js';

/** Rooms given to a decorator: fixed, or computed from the message and the socket. */
export type RoomsSelector<TData = any> =
  | string
  | readonly string[]
  | ((data: TData, socket: RoomSocket) => string | readonly string[] | Promise<string | readonly string[]>);

/** @internal What one `@JoinRoom`, `@LeaveRoom` or `@BroadcastTo` records on a handler, for the rooms interceptor. */
export type RoomOperation =
  | { readonly kind: 'join' | 'leave'; readonly rooms: RoomsSelector }
  | { readonly kind: 'broadcast'; readonly rooms: RoomsSelector; readonly exceptSender: boolean };
