import { Origin } from '../metrics/metric-labels.js';
import type { RoomsMetrics } from '../metrics/rooms-metrics.js';
import type { RoomMember, RoomRegistry } from '../registry/room-registry.js';
import { writeEvent, type WritableSocket } from '../socket/write-path.js';
import { AckDelivery, takePendingAck } from './ack-delivery.js';
import type { AckHolder, AckSink } from './ack-sink.js';
import { encodeEvent, encodePayload, type EncodedEvent, type WriteFlags } from './frame.js';
import type { Target } from './target.js';

/**
 * Where recoverable frames are kept (connection recovery, when it is on): it gives each one this
 * server's next offset, framed into the one frame every selected socket is written.
 */
export interface FrameRecorder {
  /** Whether every frame must be kept even when it reaches no socket here (sessions are waiting). */
  readonly recordsAll: boolean;
  /** Keeps the frame under the next offset; returns it framed with that offset. `key` names it cluster-wide, if it has a name. */
  record(target: Target, payload: Buffer, key?: string): EncodedEvent;
}

/** What this server's delivery needs of a socket: its rooms (the registry's), its pending acks, and a connection to write to. */
export type Recipient = RoomMember & AckHolder & WritableSocket;

/** How `sendEvent` writes: never dropped, deflated where the socket negotiated it (a broadcast's defaults). */
const SEND_FLAGS: WriteFlags = { volatile: false, compress: true };

/**
 * The broadcast layer's half on this server: an encoded event written to every selected socket,
 * the acks those sockets owe (their numbers, where each answer goes, forgetting them), and what a
 * selection counts. Every server of a cluster runs its own, for its own broadcasts and for those
 * other servers send it; selection is the registry's, writes are the write path's.
 */
export class LocalDelivery<S extends Recipient = Recipient> {
  /** Ack numbers start at random (one in 2^40) so that two servers' acks to one socket do not collide in practice. */
  private ackSequence = Math.floor(Math.random() * 2 ** 40);
  /** The number of this server's last recoverable broadcast (recovery on). */
  private frameSequence = 0;

  constructor(
    private readonly registry: RoomRegistry<S>,
    private readonly metrics: RoomsMetrics,
    private readonly recorder?: FrameRecorder,
    /** This server's name in the cluster, the first half of its frames' keys. */
    private readonly source = '',
  ) {}

  /**
   * The hot path: one encoded event written to every selected socket of this server (never held).
   * What it wrote is counted once per broadcast, not per socket; `origin` is `Origin` in
   * metrics/metric-labels.ts.
   */
  deliver(target: Target, encoded: EncodedEvent, flags: WriteFlags, origin: number = Origin.Local): void {
    let written = 0;
    this.registry.forEachTarget(target.r, target.x, (socket) => {
      if (writeEvent(socket, encoded, flags)) written++;
    });
    this.counted(origin, written, encoded.payload.length);
  }

  /** Whether a broadcast with these flags is held for recovery: then it is framed by `deliverPayload`, with its offset. */
  holds(flags: WriteFlags): boolean {
    return this.recorder !== undefined && !flags.volatile;
  }

  /** Numbers this server's next recoverable broadcast: other servers learn the number with it. */
  nextFrame(): number {
    return ++this.frameSequence;
  }

  /** A frame's name cluster-wide: its origin and its number there. */
  keyOf(frame: number): string {
    return `${this.source}.${frame}`;
  }

  /**
   * A serialised event (this server's broadcast, or another server's payload), framed once here:
   * with recovery on, under this server's next offset, and held (named `key` when it has a name).
   */
  deliverPayload(
    target: Target,
    payload: Buffer,
    flags: WriteFlags,
    origin: number = Origin.Local,
    key?: string,
  ): void {
    const recorder = this.recorder;
    if (recorder === undefined || flags.volatile) return this.deliver(target, encodePayload(payload), flags, origin);
    let written = 0;
    // Nobody waits: a frame that reaches no socket here can be missed by nobody, so it is kept
    // (and given an offset) only once it has a recipient.
    let held = recorder.recordsAll ? recorder.record(target, payload, key) : undefined;
    this.registry.forEachTarget(target.r, target.x, (socket) => {
      if (writeEvent(socket, (held ??= recorder.record(target, payload, key)), flags)) written++;
    });
    // The bytes written are the framed ones, offset included.
    this.counted(origin, written, held === undefined ? 0 : held.payload.length);
  }

  /**
   * Writes an ack-carrying event to the selected sockets; each one's answer goes to `sink`. The
   * caller releases the returned delivery once it stops waiting, or the entries would stay.
   */
  deliverWithAck(
    target: Target,
    encoded: EncodedEvent,
    flags: WriteFlags,
    ack: number,
    sink: AckSink,
    origin: number = Origin.Local,
  ): AckDelivery {
    const sent = this.registry.select(target.r, target.x);
    let count = 0;
    for (const socket of sent) {
      if (!writeEvent(socket, encoded, flags)) continue;
      (socket.pendingAcks ??= new Map()).set(ack, sink);
      sent[count++] = socket;
    }
    sent.length = count;
    this.counted(origin, count, encoded.payload.length);
    return new AckDelivery(sent, ack, sink);
  }

  /** One broadcast of `origin`, written to `written` sockets, `bytes` of payload each. */
  private counted(origin: number, written: number, bytes: number): void {
    const metrics = this.metrics;
    metrics.broadcasts[origin]++;
    metrics.framesSent += written;
    metrics.bytesSent += written * bytes;
  }

  /** The number the next `emitWithAck` of this server carries. */
  nextAck(): number {
    return ++this.ackSequence;
  }

  /** A socket's `{"ack": n, "data"}`; false when it answers nothing pending. */
  answerAck(socket: S, ack: unknown, data: unknown): boolean {
    const sink = typeof ack === 'number' ? takePendingAck(socket, ack) : undefined;
    if (sink === undefined) return false;
    sink.answer(data);
    return true;
  }

  /** A socket that leaves owes no answer any more: each request it was asked stops waiting for it. */
  abandonAcks(socket: S): void {
    const pending = socket.pendingAcks;
    if (pending === undefined) return;
    for (const sink of pending.values()) sink.forget();
    socket.pendingAcks = undefined;
  }

  /** `{event, data}` to one socket. */
  sendTo(socket: S, event: string, data: unknown): void {
    const encoded = encodeEvent(event, data);
    const recorder = this.recorder;
    const framed = recorder === undefined ? encoded : recorder.record({ r: [socket.id], x: [] }, encoded.payload);
    if (!writeEvent(socket, framed, SEND_FLAGS)) return;
    this.metrics.framesSent++;
    this.metrics.bytesSent += framed.payload.length;
  }

  /** The selected sockets, as an array that is safe to act on (user code may run per socket). */
  select(target: Target): S[] {
    return this.registry.select(target.r, target.x);
  }

  /** How many sockets of this server the target selects. */
  count(target: Target): number {
    let count = 0;
    this.registry.forEachTarget(target.r, target.x, () => count++);
    return count;
  }

  /** This server's rooms, without the sockets' own id rooms. */
  roomNames(): Set<string> {
    return this.registry.roomNames();
  }
}
