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
}

/*
 * Write coalescing (`coalesceWrites`, on by default). The first frame a socket is written in a
 * turn of the event loop corks its TCP socket; every later frame of the turn, whatever wrote it
 * (this file, `ws`'s own framing for deflated or queued messages, a close frame), joins it in the
 * stream's buffer, in order; one `setImmediate` for all sockets uncorks them after the poll phase,
 * before the loop next waits, and Node hands each one's frames to the kernel in one `writev`. The
 * held bytes are in the TCP socket's `writableLength`, so every watermark sees them; a socket
 * destroyed in the meantime drops them with its buffer. Past the low watermark a socket's held
 * bytes are written at once: batches that large gain nothing, and the watermarks would otherwise
 * judge bytes the kernel would have taken.
 */
const corked: Transport[] = [];

function uncorkAll(): void {
  // Indexed: a socket corked while flushing (nothing writes here, but a stream might) is flushed too.
  for (let i = 0; i < corked.length; i++) {
    const transport = corked[i];
    try {
      transport.uncork();
    } catch (error) {
      // A stream that throws here is broken; it must neither crash the server nor keep the rest held.
      transport.destroy(error as Error);
    }
  }
  corked.length = 0;
}

/** Holds this turn's frames of `transport` for one write at the end of the turn. */
function hold(transport: Transport, low: number): void {
  if (transport.writableCorked === 0) {
    transport.cork();
    if (corked.push(transport) === 1) setImmediate(uncorkAll);
  } else if (transport.writableLength > low) {
    transport.uncork();
    transport.cork();
  }
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
 * Bytes written to the socket that have not left the process: the TCP socket's buffer plus what
 * `ws`'s Sender holds. The sum `ws`'s `bufferedAmount` reports, without its getter's detours.
 */
function unsentBytes(socket: WebSocket): number {
  const { _socket: transport, _sender: sender } = socket as unknown as WsInternals;
  return transport === null || sender === null ? 0 : transport.writableLength + sender._bufferedBytes;
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
  if (settings.coalesceWrites && transport !== null) hold(transport, settings.writeLimits.low);
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
  if (settings.coalesceWrites) hold(transport, limits.low);
  const unsent = transport.writableLength + sender._bufferedBytes;
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
    wsSend.call(socket, encoded.payload, { binary: false, compress: flags.compress });
    return true;
  }
  transport.write(encoded.frame);
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
