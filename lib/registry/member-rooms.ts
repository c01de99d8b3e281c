/**
 * A member's side of the registry, kept compact: most sockets are in their own id room and one
 * or two others, and a Set for each would cost ~150 bytes per connection.
 *
 * - `undefined`: its own id room only (every socket starts so);
 * - a string: its own id room, then that room;
 * - a Set: exactly the rooms it is in, in the order it joined them (own id included while it is in it).
 */
export type RoomSlot = string | Set<string> | undefined;

/** What the member side needs of a member. */
export interface SlotHolder {
  readonly id: string;
  /** @internal The registry is the only writer. */
  roomSlot: RoomSlot;
}

/** Whether the member is in `room`. */
export function isIn(member: SlotHolder, room: string): boolean {
  const slot = member.roomSlot;
  if (slot === undefined) return room === member.id;
  if (typeof slot === 'string') return room === member.id || room === slot;
  return slot.has(room);
}

/** Whether the member is in the room named by its own id. */
export function isInOwnRoom(member: SlotHolder): boolean {
  const slot = member.roomSlot;
  return typeof slot !== 'object' || slot.has(member.id);
}

/** How many rooms the member is in, its own id room included while it is in it. */
export function roomCountOf(member: SlotHolder): number {
  const slot = member.roomSlot;
  return slot === undefined ? 1 : typeof slot === 'string' ? 2 : slot.size;
}

/** The member's rooms, own id first while the slot is compact. */
export function* roomsOf(member: SlotHolder): IterableIterator<string> {
  const slot = member.roomSlot;
  if (typeof slot === 'object') {
    yield* slot;
    return;
  }
  yield member.id;
  if (slot !== undefined) yield slot;
}

/**
 * `socket.rooms`: a live read-only Set view of the member's rooms. Built on each read (a small
 * object that dies young) so that no socket keeps one.
 */
export class MemberRooms implements ReadonlySet<string> {
  constructor(private readonly member: SlotHolder) {}

  get size(): number {
    return roomCountOf(this.member);
  }

  has(room: string): boolean {
    return isIn(this.member, room);
  }

  forEach(visit: (value: string, key: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    for (const room of roomsOf(this.member)) visit.call(thisArg, room, room, this);
  }

  *entries(): SetIterator<[string, string]> {
    for (const room of roomsOf(this.member)) yield [room, room];
  }

  keys(): SetIterator<string> {
    return roomsOf(this.member);
  }

  values(): SetIterator<string> {
    return roomsOf(this.member);
  }

  [Symbol.iterator](): SetIterator<string> {
    return roomsOf(this.member);
  }

  get [Symbol.toStringTag](): string {
    return 'Set';
  }
}

/** Empty Sets kept for members that outgrow a compact slot: a socket hopping between rooms would make one Set of garbage each time. */
const SPARE_SLOTS = 1024;
const spareSlots: Set<string>[] = [];

function newSlot(): Set<string> {
  return spareSlots.pop() ?? new Set<string>();
}

function recycle(set: Set<string>): void {
  set.clear();
  if (spareSlots.length < SPARE_SLOTS) spareSlots.push(set);
}

/** Puts the member in `room`; false when it was in it already. */
export function addRoom(member: SlotHolder, room: string): boolean {
  const slot = member.roomSlot;
  const id = member.id;
  if (slot === undefined) {
    if (room === id) return false;
    member.roomSlot = room;
    return true;
  }
  if (typeof slot === 'string') {
    if (room === id || room === slot) return false;
    member.roomSlot = newSlot().add(id).add(slot).add(room);
    return true;
  }
  const before = slot.size;
  // Back to its own id room alone, first, as a fresh socket is.
  if (before === 0 && room === id) {
    recycle(slot);
    member.roomSlot = undefined;
    return true;
  }
  // One hash lookup where `has` then `add` would be two.
  return slot.add(room).size !== before;
}

/** Takes the member out of `room`; false when it was not in it. */
export function deleteRoom(member: SlotHolder, room: string): boolean {
  const slot = member.roomSlot;
  const id = member.id;
  if (slot === undefined) {
    if (room !== id) return false;
    member.roomSlot = newSlot();
    return true;
  }
  if (typeof slot === 'string') {
    if (room === slot) member.roomSlot = undefined;
    else if (room === id) member.roomSlot = newSlot().add(slot);
    else return false;
    return true;
  }
  if (!slot.delete(room)) return false;
  // Own id room first and one other: compact again.
  if (slot.size <= 2 && firstIs(slot, id)) {
    const other = slot.size === 2 ? lastOf(slot) : undefined;
    recycle(slot);
    member.roomSlot = other;
  }
  return true;
}

function firstIs(set: Set<string>, room: string): boolean {
  for (const first of set) return first === room;
  return false;
}

function lastOf(set: Set<string>): string | undefined {
  let last: string | undefined;
  for (const room of set) last = room;
  return last;
}
