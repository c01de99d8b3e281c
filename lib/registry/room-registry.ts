import { EventEmitter } from 'node:events';

/** What the registry needs of a member: its id and the set of rooms it is in, kept by the member. */
export interface RoomMember {
  readonly id: string;
  /** The member's side of the two maps; the registry is the only writer. */
  readonly roomSet: Set<string>;
  /** Scratch space for de-duplicating a selection without allocating; owned by the registry. */
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

/**
 * This server's rooms: room -> members here, and (on each member) member -> rooms. Every
 * operation costs what it touches, never the total number of rooms or members.
 */
export class RoomRegistry<M extends RoomMember> extends EventEmitter<RoomEvents> {
  private readonly rooms = new Map<string, Set<M>>();
  private readonly members = new Map<string, M>();
  private selectionEpoch = 0;
  /** Whether anyone listens to join-room / leave-room: joins and leaves are hot enough to skip emitting. */
  private membershipWatched = false;

  constructor() {
    super();
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'join-room' || event === 'leave-room') this.membershipWatched = true;
    });
  }

  get memberCount(): number {
    return this.members.size;
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  getMember(id: string): M | undefined {
    return this.members.get(id);
  }

  /** Registers a member and puts it in the room named by its id. */
  add(member: M): void {
    this.members.set(member.id, member);
    this.addToRoom(member, member.id);
  }

  /** Takes a member out of every room, its own included, and forgets it. */
  remove(member: M): void {
    for (const room of member.roomSet) this.removeFromRoom(member, room);
    this.members.delete(member.id);
  }

  join(member: M, rooms: readonly string[]): void {
    for (const room of rooms) this.addToRoom(member, room);
  }

  leave(member: M, rooms: readonly string[]): void {
    for (const room of rooms) this.removeFromRoom(member, room);
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
      if (members !== undefined) for (const member of members) visit(member);
      return;
    }
    const mark = ++this.selectionEpoch;
    for (const room of except) {
      const members = this.rooms.get(room);
      if (members !== undefined) for (const member of members) member.selectionMark = mark;
    }
    if (rooms.length === 0) {
      for (const member of this.members.values()) if (member.selectionMark !== mark) visit(member);
      return;
    }
    for (const room of rooms) {
      const members = this.rooms.get(room);
      if (members === undefined) continue;
      for (const member of members) {
        if (member.selectionMark === mark) continue;
        member.selectionMark = mark;
        visit(member);
      }
    }
  }

  /** The members `forEachTarget` would visit, as an array that is safe to act on. */
  select(rooms: readonly string[], except: readonly string[]): M[] {
    const selected: M[] = [];
    this.forEachTarget(rooms, except, (member) => selected.push(member));
    return selected;
  }

  private addToRoom(member: M, room: string): void {
    if (member.roomSet.has(room)) return;
    let members = this.rooms.get(room);
    if (members === undefined) {
      members = new Set();
      this.rooms.set(room, members);
      this.emit('create-room', room);
    }
    members.add(member);
    member.roomSet.add(room);
    if (this.membershipWatched) this.emit('join-room', room, member.id);
  }

  private removeFromRoom(member: M, room: string): void {
    const members = this.rooms.get(room);
    if (members === undefined || !members.delete(member)) return;
    member.roomSet.delete(room);
    if (this.membershipWatched) this.emit('leave-room', room, member.id);
    if (members.size === 0) {
      this.rooms.delete(room);
      this.emit('delete-room', room);
    }
  }
}
