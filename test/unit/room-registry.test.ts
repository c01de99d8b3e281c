import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RoomRegistry, type RoomMember } from '../../lib/registry/room-registry.js';
import { roomCountOf, roomsOf, type RoomSlot } from '../../lib/registry/member-rooms.js';

class Member implements RoomMember {
  roomSlot: RoomSlot = undefined;
  selectionMark = 0;
  constructor(readonly id: string) {}
}

function setup() {
  const registry = new RoomRegistry<Member>();
  const [a, b, c] = ['a', 'b', 'c'].map((id) => new Member(id));
  for (const member of [a, b, c]) registry.add(member);
  registry.join(a, ['r1', 'r2']);
  registry.join(b, ['r2']);
  registry.join(c, ['r3']);
  const ids = (rooms: string[], except: string[] = []) =>
    registry
      .select(rooms, except)
      .map((m) => m.id)
      .sort();
  return { registry, a, b, c, ids };
}

describe('RoomRegistry', () => {
  it('puts a member in its own id room first', () => {
    const { a } = setup();
    assert.deepEqual([...roomsOf(a)], ['a', 'r1', 'r2']);
  });

  it('selects a union of rooms once per member, minus the except rooms', () => {
    const { ids } = setup();
    assert.deepEqual(ids(['r1', 'r2', 'r3']), ['a', 'b', 'c']);
    assert.deepEqual(ids(['r2'], ['r1']), ['b']);
    assert.deepEqual(ids([], ['r2']), ['c']);
    assert.deepEqual(ids([]), ['a', 'b', 'c']);
    assert.deepEqual(ids(['r2', 'r2']), ['a', 'b']);
    assert.deepEqual(ids(['nope']), []);
  });

  it('selections in a row do not see each other’s marks', () => {
    const { ids } = setup();
    assert.deepEqual(ids(['r1', 'r2'], ['b']), ['a']);
    assert.deepEqual(ids(['r1', 'r2']), ['a', 'b']);
  });

  it('deletes empty rooms and lists rooms without id rooms', () => {
    const { registry, a, b } = setup();
    registry.leave(a, ['r1', 'r2', 'never-joined']);
    assert.deepEqual([...registry.roomNames()].sort(), ['r2', 'r3']);
    registry.remove(b);
    assert.deepEqual([...registry.roomNames()].sort(), ['r3']);
    assert.equal(registry.memberCount, 2);
    assert.equal(roomCountOf(b), 0);
  });

  it('emits lifecycle events in order', () => {
    const registry = new RoomRegistry<Member>();
    const events: string[] = [];
    for (const name of ['create-room', 'join-room', 'leave-room', 'delete-room'] as const) {
      registry.on(name, (...args: string[]) => events.push(`${name} ${args.join(' ')}`));
    }
    const m = new Member('m');
    registry.add(m);
    registry.join(m, ['x']);
    registry.join(m, ['x']);
    registry.remove(m);
    assert.deepEqual(events, [
      'create-room m',
      'join-room m m',
      'create-room x',
      'join-room x m',
      'leave-room m m',
      'delete-room m',
      'leave-room x m',
      'delete-room x',
    ]);
    assert.equal(registry.roomCount, 0);
  });

  it('a room grows from one member to many and back, and a room made afterwards starts clean', () => {
    const lifecycle: string[] = [];
    const registry = new RoomRegistry<Member>({
      roomCreated: (room) => lifecycle.push(`+${room}`),
      roomDeleted: (room) => lifecycle.push(`-${room}`),
    });
    const [a, b, c] = ['a', 'b', 'c'].map((id) => new Member(id));
    for (const member of [a, b, c]) registry.add(member);
    const ids = (rooms: string[], except: string[] = []) =>
      registry
        .select(rooms, except)
        .map((m) => m.id)
        .sort();

    registry.join(a, ['x']);
    assert.deepEqual(ids(['x']), ['a']);
    assert.deepEqual(ids(['x', 'a']), ['a'], 'a room of one and its own id room select it once');
    assert.deepEqual(ids([], ['x']), ['b', 'c']);
    registry.join(b, ['x']);
    registry.join(c, ['x']);
    assert.deepEqual(ids(['x']), ['a', 'b', 'c']);
    assert.deepEqual(ids(['x'], ['b']), ['a', 'c']);
    registry.leave(a, ['x']);
    registry.leave(b, ['x']);
    assert.deepEqual(ids(['x']), ['c']);
    registry.leave(c, ['x']);
    assert.deepEqual(ids(['x']), []);
    assert.deepEqual([...registry.roomNames()], []);

    // The emptied member set of x may serve y: it must hold only y's members.
    registry.join(b, ['y']);
    registry.join(c, ['y']);
    assert.deepEqual(ids(['y']), ['b', 'c']);
    assert.deepEqual(ids(['x']), []);
    assert.deepEqual(lifecycle, ['+a', '+b', '+c', '+x', '-x', '+y']);
    for (const member of [a, b, c]) registry.remove(member);
    assert.equal(registry.roomCount, 0);
    assert.deepEqual(lifecycle.slice(6), ['-a', '-b', '-c', '-y']);
  });
});
