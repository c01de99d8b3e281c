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
  /** Keeps the frame under the next offset; returns it framed with that offset. */
  record(target: Target, payload: Buffer): EncodedEvent;
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

  constructor(
    private readonly registry: RoomRegistry<S>,
    private readonly recorder?: FrameRecorder,
  ) {}

  /** The hot path: one encoded event written to every selected socket of this server (never held). */
  deliver(target: Target, encoded: EncodedEvent, flags: WriteFlags): void {
    this.registry.forEachTarget(target.r, target.x, (socket) => writeEvent(socket, encoded, flags));
  }

  /** Whether a broadcast with these flags is held for recovery: then it is framed by `deliverPayload`, with its offset. */
  holds(flags: WriteFlags): boolean {
    return this.recorder !== undefined && !flags.volatile;
  }

  /**
   * A serialised event (this server's broadcast, or another server's payload), framed once here:
   * with recovery on, under this server's next offset, and held.
   */
  deliverPayload(target: Target, payload: Buffer, flags: WriteFlags): void {
    const recorder = this.recorder;
    if (recorder === undefined || flags.volatile) return this.deliver(target, encodePayload(payload), flags);
    if (recorder.recordsAll) {
      const held = recorder.record(target, payload);
      this.registry.forEachTarget(target.r, target.x, (socket) => writeEvent(socket, held, flags));
      return;
    }
    // Nobody waits: a frame that reaches no socket here can be missed by nobody, so it is kept
    // (and given an offset) only once it has a recipient.
    let held: EncodedEvent | undefined;
    this.registry.forEachTarget(target.r, target.x, (socket) =>
      writeEvent(socket, (held ??= recorder.record(target, payload)), flags),
    );
  }

  /**
   * Writes an ack-carrying event to the selected sockets; each one's answer goes to `sink`. The
   * caller releases the returned delivery once it stops waiting, or the entries would stay.
   */
  deliverWithAck(target: Target, encoded: EncodedEvent, flags: WriteFlags, ack: number, sink: AckSink): AckDelivery {
    const sent = this.registry.select(target.r, target.x);
    let count = 0;
    for (const socket of sent) {
      if (!writeEvent(socket, encoded, flags)) continue;
      (socket.pendingAcks ??= new Map()).set(ack, sink);
      sent[count++] = socket;
    }
    sent.length = count;
    return new AckDelivery(sent, ack, sink);
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
    if (recorder === undefined) writeEvent(socket, encoded, SEND_FLAGS);
    else writeEvent(socket, recorder.record({ r: [socket.id], x: [] }, encoded.payload), SEND_FLAGS);
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
