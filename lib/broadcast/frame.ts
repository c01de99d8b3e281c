import { WebSocket } from 'ws';
import { RoomsError } from '../rooms.error.js';
import { INVALID_EVENT_NAME, UNSERIALISABLE } from '../rooms.messages.js';
import { SLOW_CONSUMER_GRACE } from '../rooms.constants.js';
import type { RoomSocket } from '../socket/room-socket.js';

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

/**
 * The parts of a `ws` WebSocket that the fast path reads. They are internal to `ws` 8, so they
 * are named here, once, and nowhere else.
 */
interface WsInternals {
  _socket: { write(chunk: Buffer): boolean; writableLength: number } | null;
  /** `_state` since ws 8.18, `_deflating` before it. */
  _sender: { _state?: number; _deflating?: boolean; _queue: unknown[] } | null;
  _extensions: Record<string, unknown>;
}

/** `ws`'s Sender is busy (deflating, reading a Blob, or holding queued frames): writing past it would reorder. */
function senderBusy(sender: NonNullable<WsInternals['_sender']>): boolean {
  const working = sender._state === undefined ? sender._deflating === true : sender._state !== 0;
  return working || sender._queue.length !== 0;
}

export function negotiatedDeflate(socket: WebSocket): boolean {
  return (socket as unknown as WsInternals)._extensions['permessage-deflate'] !== undefined;
}

/**
 * Writes an encoded event to one socket. Most sockets get the pre-built frame in one write; a
 * socket that asked for compression, or whose `ws` sender is still busy with an earlier message
 * (so writing past it would reorder frames), goes through `ws.send` with the shared JSON bytes.
 * Returns whether the event was handed to the socket.
 */
export function writeEvent(socket: RoomSocket, encoded: EncodedEvent, flags: WriteFlags, limits: WriteLimits): boolean {
  if (socket.readyState !== WebSocket.OPEN) return false;
  const internals = socket as unknown as WsInternals;
  const transport = internals._socket;
  const sender = internals._sender;
  if (transport === null || sender === null) return false;
  const buffered = transport.writableLength;
  if (buffered > limits.high) {
    shedSlowConsumer(socket);
    return false;
  }
  const busy = senderBusy(sender);
  if (flags.volatile && (busy || buffered > limits.low)) return false;
  if (busy || (socket.deflate && flags.compress)) {
    socket.send(encoded.payload, { binary: false, compress: flags.compress });
    return true;
  }
  transport.write(encoded.frame);
  return true;
}

/**
 * A socket that does not read what it is sent would make the server buffer without end: it is
 * closed with 1013. Its close frame waits behind the unread data, so the connection is cut if the
 * peer does not take it within a grace period; either way it then leaves its rooms.
 */
function shedSlowConsumer(socket: RoomSocket): void {
  socket.closeReason ??= 'server disconnect';
  socket.close(1013, 'slow consumer');
  setTimeout(() => socket.terminate(), SLOW_CONSUMER_GRACE).unref();
}
