import { EventEmitter } from 'node:events';
import { addRoom, deleteRoom, isInOwnRoom, roomsOf, type SlotHolder } from './member-rooms.js';

/**
 * What the registry needs of a member: its id and the rooms it is in, kept by the member
 * (./member-rooms.ts; `roomsOf` reads them).
 */
export interface RoomMember extends SlotHolder {
  /** @internal Scratch space for de-duplicating a selection without allocating; owned by the registry. */
  selectionMark: number;
}

/** Room lifecycle events of one server, with their listeners' arguments. */
export interface RoomEvents {
  /** A room got its first member here. */
  'create-room': [room: string];
  /** A socket joined a room. */
  'join-room': [room: string, socketId: string];
  /** A socket left a room (on its own, or by disconnecting). */
  'leave-room': [room: string, socketId: string];
  /** A room lost its last member here. */
  'delete-room': [room: string];
}

/** Who must hear of every room this server opens or closes, before any event listener: the cluster's routing. */
export interface RoomLifecycle {
  roomCreated(room: string): void;
  roomDeleted(room: string): void;
}

/**
 * A room's members here. A room of one holds that member itself (a Set for each would cost ~150
 * bytes). A member in the room named by its own id is not listed under that room at all: its
 * slot says so (`isInOwnRoom`), which saves every socket an entry in the rooms map.
 */
type Members<M> = M | Set<M>;

/** Empty member Sets kept for the next rooms: short-lived rooms would otherwise make one Set of garbage each. */
const SPARE_SETS = 1024;

const EVENTS: ReadonlySet<string | symbol> = new Set(['create-room', 'join-room', 'leave-room', 'delete-room']);

/**
 * This server's rooms: room -> members here, and (on each member) member -> rooms. Every
 * operation costs what it touches, never the total number of rooms or members.
 */
export class RoomRegistry<M extends RoomMember> extends EventEmitter<RoomEvents> {
  /** Room -> its members, less a member in the room of its own id (see `Members`). */
  private readonly rooms = new Map<string, Members<M>>();
  private readonly members = new Map<string, M>();
  private readonly spareSets: Set<M>[] = [];
  private selectionEpoch = 0;
  /** Rooms with a member here. */
  private roomTotal = 0;
  /** Rooms named by a member's id: what `namedRoomCount` leaves out (as `roomNames` does). */
  private idRooms = 0;
  /** Whether anyone listens to the room events: joins and leaves are hot enough to skip emitting. */
  private watched = false;

  constructor(private readonly lifecycle?: RoomLifecycle) {
    super();
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (EVENTS.has(event)) this.watched = true;
    });
  }

  get memberCount(): number {
    return this.members.size;
  }

  get roomCount(): number {
    return this.roomTotal;
  }

  /** Whether the room has a member here. */
  hasRoom(room: string): boolean {
    return this.rooms.has(room) || this.ownRoomMember(room) !== undefined;
  }

  /** How many rooms `roomNames()` would return, without building it. */
  get namedRoomCount(): number {
    return this.roomTotal - this.idRooms;
  }

  getMember(id: string): M | undefined {
    return this.members.get(id);
  }

  /** Registers a member (its slot fresh: in its own id room only) and announces that room. */
  add(member: M): void {
    const id = member.id;
    member.roomSlot = undefined;
    // A room named by the id already (server code put someone there first) turns into an id room.
    const existed = this.rooms.has(id);
    if (existed) this.idRooms++;
    this.members.set(id, member);
    if (!existed) this.created(id);
    if (this.watched) this.emit('join-room', id, id);
  }

  /** Takes a member out of every room, its own included, and forgets it. */
  remove(member: M): void {
    // Its slot changes shape as it leaves: the rooms are read first.
    for (const room of [...roomsOf(member)]) this.leaveRoom(member, room);
    // Its id room, if others are still in it, is an ordinary room from now on.
    if (this.rooms.has(member.id)) this.idRooms--;
    this.members.delete(member.id);
  }

  join(member: M, rooms: readonly string[]): void {
    for (const room of rooms) this.joinRoom(member, room);
  }

  leave(member: M, rooms: readonly string[]): void {
    for (const room of rooms) this.leaveRoom(member, room);
  }

  joinRoom(member: M, room: string): void {
    if (!addRoom(member, room)) return;
    if (room === member.id) {
      // Its own id room: the slot is the whole record.
      if (!this.rooms.has(room)) this.created(room);
      if (this.watched) this.emit('join-room', room, member.id);
      return;
    }
    const members = this.rooms.get(room);
    if (members === undefined) {
      this.rooms.set(room, member);
      if (this.ownRoomMember(room) === undefined) this.created(room);
    } else if (members instanceof Set) {
      members.add(member);
    } else {
      const set = this.spareSets.pop() ?? new Set<M>();
      set.add(members).add(member);
      this.rooms.set(room, set);
    }
    if (this.watched) this.emit('join-room', room, member.id);
  }

  leaveRoom(member: M, room: string): void {
    if (!deleteRoom(member, room)) return;
    if (room === member.id) {
      if (this.watched) this.emit('leave-room', room, member.id);
      if (!this.rooms.has(room)) this.deleted(room);
      return;
    }
    const members = this.rooms.get(room)!;
    let empty = members === member;
    if (members instanceof Set) {
      members.delete(member);
      empty = members.size === 0;
      if (empty && this.spareSets.length < SPARE_SETS) this.spareSets.push(members);
    }
    if (this.watched) this.emit('leave-room', room, member.id);
    if (!empty) return;
    this.rooms.delete(room);
    if (this.ownRoomMember(room) === undefined) this.deleted(room);
  }

  /** The member whose own id room `room` is, when it is in it. */
  private ownRoomMember(room: string): M | undefined {
    const member = this.members.get(room);
    return member !== undefined && isInOwnRoom(member) ? member : undefined;
  }

  private created(room: string): void {
    this.roomTotal++;
    if (this.members.has(room)) this.idRooms++;
    this.lifecycle?.roomCreated(room);
    if (this.watched) this.emit('create-room', room);
  }

  private deleted(room: string): void {
    this.roomTotal--;
    if (this.members.has(room)) this.idRooms--;
    this.lifecycle?.roomDeleted(room);
    if (this.watched) this.emit('delete-room', room);
  }

  /** Room names here, without the members' own id rooms. */
  roomNames(): Set<string> {
    const names = new Set<string>();
    for (const room of this.rooms.keys()) if (!this.members.has(room)) names.add(room);
    return names;
  }

  /**
   * Calls `visit` once for every member of any of `rooms` (every member when `rooms` is empty)
   * that is in none of `except`. Allocates nothing: duplicates and exclusions are told apart by
   * stamping members with a fresh epoch. `visit` must not select again (it would restamp); callers
   * that run user code per member collect with `select` first.
   */
  forEachTarget(rooms: readonly string[], except: readonly string[], visit: (member: M) => void): void {
    if (except.length === 0 && rooms.length === 1) {
      const room = rooms[0];
      const members = this.rooms.get(room);
      if (members instanceof Set) for (const member of members) visit(member);
      else if (members !== undefined) visit(members);
      // Never among the listed members: it is listed in no room of its own id.
      const own = this.ownRoomMember(room);
      if (own !== undefined) visit(own);
      return;
    }
    const mark = ++this.selectionEpoch;
    for (const room of except) {
      const members = this.rooms.get(room);
      if (members instanceof Set) for (const member of members) member.selectionMark = mark;
      else if (members !== undefined) members.selectionMark = mark;
      const own = this.ownRoomMember(room);
      if (own !== undefined) own.selectionMark = mark;
    }
    if (rooms.length === 0) {
      for (const member of this.members.values()) if (member.selectionMark !== mark) visit(member);
      return;
    }
    for (const room of rooms) {
      const members = this.rooms.get(room);
      if (members instanceof Set) {
        for (const member of members) {
          if (member.selectionMark === mark) continue;
          member.selectionMark = mark;
          visit(member);
        }
      } else if (members !== undefined && members.selectionMark !== mark) {
        members.selectionMark = mark;
        visit(members);
      }
      const own = this.ownRoomMember(room);
      if (own !== undefined && own.selectionMark !== mark) {
        own.selectionMark = mark;
        visit(own);
      }
    }
  }

  /** The members `forEachTarget` would visit, as an array that is safe to act on. */
  select(rooms: readonly string[], except: readonly string[]): M[] {
    const selected: M[] = [];
    this.forEachTarget(rooms, except, (member) => selected.push(member));
    return selected;
  }
}
