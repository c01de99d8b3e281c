import { RoomsError } from '../rooms.error.js';
import { INVALID_TARGET_ROOM, INVALID_TIMEOUT } from '../rooms.messages.js';
import { toRoomList } from '../registry/room-names.js';
import type { RoomsServer } from '../rooms.server.js';
import { RemoteSocket } from '../socket/remote-socket.js';
import { encodeEvent } from './frame.js';

export interface BroadcastFlags {
  /** This server only. */
  readonly local: boolean;
  /** May be dropped for a socket that cannot take it now. */
  readonly volatile: boolean;
  /** Deflate where the socket negotiated it. */
  readonly compress: boolean;
  /** Milliseconds to wait for acks and cluster answers; the broker's `requestTimeout` when unset. */
  readonly timeout: number | undefined;
}

export const DEFAULT_FLAGS: BroadcastFlags = { local: false, volatile: false, compress: true, timeout: undefined };

function addRooms(current: readonly string[], added: string | readonly string[]): readonly string[] {
  const list = toRoomList(added);
  if (!Array.isArray(list) || !list.every((room) => typeof room === 'string' && room.length > 0)) {
    throw new RoomsError(INVALID_TARGET_ROOM);
  }
  return current.length === 0 ? list : [...current, ...list];
}

/**
 * Which sockets to act on, and how. Immutable: every modifier returns a new operator, so one can
 * be kept and reused. No target rooms means every socket.
 */
export class BroadcastOperator {
  constructor(
    private readonly server: RoomsServer,
    private readonly rooms: readonly string[],
    private readonly exceptRooms: readonly string[],
    private readonly flags: BroadcastFlags,
  ) {}

  /** Adds target rooms (union: each socket once). */
  to(rooms: string | readonly string[]): BroadcastOperator {
    return new BroadcastOperator(this.server, addRooms(this.rooms, rooms), this.exceptRooms, this.flags);
  }

  in(rooms: string | readonly string[]): BroadcastOperator {
    return this.to(rooms);
  }

  /** Leaves out the members of those rooms; a socket id leaves out that socket. */
  except(rooms: string | readonly string[]): BroadcastOperator {
    return new BroadcastOperator(this.server, this.rooms, addRooms(this.exceptRooms, rooms), this.flags);
  }

  /** This server only. */
  get local(): BroadcastOperator {
    return this.withFlags({ local: true });
  }

  /** May be dropped for a socket whose connection cannot take it now. */
  get volatile(): BroadcastOperator {
    return this.withFlags({ volatile: true });
  }

  /** Per-message deflate where the socket negotiated it (the default). */
  compress(compress: boolean): BroadcastOperator {
    return this.withFlags({ compress });
  }

  /** How long acks and cluster requests wait, in milliseconds. */
  timeout(ms: number): BroadcastOperator {
    if (!Number.isFinite(ms) || ms < 0) throw new RoomsError(INVALID_TIMEOUT);
    return this.withFlags({ timeout: ms });
  }

  /**
   * Sends `{event, data}` to every selected socket exactly once. The payload is serialised and
   * framed once; a payload JSON cannot carry throws here and nobody gets anything.
   */
  emit(event: string, data?: unknown): true {
    this.server.deliver(this.rooms, this.exceptRooms, encodeEvent(event, data), this.flags);
    return true;
  }

  /**
   * Sends `{event, data, ack}` and resolves with every socket's answer (`[]` at once when nobody
   * is targeted). On timeout it rejects with a `RoomsError` whose `responses` holds what arrived.
   */
  emitWithAck(event: string, data?: unknown): Promise<unknown[]> {
    try {
      return this.server.deliverWithAck(this.rooms, this.exceptRooms, event, data, this.flags);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The selected sockets, as snapshots whose methods act on the real ones. */
  async fetchSockets(): Promise<RemoteSocket[]> {
    return this.selected().map((socket) => new RemoteSocket(this.server, socket));
  }

  async count(): Promise<number> {
    let count = 0;
    this.server.registry.forEachTarget(this.rooms, this.exceptRooms, () => count++);
    return count;
  }

  /** Makes every selected socket join `rooms`; if any of them would be refused, none joins. */
  async socketsJoin(rooms: string | readonly string[]): Promise<void> {
    this.server.joinAll(this.selected(), toRoomList(rooms));
  }

  async socketsLeave(rooms: string | readonly string[]): Promise<void> {
    this.server.leaveAll(this.selected(), toRoomList(rooms));
  }

  /** `close = false` sends a close frame (1000); `true` cuts the connection. */
  async disconnectSockets(close = false): Promise<void> {
    for (const socket of this.selected()) socket.disconnect(close);
  }

  private selected() {
    return this.server.registry.select(this.rooms, this.exceptRooms);
  }

  private withFlags(changed: Partial<BroadcastFlags>): BroadcastOperator {
    return new BroadcastOperator(this.server, this.rooms, this.exceptRooms, { ...this.flags, ...changed });
  }
}
