import type { RoomsServer } from '../rooms.server.js';
import type { Handshake } from './handshake.js';
import type { RoomSocket } from './room-socket.js';

/**
 * A socket as `fetchSockets()` returns it: a snapshot of its id, rooms and handshake, with its
 * live `data`, and methods that act on the real socket wherever it is.
 */
export class RemoteSocket {
  readonly id: string;
  readonly rooms: ReadonlySet<string>;
  readonly data: Record<string, unknown>;
  readonly handshake: Handshake;

  constructor(
    private readonly server: RoomsServer,
    socket: RoomSocket,
  ) {
    this.id = socket.id;
    this.rooms = new Set(socket.rooms);
    this.data = socket.data;
    this.handshake = socket.handshake;
  }

  async emit(event: string, data?: unknown): Promise<void> {
    this.server.operator().to(this.id).emit(event, data);
  }

  join(rooms: string | readonly string[]): Promise<void> {
    return this.server.operator().in(this.id).socketsJoin(rooms);
  }

  leave(rooms: string | readonly string[]): Promise<void> {
    return this.server.operator().in(this.id).socketsLeave(rooms);
  }

  disconnect(close = false): Promise<void> {
    return this.server.operator().in(this.id).disconnectSockets(close);
  }
}
