import { encodeWithOffset, withoutOffset, type EncodedEvent } from '../broadcast/frame.js';
import type { Target } from '../broadcast/target.js';

/** One recoverable frame as this server sent it: its offset, the shared frame, whom it targeted. */
export interface HeldFrame {
  readonly seq: number;
  /** `Date.now()` when it was sent. */
  readonly at: number;
  readonly encoded: EncodedEvent;
  readonly target: Target;
  /** Its name cluster-wide (origin and number there), when its origin gave one: how a moving session's frames are told apart. */
  readonly key: string | undefined;
}

/**
 * Bytes counted for a held frame besides its own: what its entry, target and buffer objects take on
 * the heap (measured: about 680 bytes, BENCHMARKS.md), so that `maxBufferedBytes` is near the memory the log takes.
 */
export const HELD_FRAME_OVERHEAD = 700;

/**
 * This server's one log of recoverable frames, in offset order. Each frame is held once, as the
 * very frame its sockets were written; sessions refer to it by offset. It is bounded by bytes
 * (past `maxBytes` the oldest go, and sessions that needed them are too far behind) and by time
 * (a frame older than `maxAge` goes once no waiting session could still need it).
 */
export class HeldFrames {
  private readonly frames: HeldFrame[] = [];
  /** Index of the oldest held frame in `frames` (a queue without shifting). */
  private head = 0;
  private heldBytes = 0;
  /** The offset of the last frame recorded. */
  private sequence: number;
  /** The highest offset that went for space: a session behind it cannot be recovered. */
  private evictedThrough: number;

  /**
   * `firstOffset`: where this server's offsets start. At random by default (below 2^40), so that
   * an offset a client kept from another server's connection almost never falls in a session's range.
   */
  constructor(
    private readonly maxBytes: number,
    private readonly maxAge: number,
    firstOffset = Math.floor(Math.random() * 2 ** 40),
  ) {
    this.sequence = this.evictedThrough = firstOffset;
  }

  /** The offset of the last frame recorded (`firstOffset` before any). */
  get lastSeq(): number {
    return this.sequence;
  }

  get size(): number {
    return this.frames.length - this.head;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** When the oldest frame was sent, if any is held. */
  get oldestAt(): number | undefined {
    return this.size === 0 ? undefined : this.frames[this.head].at;
  }

  /** Frames `payload` with the next offset and holds it; the oldest go if the bytes are over. */
  append(target: Target, payload: Buffer, now: number, key?: string): EncodedEvent {
    const seq = ++this.sequence;
    const encoded = encodeWithOffset(payload, String(seq));
    this.frames.push({ seq, at: now, encoded, target, key });
    this.heldBytes += encoded.frame.length + HELD_FRAME_OVERHEAD;
    while (this.heldBytes > this.maxBytes && this.size > 0) this.evictedThrough = this.dropOldest();
    return encoded;
  }

  /** Whether every frame after `offset` is still held. */
  holdsAfter(offset: number): boolean {
    return offset >= this.evictedThrough;
  }

  /** Calls `visit` for every held frame after `offset`, in order. */
  forEachAfter(offset: number, visit: (frame: HeldFrame) => void): void {
    const { frames } = this;
    // Offsets are consecutive from the head, so the first frame after `offset` is found at once.
    let index = this.head;
    if (this.size > 0) index += Math.max(0, offset + 1 - frames[this.head].seq);
    for (; index < frames.length; index++) visit(frames[index]);
  }

  /** The event JSON a held frame was made of, without its offset (for another server, which gives it its own). */
  static payloadOf(frame: HeldFrame): Buffer {
    return withoutOffset(frame.encoded, String(frame.seq));
  }

  /** Lets go of frames older than `maxAge` whose offsets are at most `keepAfter`. */
  expire(now: number, keepAfter: number): void {
    const cutoff = now - this.maxAge;
    while (this.size > 0) {
      const oldest = this.frames[this.head];
      if (oldest.at > cutoff || oldest.seq > keepAfter) break;
      this.dropOldest();
    }
  }

  clear(): void {
    this.frames.length = 0;
    this.head = 0;
    this.heldBytes = 0;
  }

  private dropOldest(): number {
    const oldest = this.frames[this.head];
    (this.frames as (HeldFrame | undefined)[])[this.head] = undefined;
    this.head++;
    this.heldBytes -= oldest.encoded.frame.length + HELD_FRAME_OVERHEAD;
    // The dead slots at the front are reclaimed once they are half the array.
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames.splice(0, this.head);
      this.head = 0;
    }
    if (this.size === 0) this.clear();
    return oldest.seq;
  }
}
