import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  addRoom,
  deleteRoom,
  isIn,
  isInOwnRoom,
  MemberRooms,
  roomCountOf,
  roomsOf,
  type RoomSlot,
} from '../../lib/registry/member-rooms.js';

class Holder {
  roomSlot: RoomSlot = undefined;
  constructor(readonly id: string) {}
}

describe('member rooms (compact slot)', () => {
  it('a fresh member is in its own id room only, without a Set', () => {
    const m = new Holder('me');
    assert.equal(m.roomSlot, undefined);
    assert.deepEqual([...roomsOf(m)], ['me']);
    assert.equal(roomCountOf(m), 1);
    assert.ok(isInOwnRoom(m));
  });

  it('one room beside its own is a string; a second makes a Set; leaving compacts again', () => {
    const m = new Holder('me');
    assert.ok(addRoom(m, 'a'));
    assert.equal(m.roomSlot, 'a');
    assert.ok(!addRoom(m, 'a'), 'joining again changes nothing');
    assert.ok(!addRoom(m, 'me'));
    assert.ok(addRoom(m, 'b'));
    assert.ok((m.roomSlot as RoomSlot) instanceof Set);
    assert.deepEqual([...roomsOf(m)], ['me', 'a', 'b']);
    assert.ok(deleteRoom(m, 'a'));
    assert.equal(m.roomSlot, 'b');
    assert.ok(!deleteRoom(m, 'a'), 'leaving a room it is not in changes nothing');
    assert.ok(deleteRoom(m, 'b'));
    assert.equal(m.roomSlot, undefined);
  });

  it('leaving its own id room and coming back keeps the order it joined in', () => {
    const m = new Holder('me');
    addRoom(m, 'a');
    assert.ok(deleteRoom(m, 'me'));
    assert.deepEqual([...roomsOf(m)], ['a']);
    assert.ok(!isInOwnRoom(m));
    addRoom(m, 'me');
    assert.deepEqual([...roomsOf(m)], ['a', 'me'], 'a Set keeps the order of joins');
    deleteRoom(m, 'a');
    assert.deepEqual([...roomsOf(m)], ['me']);
    assert.equal(m.roomSlot, undefined);
    deleteRoom(m, 'me');
    assert.equal(roomCountOf(m), 0);
  });

  it('the view is a live read-only Set of the same rooms', () => {
    const m = new Holder('me');
    const view = new MemberRooms(m);
    addRoom(m, 'a');
    assert.equal(view.size, 2);
    assert.ok(view.has('me') && view.has('a') && !view.has('b'));
    assert.deepEqual([...view], ['me', 'a']);
    assert.deepEqual([...view.keys()], [...view.values()]);
    assert.deepEqual(
      [...view.entries()],
      [
        ['me', 'me'],
        ['a', 'a'],
      ],
    );
    const seen: string[] = [];
    view.forEach((room, key, set) => {
      assert.equal(room, key);
      assert.equal(set, view);
      seen.push(room);
    });
    assert.deepEqual(seen, ['me', 'a']);
    assert.deepEqual(new Set(view), new Set(['me', 'a']));
    assert.equal(Object.prototype.toString.call(view), '[object Set]');
  });

  it('agrees with a plain Set under any sequence of joins and leaves', () => {
    const room = fc.constantFrom('me', 'a', 'b', 'c');
    const step = fc.record({ join: fc.boolean(), room });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const m = new Holder('me');
        const model = new Set(['me']);
        for (const { join, room } of steps) {
          const had = model.has(room);
          if (join) {
            assert.equal(addRoom(m, room), !had);
            model.add(room);
          } else {
            assert.equal(deleteRoom(m, room), had);
            model.delete(room);
          }
          assert.deepEqual([...roomsOf(m)], [...model]);
          assert.equal(roomCountOf(m), model.size);
          for (const r of ['me', 'a', 'b', 'c']) assert.equal(isIn(m, r), model.has(r));
        }
      }),
    );
  });
});
