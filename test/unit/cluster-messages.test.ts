import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage, type ClusterMessage } from '../../lib/cluster/cluster-messages.js';

/*
 * The codec of what servers say to each other (lib/cluster/cluster-messages.ts): a JSON header,
 * and, for a broadcast, the event's JSON behind it exactly as the sender serialised it. Whatever
 * the payload holds, newlines included, it comes out byte for byte.
 */

const heartbeat: ClusterMessage = { t: 'hb', n: 'node-a' };
const broadcast: ClusterMessage = { t: 'b', n: 'node-a', v: false, c: true, r: ['room:1', 'é€'], x: ['x'] };

/** Both ways: decode(encode(message, payload)). */
function roundTrip(message: ClusterMessage, payload?: Buffer) {
  return decodeMessage(encodeMessage(message, payload));
}

describe('cluster messages', () => {
  it('a message without payload is its JSON alone and decodes with no payload', () => {
    const encoded = encodeMessage(heartbeat);
    assert.equal(encoded.toString(), JSON.stringify(heartbeat));
    assert.deepEqual(decodeMessage(encoded), { message: heartbeat, payload: undefined });
  });

  it('every kind of field survives: arrays, booleans, numbers, nested data, text that needs escaping', () => {
    const answer: ClusterMessage = { t: 'res', n: 'node-b', q: 41, d: { rooms: ['a\nb', '"q"'], n: 1.5, ok: null } };
    assert.deepEqual(roundTrip(answer), { message: answer, payload: undefined });
    assert.deepEqual(roundTrip(broadcast), { message: broadcast, payload: undefined });
  });

  it('a payload comes out byte for byte, newlines inside it included', () => {
    const payload = Buffer.from('{"event":"chat","data":"line one\\nline two"}\n\n{"not":"a header"}\n');
    const { message, payload: decoded } = roundTrip(broadcast, payload);
    assert.deepEqual(message, broadcast);
    assert.ok(decoded !== undefined && decoded.equals(payload), 'the payload, unchanged');
  });

  it('any bytes at all: NUL, 0xff, a lone newline, multi-byte UTF-8', () => {
    const payloads = [
      Buffer.from([0x00, 0x0a, 0xff, 0x0a, 0x0a]),
      Buffer.from('\n'),
      Buffer.from('€ é \u{1f600}'),
      Buffer.alloc(70_000, 'ab\n'),
    ];
    for (const payload of payloads) {
      const decoded = roundTrip(broadcast, payload).payload;
      assert.ok(decoded !== undefined && decoded.equals(payload), `payload of ${payload.length} bytes`);
    }
  });

  it('an empty payload stays a payload, apart from no payload', () => {
    const decoded = roundTrip(broadcast, Buffer.alloc(0));
    assert.deepEqual(decoded.message, broadcast);
    assert.ok(decoded.payload !== undefined, 'a payload');
    assert.equal(decoded.payload.length, 0);
  });

  it('a header whose strings hold newlines still ends at the first raw newline', () => {
    const tricky: ClusterMessage = { t: 'b', n: 'node\n-a', v: true, c: false, r: ['\n', 'a\r\nb'], x: [] };
    const payload = Buffer.from('{"event":"e","data":"\\n"}');
    const decoded = roundTrip(tricky, payload);
    assert.deepEqual(decoded.message, tricky);
    assert.ok(decoded.payload!.equals(payload));
  });

  it('a payload that is a view into a larger buffer is carried without the bytes around it', () => {
    const whole = Buffer.from('HEAD{"event":"e"}TAIL');
    const view = whole.subarray(4, whole.length - 4);
    assert.equal(roundTrip(heartbeat, view).payload!.toString(), '{"event":"e"}');
  });

  it('anyone may publish on a channel: a header that is no object with a string "t" (and "n") throws', () => {
    for (const header of ['null', '7', '"b"', '[{"t":"b"}]', '{}', '{"t":1}', '{"t":"b","n":5}', 'not json']) {
      assert.throws(() => decodeMessage(Buffer.from(`${header}\n{"event":"e"}`)), header);
    }
  });

  it("an emitter's message has no n, and decodes as it was written", () => {
    const header = '{"t":"b","r":["project:42"]}';
    const { message, payload } = decodeMessage(Buffer.from(`${header}\n{"event":"e","data":1}`));
    assert.deepEqual(message, { t: 'b', r: ['project:42'] });
    assert.ok(!('n' in message));
    assert.equal(payload!.toString(), '{"event":"e","data":1}');
  });
});
