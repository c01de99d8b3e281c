import { EventEmitter } from 'node:events';

/** What the registry needs of a member: its id and the set of rooms it is in, kept by the member. */
export interface RoomMember {
  readonly id: string;
  /** @internal The member's side of the two maps; the registry is the only writer. */
  readonly roomSet: Set<string>;
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
 * A room's members here. A room of one holds that member itself: every socket's own id room is
 * such a room, and a Set for each would cost ~150 bytes per connection.
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
  private readonly rooms = new Map<string, Members<M>>();
  private readonly members = new Map<string, M>();
  private readonly spareSets: Set<M>[] = [];
  private selectionEpoch = 0;
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
    return this.rooms.size;
  }

  /** Whether the room has a member here. */
  hasRoom(room: string): boolean {
    return this.rooms.has(room);
  }

  /** How many rooms `roomNames()` would return, without building it. */
  get namedRoomCount(): number {
    return this.rooms.size - this.idRooms;
  }

  getMember(id: string): M | undefined {
    return this.members.get(id);
  }

  /** Registers a member and puts it in the room named by its id. */
  add(member: M): void {
    // A room named by the id already (server code put someone there first) turns into an id room.
    if (this.rooms.has(member.id)) this.idRooms++;
    this.members.set(member.id, member);
    this.joinRoom(member, member.id);
  }

  /** Takes a member out of every room, its own included, and forgets it. */
  remove(member: M): void {
    for (const room of member.roomSet) this.leaveRoom(member, room);
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
    const roomSet = member.roomSet;
    // One hash lookup where `has` then `add` would be two.
    const before = roomSet.size;
    if (roomSet.add(room).size === before) return;
    const members = this.rooms.get(room);
    if (members === undefined) {
      this.rooms.set(room, member);
      if (this.members.has(room)) this.idRooms++;
      this.lifecycle?.roomCreated(room);
      if (this.watched) this.emit('create-room', room);
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
    const roomSet = member.roomSet;
    if (!roomSet.delete(room)) return;
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
      const members = this.rooms.get(rooms[0]);
      if (members instanceof Set) for (const member of members) visit(member);
      else if (members !== undefined) visit(members);
      return;
    }
    const mark = ++this.selectionEpoch;
    for (const room of except) {
      const members = this.rooms.get(room);
      if (members instanceof Set) for (const member of members) member.selectionMark = mark;
      else if (members !== undefined) members.selectionMark = mark;
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
    }
  }

  /** The members `forEachTarget` would visit, as an array that is safe to act on. */
  select(rooms: readonly string[], except: readonly string[]): M[] {
    const selected: M[] = [];
    this.forEachTarget(rooms, except, (member) => selected.push(member));
    return selected;
  }
}
