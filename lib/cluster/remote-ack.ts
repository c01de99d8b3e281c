import type { AckSink } from '../broadcast/ack-sink.js';
import type { AckDelivery } from '../broadcast/ack-delivery.js';

/**
 * This server's part of another server's `emitWithAck`: the sink its sockets answer to, passing
 * each answer (or departure) on to the origin, and the one timer that makes them forget the
 * request after the origin's timeout.
 *
 * The timeout travels in the request itself rather than the origin saying when it has settled:
 * whatever ends the origin's wait (its timeout, the broker going down, the origin stopping or
 * crashing, the origin declaring this server gone), a message saying so may never arrive, and
 * entries waiting for it would stay for as long as their sockets live. Counting from the request
 * needs nothing more from anyone, and since the request reaches this server after the origin
 * started its own clock, no answer the origin would still take is refused here.
 */
export class RemoteAck implements AckSink {
  /** Answers (or departures) still to come from this server's sockets. */
  private owed = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onAnswer: (response: unknown) => void,
    private readonly onForget: () => void,
  ) {}

  /** The event went out; its sockets forget it after `timeoutMs` unless they have all answered by then. */
  start(delivery: AckDelivery, timeoutMs: number): void {
    this.owed += delivery.count;
    if (this.owed <= 0) return;
    this.timer = setTimeout(() => delivery.release(), timeoutMs);
    // Only bookkeeping: it must not keep a stopping process alive.
    this.timer.unref();
  }

  answer(response: unknown): void {
    this.onAnswer(response);
    this.countDown();
  }

  forget(): void {
    this.onForget();
    this.countDown();
  }

  /** Once every socket has answered or left, nothing is left to forget: the timer goes early. */
  private countDown(): void {
    if (--this.owed === 0) clearTimeout(this.timer);
  }
}
