import { WebSocket } from 'ws';
import type { EncodedEvent, WriteFlags } from '../broadcast/frame.js';
import { Drop } from '../metrics/metric-labels.js';
import { SLOW_CONSUMER_GRACE } from '../rooms.constants.js';
import { NOT_OPEN, SLOW_CONSUMER } from '../rooms.messages.js';
import type { DisconnectReason } from './disconnect-reason.js';
import type { SocketSettings } from './socket-settings.js';

/*
 * Every frame the server writes to a socket goes through here: broadcasts, `sendEvent`, handler
 * replies, exception frames (ours and Nest's), pongs and heartbeat pings. Each write first reads
 * the one figure that bounds a socket's memory, its unsent bytes; above `highWatermark` the socket
 * is shed, whatever produced the bytes. So a socket holds at most `highWatermark` plus the frame
 * being written, however fast its peer sends and however little it reads.
 */

/**
 * The parts of a `ws` WebSocket that the write path reads. They are internal to `ws` 8, so they
 * are named here, once, and nowhere else.
 */
interface WsInternals {
  _socket: Transport | null;
  /** `_state` since ws 8.18, `_deflating` before it; `_bufferedBytes`: what it holds queued or deflating. */
  _sender: { _state?: number; _deflating?: boolean; _queue: unknown[]; _bufferedBytes: number } | null;
  _extensions: Record<string, unknown>;
}

/** The TCP (or TLS) socket under a `ws` WebSocket, as the write path uses it. */
interface Transport {
  write(chunk: Buffer): boolean;
  readonly writableLength: number;
  readonly writableCorked: number;
  cork(): void;
  uncork(): void;
  destroy(error?: Error): void;
}

/** What the write path needs of a socket (a `RoomSocket`): its connection, its adapter's watermarks, what it negotiated. */
export interface WritableSocket extends WebSocket {
  /** @internal (as on `RoomSocket`) */
  readonly settings: SocketSettings;
  /** @internal */
  readonly deflate: boolean;
  /** @internal */
  closeReason: DisconnectReason | undefined;
  /** @internal this turn's first frame, held out of the stream until the turn ends, or the socket's coalescing state (write coalescing). */
  heldFrame: Buffer | number;
}

/*
 * Write coalescing (`coalesceWrites`, on by default). What the write path gives one socket within
 * one turn of the event loop leaves in one write, or in two where a run of several frames begins,
 * with no timer and no wait where nothing merges:
 *
 * - A socket whose last turn brought it one frame (or none) is written its next frame at once, as
 *   without coalescing: a broadcast at low load reaches its first receivers while it still visits
 *   the rest of the room. A second frame in the same turn corks the stream and joins it there.
 * - A socket whose last turn brought it several frames is expected to get several again (a chat
 *   room in full flow, a job that emits in bursts), so its first frame of a turn is held on the
 *   socket itself (`heldFrame`), out of its stream, and a second one corks the stream with it.
 *
 * Anything written past the fast path (`ws.send` for replies, deflated or queued messages, pings, a
 * close frame) takes the same turn: the held frame goes into the stream first. One `setImmediate`
 * for all sockets ends the turn after the poll phase, before the loop next waits: a lone held frame
 * is written as it is, in one `write`, and a corked socket is uncorked, so Node hands its frames to
 * the kernel in one `writev`. Held bytes count as unsent (`unsentBytes`), so every watermark sees
 * them; a socket closed or cut in the meantime drops its held frame.
 *
 * `heldFrame` carries the whole state, so a socket pays one field for it: a frame (held), one of
 * the empty sentinels below, or a turn's number. A socket written once, at once, in a turn is
 * stamped with that turn's number and goes on no list: the stamp alone tells a second write of the
 * same turn from the first of a later one, so a turn of lone frames costs no pass at its end.
 */
/** The sockets of this turn that hold a frame or were corked, `turnLength` of them; the array keeps its size between turns rather than regrow every turn. */
const turn: (WritableSocket | undefined)[] = [];
let turnLength = 0;
/** The number of the turn being written (a small integer; it wraps long before it could leave V8's small-integer range). */
let turnNumber = 1;
let turnScheduled = false;

/** In this turn, more than one write: they are in the stream (corked, unless past the low watermark). */
const IN_STREAM = Buffer.alloc(0);
/** Not in this turn; the last turn it was in brought it several writes, so its next first frame is held. */
const HOLD_NEXT = Buffer.alloc(0);

function endTurn(): void {
  // Up to `turnLength` as it goes: a socket that joins the turn while it ends (nothing writes here, but a stream might) is written too.
  for (let i = 0; i < turnLength; i++) {
    const socket = turn[i]!;
    turn[i] = undefined;
    const transport = (socket as unknown as WsInternals)._socket;
    const held = socket.heldFrame as Buffer;
    socket.heldFrame = held === IN_STREAM ? HOLD_NEXT : 0;
    try {
      // A held frame of a socket closed or cut since goes with its connection (`close()` puts it in the stream first).
      if (held === IN_STREAM) {
        if (transport !== null && transport.writableCorked !== 0) transport.uncork();
      } else if (socket.readyState === WebSocket.OPEN && transport !== null) {
        transport.write(held);
      }
    } catch (error) {
      // A stream that throws here is broken; it must neither crash the server nor keep the rest held.
      transport?.destroy(error as Error);
    }
  }
  turnLength = 0;
  turnNumber = turnNumber === 0x3fffffff ? 1 : turnNumber + 1;
  turnScheduled = false;
}

/** The first write of a turn, whoever makes it, schedules the turn's end. */
function inTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(endTurn);
}

/** The socket holds a frame or has a corked stream until the turn ends. */
function joinTurn(socket: WritableSocket, state: Buffer): void {
  socket.heldFrame = state;
  turn[turnLength++] = socket;
  inTurn();
}

/** Whether the socket holds a frame of this turn out of its stream (the sentinels are empty, frames never are). */
function holdsFrame(held: Buffer | number): held is Buffer {
  return typeof held !== 'number' && held.length !== 0;
}

/**
 * Past the low watermark what a socket holds is written at once: batches that large gain nothing,
 * and the watermarks would otherwise judge bytes the kernel would have taken.
 */
function settle(socket: WritableSocket, transport: Transport, low: number): void {
  const held = socket.heldFrame;
  if (held === IN_STREAM) {
    if (transport.writableCorked === 0 || transport.writableLength <= low) return;
    transport.uncork();
    transport.cork();
  } else if (holdsFrame(held) && held.length > low) {
    socket.heldFrame = IN_STREAM;
    transport.write(held);
  }
}

/**
 * A write about to go into the socket's stream: the turn's first goes straight out; any later one
 * goes into the corked stream, after the frame the socket holds.
 */
function joinStream(socket: WritableSocket, transport: Transport): void {
  const held = socket.heldFrame;
  if (typeof held === 'number' || held === HOLD_NEXT) {
    if (held === turnNumber) {
      // The second write of the turn: the first went straight out, the rest join the corked stream.
      joinTurn(socket, IN_STREAM);
      if (transport.writableCorked === 0) transport.cork();
    } else {
      socket.heldFrame = turnNumber;
      inTurn();
    }
    return;
  }
  socket.heldFrame = IN_STREAM;
  if (transport.writableCorked === 0) transport.cork();
  if (held !== IN_STREAM) transport.write(held);
}

/** A frame on the fast path: held if the socket's last turn merged, else straight out if it is the turn's first, else into the corked stream. */
function writeFrame(socket: WritableSocket, transport: Transport, frame: Buffer): void {
  if (socket.heldFrame === HOLD_NEXT) return joinTurn(socket, frame);
  joinStream(socket, transport);
  transport.write(frame);
}

/** A socket about to write past the write path (its close frame): what it holds goes into its stream first. */
export function releaseHeldFrame(socket: WritableSocket): void {
  const transport = (socket as unknown as WsInternals)._socket;
  if (holdsFrame(socket.heldFrame) && transport !== null) joinStream(socket, transport);
}

const wsSend = WebSocket.prototype.send as (this: WebSocket, data: unknown, ...rest: unknown[]) => void;

/** `ws`'s Sender is busy (deflating, reading a Blob, or holding queued frames): writing past it would reorder. */
function senderBusy(sender: NonNullable<WsInternals['_sender']>): boolean {
  const working = sender._state === undefined ? sender._deflating === true : sender._state !== 0;
  return working || sender._queue.length !== 0;
}

export function negotiatedDeflate(socket: WebSocket): boolean {
  return (socket as unknown as WsInternals)._extensions['permessage-deflate'] !== undefined;
}

/**
 * Bytes written to the socket that have not left the process: the frame it holds for this turn,
 * the TCP socket's buffer and what `ws`'s Sender holds (`RoomSocket`'s `bufferedAmount`).
 */
export function unsentBytes(socket: WritableSocket): number {
  const { _socket: transport, _sender: sender } = socket as unknown as WsInternals;
  const held = heldBytes(socket);
  return transport === null || sender === null ? held : held + transport.writableLength + sender._bufferedBytes;
}

/** Bytes of the frame the socket holds for this turn, out of its stream. */
export function heldBytes(socket: WritableSocket): number {
  // A turn's number or an (empty) sentinel: nothing held.
  const held = socket.heldFrame;
  return typeof held === 'number' ? 0 : held.length;
}

/**
 * Closes a socket with `code`. Its close frame waits behind whatever its peer has not read, so the
 * connection is cut if the peer does not take it within a grace period; either way it then leaves
 * its rooms.
 */
export function closeWithGrace(socket: WritableSocket, code: number, reason: string): void {
  socket.closeReason ??= 'server disconnect';
  socket.close(code, reason);
  setTimeout(() => socket.terminate(), SLOW_CONSUMER_GRACE).unref();
}

/** A socket that does not read what it is sent would make the server buffer without end: 1013. */
function shedSlowConsumer(socket: WritableSocket): void {
  socket.settings.metrics.dropped[Drop.SlowConsumer]++;
  closeWithGrace(socket, 1013, SLOW_CONSUMER);
}

/** Whether the socket is open and may take another frame; past the high watermark it is shed. */
function mayWrite(socket: WritableSocket): boolean {
  return socket.readyState === WebSocket.OPEN && underHighWatermark(socket);
}

/** Whether an open socket may take another frame (held, when coalescing); past the high watermark it is shed. */
function underHighWatermark(socket: WritableSocket): boolean {
  const settings = socket.settings;
  const transport = (socket as unknown as WsInternals)._socket;
  if (settings.coalesceWrites && transport !== null) {
    settle(socket, transport, settings.writeLimits.low);
    joinStream(socket, transport);
  }
  if (unsentBytes(socket) <= settings.writeLimits.high) return true;
  shedSlowConsumer(socket);
  return false;
}

/**
 * Writes an encoded event to one socket: the broadcast hot path. Most sockets get the pre-built
 * frame in one write; a socket that asked for compression, or whose `ws` sender is still busy
 * with an earlier message (so writing past it would reorder frames), goes through `ws.send` with
 * the shared JSON bytes. Returns whether the event was handed to the socket; what it sent, the
 * caller counts (once per broadcast), what it dropped is counted here.
 */
export function writeEvent(socket: WritableSocket, encoded: EncodedEvent, flags: WriteFlags): boolean {
  const internals = socket as unknown as WsInternals;
  const transport = internals._socket;
  const sender = internals._sender;
  if (socket.readyState !== WebSocket.OPEN || transport === null || sender === null) {
    socket.settings.metrics.dropped[Drop.NotOpen]++;
    return false;
  }
  const settings = socket.settings;
  const limits = settings.writeLimits;
  if (settings.coalesceWrites) settle(socket, transport, limits.low);
  const unsent = heldBytes(socket) + transport.writableLength + sender._bufferedBytes;
  if (unsent > limits.high) {
    shedSlowConsumer(socket);
    return false;
  }
  const busy = senderBusy(sender);
  if (flags.volatile && (busy || unsent > limits.low)) {
    socket.settings.metrics.dropped[Drop.Volatile]++;
    return false;
  }
  if (busy || (socket.deflate && flags.compress)) {
    if (settings.coalesceWrites) joinStream(socket, transport);
    wsSend.call(socket, encoded.payload, { binary: false, compress: flags.compress });
  } else if (settings.coalesceWrites) {
    writeFrame(socket, transport, encoded.frame);
  } else {
    transport.write(encoded.frame);
  }
  return true;
}

/**
 * Any other message (replies, exception frames, what app code hands `socket.send`): `ws.send`'s
 * arguments, through `ws`'s own framing, once the socket is under its high watermark. A message
 * to a socket that is closing (or was just shed) is dropped here and reports an error to its
 * callback, as `ws` would; `ws` itself would also add its size to `bufferedAmount` for good.
 */
export function writeMessage(socket: WritableSocket, data: unknown, ...rest: unknown[]): void {
  // CONNECTING: `ws` throws, as it should.
  if (socket.readyState === WebSocket.CONNECTING) return wsSend.call(socket, data, ...rest);
  const metrics = socket.settings.metrics;
  if (socket.readyState !== WebSocket.OPEN) metrics.dropped[Drop.NotOpen]++;
  else if (underHighWatermark(socket)) {
    metrics.framesSent++;
    metrics.bytesSent += byteLengthOf(data);
    return wsSend.call(socket, data, ...rest);
  }
  const callback = rest.find((arg) => typeof arg === 'function') as ((error: Error) => void) | undefined;
  if (callback !== undefined) process.nextTick(callback, new Error(NOT_OPEN));
}

/** The payload size of what `ws.send` takes (a string, a Buffer, any ArrayBuffer view, a Blob). */
function byteLengthOf(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  if (data instanceof Blob) return data.size;
  return 0;
}

/** A heartbeat ping, under the same watermark as every other frame. */
export function writePing(socket: WritableSocket, payload: Buffer): void {
  if (mayWrite(socket)) socket.ping(payload);
}

/**
 * A `ping` listener shared by every socket (`this` is the socket): `ws`'s automatic pongs are off
 * (they would bypass the watermark), so a client's pings are answered here.
 */
export function answerPing(this: WebSocket, data: Buffer): void {
  const socket = this as WritableSocket;
  if (mayWrite(socket)) socket.pong(data);
}
