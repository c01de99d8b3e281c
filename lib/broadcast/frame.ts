import { RoomsError } from '../rooms.error.js';
import { INVALID_EVENT_NAME, UNSERIALISABLE } from '../rooms.messages.js';

/** An outbound event, serialised once and framed once for every socket it goes to. */
export interface EncodedEvent {
  /** The whole unmasked text frame, header and payload in one buffer: what most sockets get. */
  readonly frame: Buffer;
  /** `{"event","data"[,"ack"]}` as UTF-8 JSON, a view into `frame`: for `ws.send` fallbacks and other servers. */
  readonly payload: Buffer;
}

/** Serialises `{event, data, ack?}` once. Throws a `RoomsError` for what JSON cannot carry. */
export function serializeEvent(event: string, data: unknown, ack?: number): string {
  if (typeof event !== 'string' || event.length === 0) throw new RoomsError(INVALID_EVENT_NAME);
  try {
    return JSON.stringify(ack === undefined ? { event, data } : { event, data, ack });
  } catch (cause) {
    throw new RoomsError(UNSERIALISABLE(event, cause));
  }
}

/** Length of the RFC 6455 header of an unmasked text frame carrying `length` bytes. */
function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

function writeHeader(frame: Buffer, length: number): void {
  frame[0] = 0x81; // FIN, text
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
}

/** One allocation: the JSON text is written straight behind the frame header. */
export function encodeEvent(event: string, data: unknown, ack?: number): EncodedEvent {
  const json = serializeEvent(event, data, ack);
  const length = Buffer.byteLength(json);
  const offset = headerLength(length);
  const frame = Buffer.allocUnsafe(offset + length);
  writeHeader(frame, length);
  frame.write(json, offset);
  return { frame, payload: frame.subarray(offset) };
}

/** Frames a payload another server serialised, without parsing or serialising it again. */
export function encodePayload(payload: Buffer): EncodedEvent {
  const offset = headerLength(payload.length);
  const frame = Buffer.allocUnsafe(offset + payload.length);
  writeHeader(frame, payload.length);
  payload.copy(frame, offset);
  return { frame, payload: frame.subarray(offset) };
}

/** How one broadcast treats its sockets. */
export interface WriteFlags {
  readonly volatile: boolean;
  readonly compress: boolean;
}

/** How much unread data a socket may hold (the adapter's watermarks). */
export interface WriteLimits {
  /** Above it, `volatile` events are dropped for that socket. */
  readonly low: number;
  /** Above it, the socket is a slow consumer and is shed. */
  readonly high: number;
}

const OFFSET_KEY = Buffer.from(',"offset":"');
const OFFSET_END = Buffer.from('"}');

/**
 * Frames `{"event","data"}` JSON with `"offset"` added as its last key: the payload's closing
 * brace is replaced, so the event is never serialised again. `offset` is digits only (no escaping).
 */
export function encodeWithOffset(payload: Buffer, offset: string): EncodedEvent {
  const body = payload.length - 1;
  const length = body + OFFSET_KEY.length + offset.length + OFFSET_END.length;
  const start = headerLength(length);
  // Its own memory, not a slice of Node's shared pool: a held frame outlives the broadcast, and a
  // pool slab it shared would keep the broadcast's other buffers alive with it.
  const frame = Buffer.allocUnsafeSlow(start + length);
  writeHeader(frame, length);
  let at = start + payload.copy(frame, start, 0, body);
  at += OFFSET_KEY.copy(frame, at);
  at += frame.write(offset, at, 'latin1');
  OFFSET_END.copy(frame, at);
  return { frame, payload: frame.subarray(start) };
}

/** The `{"event","data"}` JSON a frame of `encodeWithOffset` was made of: its offset taken out again. */
export function withoutOffset(encoded: EncodedEvent, offset: string): Buffer {
  const { payload } = encoded;
  const body = payload.length - OFFSET_KEY.length - offset.length - OFFSET_END.length;
  const json = Buffer.allocUnsafe(body + 1);
  payload.copy(json, 0, 0, body);
  json[body] = 0x7d; // }
  return json;
}
