import type { RawData } from 'ws';
import { WsException } from '@nestjs/websockets';
import type { MessageParser, ParsedFrame } from '../../lib/index.js';
import { BINARY_FRAME, NOT_AN_OBJECT, NOT_JSON } from '../../lib/rooms.messages.js';

/**
 * A parser that reads frames exactly as the adapter does without one: the same refusals, said
 * through `WsException`, so a suite written for the default holds with it in place.
 */
export const jsonParser: MessageParser = (data, isBinary) => {
  if (isBinary) throw new WsException(BINARY_FRAME);
  let frame: unknown;
  try {
    frame = JSON.parse(data as string);
  } catch {
    throw new WsException(NOT_JSON);
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) throw new WsException(NOT_AN_OBJECT);
  return frame as ParsedFrame;
};

/**
 * Frames as `["event", data, id?]` arrays, `["ack", n, answer]` for an `emitWithAck` answer;
 * anything else is for no handler. It throws on text that is not JSON. It reads only `data`, as a
 * parser written for Nest's `WsAdapter` does.
 */
export function arrayParser(data: string | RawData): ParsedFrame | void {
  const frame: unknown = JSON.parse(data.toString());
  if (!Array.isArray(frame) || typeof frame[0] !== 'string') return;
  const [event, payload, id] = frame as [string, unknown, unknown];
  if (event === 'ack') return { ack: payload as number, data: id };
  return id === undefined ? { event, data: payload } : { event, data: payload, id: id as string | number };
}

// A tiny binary format, standing in for MessagePack and the like. First byte: what follows.
const EVENT_TAG = 1; // u8 name length, the name, u16 id (0: none), then the data as UTF-8 text
const ACK_TAG = 2; // f64 ack number, then the answer as UTF-8 text

/** An event in the binary format; `id` 0 means none. */
export function binaryEvent(event: string, data: string, id = 0): Buffer {
  const name = Buffer.from(event);
  const head = Buffer.alloc(4 + name.length);
  head[0] = EVENT_TAG;
  head[1] = name.length;
  name.copy(head, 2);
  head.writeUInt16BE(id, 2 + name.length);
  return Buffer.concat([head, Buffer.from(data)]);
}

/** An `emitWithAck` answer in the binary format. */
export function binaryAck(ack: number, answer: string): Buffer {
  const head = Buffer.alloc(9);
  head[0] = ACK_TAG;
  head.writeDoubleBE(ack, 1);
  return Buffer.concat([head, Buffer.from(answer)]);
}

/**
 * Reads the binary format; text frames are for no handler. Tells binary from text by the type of
 * `data`, as a parser written for Nest's `WsAdapter` must. Throws on a frame cut short.
 */
export function binaryParser(data: string | RawData): ParsedFrame | void {
  if (!Buffer.isBuffer(data)) return;
  if (data[0] === ACK_TAG) return { ack: data.readDoubleBE(1), data: data.toString('utf8', 9) };
  if (data[0] !== EVENT_TAG) throw new WsException(`Unknown frame tag ${data[0]}.`);
  const length = data[1];
  if (length === undefined) throw new RangeError('frame cut short');
  const event = data.toString('utf8', 2, 2 + length);
  const id = data.readUInt16BE(2 + length); // throws a RangeError past the end
  const payload = data.toString('utf8', 4 + length);
  return id === 0 ? { event, data: payload } : { event, data: payload, id };
}
