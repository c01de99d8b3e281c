import type { DefaultEvents, EventArgs, EventName, EventsMap } from '../broadcast/typed-events.js';
import type { Handshake } from './handshake.js';

/** @internal A socket as servers send it to each other. */
export interface SocketSnapshot {
  id: string;
  rooms: string[];
  data: Record<string, unknown>;
  handshake: Handshake;
}

/** What a snapshot is taken of: a socket of this server. */
export interface SnapshotSource {
  readonly id: string;
  readonly rooms: ReadonlySet<string>;
  readonly data: Record<string, unknown>;
  readonly handshake: Handshake;
}

/** @internal A local socket as other servers see it (`data` is the socket's own object, not a copy). */
export function snapshotOf(socket: SnapshotSource): SocketSnapshot {
  return { id: socket.id, rooms: [...socket.rooms], data: socket.data, handshake: socket.handshake };
}

/**
 * What a `RemoteSocket` acts through: an operator that targets every socket (a broadcast
 * operator; named by its shape, as the operator builds remote sockets).
 */
export interface SocketActions {
  to(room: string): {
    emit(event: string, data?: unknown): unknown;
    socketsJoin(rooms: string | readonly string[]): Promise<void>;
    socketsLeave(rooms: string | readonly string[]): Promise<void>;
    disconnectSockets(close?: boolean): Promise<void>;
  };
}

/**
 * A socket as `fetchSockets()` returns it, from any server: a snapshot of its id, rooms, data and
 * handshake, with methods that act on the real socket wherever it is.
 */
export class RemoteSocket<Events extends EventsMap = DefaultEvents> {
  /** The socket's id. */
  readonly id: string;
  /** Its rooms when fetched, its own id first. */
  readonly rooms: ReadonlySet<string>;
  /** Its `data` (on this server the socket's own object; from another server a copy). */
  readonly data: Record<string, unknown>;
  /** What its upgrade request said. */
  readonly handshake: Handshake;

  /** @internal built by `fetchSockets()` */
  constructor(
    private readonly everyone: SocketActions,
    snapshot: SocketSnapshot,
  ) {
    this.id = snapshot.id;
    this.rooms = new Set(snapshot.rooms);
    this.data = snapshot.data;
    this.handshake = snapshot.handshake;
  }

  /** Sends `{event, data}` to that socket. */
  async emit<E extends EventName<Events>>(event: E, ...[data]: EventArgs<Events, E>): Promise<void> {
    this.everyone.to(this.id).emit(event, data);
  }

  /** Makes that socket join `rooms`. */
  join(rooms: string | readonly string[]): Promise<void> {
    return this.everyone.to(this.id).socketsJoin(rooms);
  }

  /** Makes that socket leave `rooms`. */
  leave(rooms: string | readonly string[]): Promise<void> {
    return this.everyone.to(this.id).socketsLeave(rooms);
  }

  /** Disconnects that socket, as `RoomSocket.disconnect`. */
  disconnect(close = false): Promise<void> {
    return this.everyone.to(this.id).disconnectSockets(close);
  }
}
