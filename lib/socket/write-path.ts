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
  /** @internal this turn's first frame, held out of the stream until the turn ends (write coalescing). */
  heldFrame: Buffer | undefined;
}

/*
 * Write coalescing (`coalesceWrites`, on by default). The first frame the write path gives a
 * socket in a turn of the event loop is held on the socket itself (`heldFrame`), out of its stream:
 * nothing is buffered or corked for a socket that gets one frame, the common case. A second frame
 * of the turn, or anything written past the fast path (`ws.send` for replies, deflated or queued
 * messages, pings, a close frame), corks the TCP socket, writes the held frame into it first and
 * joins it there, in order. One `setImmediate` for all sockets ends the turn after the poll phase,
 * before the loop next waits: a lone held frame is written as it is, in one `write`, and a corked
 * socket is uncorked, so Node hands its frames to the kernel in one `writev`. Held bytes count as
 * unsent (`unsentBytes`), so every watermark sees them; a socket closed or cut in the meantime
 * drops its held frame.
 */
/** The sockets of this turn, `turnLength` of them; the array keeps its size between turns rather than regrow every turn. */
const turn: (WritableSocket | undefined)[] = [];
let turnLength = 0;

/** `heldFrame` of a socket in this turn that holds nothing itself: its frames are in its stream. */
const IN_STREAM = Buffer.alloc(0);

function endTurn(): void {
  // Up to `turnLength` as it goes: a socket that joins the turn while it ends (nothing writes here, but a stream might) is written too.
  for (let i = 0; i < turnLength; i++) {
    const socket = turn[i]!;
    turn[i] = undefined;
    const transport = (socket as unknown as WsInternals)._socket;
    const held = socket.heldFrame;
    socket.heldFrame = undefined;
    try {
      if (held !== IN_STREAM) {
        // Closed or cut since: the frame goes with the connection (`close()` puts it in the stream first).
        if (held !== undefined && socket.readyState === WebSocket.OPEN && transport !== null) transport.write(held);
      } else if (transport !== null && transport.writableCorked !== 0) transport.uncork();
    } catch (error) {
      // A stream that throws here is broken; it must neither crash the server nor keep the rest held.
      transport?.destroy(error as Error);
    }
  }
  turnLength = 0;
}

function joinTurn(socket: WritableSocket, held: Buffer): void {
  socket.heldFrame = held;
  turn[turnLength++] = socket;
  if (turnLength === 1) setImmediate(endTurn);
}

/**
 * Past the low watermark what a socket holds is written at once: batches that large gain nothing,
 * and the watermarks would otherwise judge bytes the kernel would have taken.
 */
function settle(socket: WritableSocket, transport: Transport, low: number): void {
  const held = socket.heldFrame;
  if (held === undefined) return;
  if (held !== IN_STREAM) {
    if (held.length <= low) return;
    socket.heldFrame = IN_STREAM;
    transport.write(held);
  } else if (transport.writableCorked !== 0 && transport.writableLength > low) {
    transport.uncork();
    transport.cork();
  }
}

/** From here to the end of the turn the socket's frames go into its corked stream, after the frame it holds. */
function corkTurn(socket: WritableSocket, transport: Transport): void {
  const held = socket.heldFrame;
  if (held === undefined) joinTurn(socket, IN_STREAM);
  else socket.heldFrame = IN_STREAM;
  if (transport.writableCorked === 0) transport.cork();
  if (held !== undefined && held !== IN_STREAM) transport.write(held);
}

/** A frame on the fast path: held if it is the turn's first (or the first since the socket's bytes were written), else into the stream. */
function holdFrame(socket: WritableSocket, transport: Transport, frame: Buffer): void {
  const held = socket.heldFrame;
  if (held === undefined) return joinTurn(socket, frame);
  if (held === IN_STREAM && transport.writableCorked === 0) {
    socket.heldFrame = frame;
    return;
  }
  corkTurn(socket, transport);
  transport.write(frame);
}

/** A socket about to write past the write path (its close frame): what it holds goes into its stream first. */
export function releaseHeldFrame(socket: WritableSocket): void {
  const transport = (socket as unknown as WsInternals)._socket;
  const held = socket.heldFrame;
  if (held !== undefined && held !== IN_STREAM && transport !== null) corkTurn(socket, transport);
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
function heldBytes(socket: WritableSocket): number {
  return socket.heldFrame === undefined ? 0 : socket.heldFrame.length;
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
    corkTurn(socket, transport);
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
    if (settings.coalesceWrites) corkTurn(socket, transport);
    wsSend.call(socket, encoded.payload, { binary: false, compress: flags.compress });
  } else if (settings.coalesceWrites) {
    holdFrame(socket, transport, encoded.frame);
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
