import * as ws from 'ws';
import { WebSocket } from 'ws';
import { RoomsError } from '../rooms.error.js';
import { INVALID_EVENT_NAME, UNSERIALISABLE } from '../rooms.messages.js';

/** An outbound event, serialised once and framed once for every socket it goes to. */
export interface EncodedEvent {
  /** `{"event","data"[,"ack"]}` as JSON text: what per-socket fallbacks (`ws.send`) use. */
  readonly json: string;
  /** The whole unmasked text frame, header and payload in one buffer: what most sockets get. */
  readonly frame: Buffer;
}

/** Serialises `{event, data, ack?}` once. Throws a `RoomsError` for what JSON cannot carry. */
export function serializeEvent(event: string, data: unknown, ack?: number): string {
  if (typeof event !== 'string' || event.length === 0) throw new RoomsError(INVALID_EVENT_NAME);
  let json: string | undefined;
  try {
    json = JSON.stringify(ack === undefined ? { event, data } : { event, data, ack });
  } catch (cause) {
    throw new RoomsError(UNSERIALISABLE(event, cause));
  }
  return json;
}

/** `ws`'s frame builder; its type declarations leave it out. */
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };

const TEXT_FRAME = { fin: true, opcode: 0x1, mask: false, readOnly: false, rsv1: false } as const;

export function encodeEvent(event: string, data: unknown, ack?: number): EncodedEvent {
  const json = serializeEvent(event, data, ack);
  const parts = Sender.frame(Buffer.from(json), TEXT_FRAME);
  return { json, frame: parts.length === 1 ? parts[0] : Buffer.concat(parts) };
}

/** How one broadcast treats its sockets. */
export interface WriteFlags {
  readonly volatile: boolean;
  readonly compress: boolean;
}

/**
 * The parts of a `ws` WebSocket that the fast path reads. They are internal to `ws` 8, so they
 * are named here, once, and nowhere else.
 */
interface WsInternals {
  _socket: { write(chunk: Buffer): boolean; writableNeedDrain: boolean } | null;
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
 * (so writing past it would reorder frames), goes through `ws.send` with the shared JSON text.
 * Returns whether the event was handed to the socket.
 */
export function writeEvent(socket: WebSocket, encoded: EncodedEvent, flags: WriteFlags, deflate: boolean): boolean {
  if (socket.readyState !== WebSocket.OPEN) return false;
  const internals = socket as unknown as WsInternals;
  const transport = internals._socket;
  const sender = internals._sender;
  if (transport === null || sender === null) return false;
  const busy = senderBusy(sender);
  if (flags.volatile && (busy || transport.writableNeedDrain)) return false;
  if (busy || (deflate && flags.compress)) {
    socket.send(encoded.json, { compress: flags.compress });
    return true;
  }
  transport.write(encoded.frame);
  return true;
}
