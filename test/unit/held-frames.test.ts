import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeWithOffset } from '../../lib/broadcast/frame.js';
import { HELD_FRAME_OVERHEAD, HeldFrames } from '../../lib/recovery/held-frames.js';

const target = { r: ['room'], x: [] };
const payload = (text: string) => Buffer.from(JSON.stringify({ event: 'e', data: text }));

/** The offsets `forEachAfter` visits. */
function after(frames: HeldFrames, offset: number): number[] {
  const seen: number[] = [];
  frames.forEachAfter(offset, (frame) => seen.push(frame.seq));
  return seen;
}

describe('encodeWithOffset', () => {
  it('adds "offset" as the last key of the JSON, framed at every header length edge', () => {
    for (const size of [0, 100, 130, 65_500, 70_000]) {
      const json = payload('x'.repeat(size));
      const { frame, payload: framed } = encodeWithOffset(json, '42');
      assert.deepEqual(JSON.parse(framed.toString()), { event: 'e', data: 'x'.repeat(size), offset: '42' });
      const length = framed.length;
      const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
      assert.equal(frame.length, header + length);
      assert.equal(frame[0], 0x81);
      const stated = header === 2 ? frame[1] : header === 4 ? frame.readUInt16BE(2) : frame.readUInt32BE(6);
      assert.equal(stated, length);
    }
  });
});

describe('HeldFrames', () => {
  it('numbers frames from 1 and visits those after an offset, in order', () => {
    const frames = new HeldFrames(1 << 20, 1000, 0);
    for (let i = 0; i < 5; i++) frames.append(target, payload(String(i)), 0);
    assert.equal(frames.lastSeq, 5);
    assert.deepEqual(after(frames, 0), [1, 2, 3, 4, 5]);
    assert.deepEqual(after(frames, 3), [4, 5]);
    assert.deepEqual(after(frames, 5), []);
    assert.equal(frames.holdsAfter(0), true);
  });

  it('lets the oldest go past maxBytes, and an offset before them is no longer held', () => {
    const one = encodeWithOffset(payload('x'), '1').frame.length + HELD_FRAME_OVERHEAD;
    const frames = new HeldFrames(one * 3, 1000, 0);
    for (let i = 0; i < 5; i++) frames.append(target, payload('x'), 0);
    assert.equal(frames.size, 3);
    assert.ok(frames.bytes <= one * 3);
    assert.deepEqual(after(frames, 0), [3, 4, 5]);
    assert.equal(frames.holdsAfter(1), false);
    assert.equal(frames.holdsAfter(2), true);
  });

  it('expires old frames only up to the offset a waiting session still needs, and keeps counting after compaction', () => {
    const frames = new HeldFrames(1 << 30, 100, 0);
    for (let i = 0; i < 3000; i++) frames.append(target, payload('x'), i < 2500 ? 0 : 1000);
    frames.expire(150, 2000);
    assert.equal(frames.size, 1000);
    assert.deepEqual(after(frames, 2998), [2999, 3000]);
    assert.equal(after(frames, 0)[0], 2001);
    frames.expire(150, Infinity);
    assert.equal(frames.size, 500);
    assert.equal(frames.holdsAfter(0), true, 'expiry is not eviction: no session needed those');
    frames.expire(2000, Infinity);
    assert.deepEqual([frames.size, frames.bytes], [0, 0]);
  });
});
