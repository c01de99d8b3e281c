import type { RoomLifecycle } from '../registry/room-registry.js';

/**
 * Keeps the cluster routing a room's broadcasts to this server while a waiting session was in
 * it, though no socket here is: frames to that room must still arrive to be held for it. Sits
 * between the registry and the cluster's routing, and lets a room go once neither needs it.
 */
export class HeldRooms implements RoomLifecycle {
  private readonly holds = new Map<string, number>();

  constructor(
    private readonly routing: RoomLifecycle,
    /** Whether the room has members in the registry. */
    private readonly isOpen: (room: string) => boolean,
  ) {}

  roomCreated(room: string): void {
    if (!this.holds.has(room)) this.routing.roomCreated(room);
  }

  roomDeleted(room: string): void {
    if (!this.holds.has(room)) this.routing.roomDeleted(room);
  }

  /**
   * A session waits with these rooms: a dropped socket's (still in them as it leaves), or one
   * moving here from another server (whose rooms may have no member here: they are routed here now).
   */
  hold(rooms: readonly string[]): void {
    for (const room of rooms) {
      const count = this.holds.get(room);
      if (count === undefined && !this.isOpen(room)) this.routing.roomCreated(room);
      this.holds.set(room, (count ?? 0) + 1);
    }
  }

  /** The session no longer waits: rooms nobody needs any more stop being routed here. */
  release(rooms: readonly string[]): void {
    for (const room of rooms) {
      const count = this.holds.get(room);
      if (count === undefined) continue;
      if (count > 1) {
        this.holds.set(room, count - 1);
        continue;
      }
      this.holds.delete(room);
      if (!this.isOpen(room)) this.routing.roomDeleted(room);
    }
  }

  /** Rooms held for sessions only, with no member here. */
  get heldOnly(): number {
    let count = 0;
    for (const room of this.holds.keys()) if (!this.isOpen(room)) count++;
    return count;
  }
}
