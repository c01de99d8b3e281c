import { RoomsError } from '../rooms.error.js';
import { ACK_TIMEOUT } from '../rooms.messages.js';

/**
 * Gathers the answers to one `emitWithAck`: one per socket that was sent the event. A socket that
 * disconnects before answering is no longer waited for; the timeout rejects with what arrived.
 */
export class AckCollector {
  private readonly responses: unknown[] = [];
  private expected = 0;
  private sealed = false;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private resolve!: (responses: unknown[]) => void;
  private reject!: (error: RoomsError) => void;
  readonly promise: Promise<unknown[]>;

  constructor(private readonly timeoutMs: number) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** One more socket was sent the event. */
  expect(): void {
    this.expected++;
  }

  /** Every target has been written to: from now on the collector may complete. */
  seal(): void {
    this.sealed = true;
    if (!this.tryFinish()) this.timer = setTimeout(() => this.fail(), this.timeoutMs);
  }

  answer(response: unknown): void {
    if (this.settled) return;
    this.responses.push(response);
    this.tryFinish();
  }

  /** A socket that was expected to answer is gone. */
  forget(): void {
    if (this.settled) return;
    this.expected--;
    this.tryFinish();
  }

  private tryFinish(): boolean {
    if (!this.sealed || this.settled || this.responses.length < this.expected) return this.settled;
    this.settled = true;
    clearTimeout(this.timer);
    this.resolve(this.responses);
    return true;
  }

  private fail(): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(new RoomsError(ACK_TIMEOUT(this.timeoutMs, this.responses.length, this.expected), [...this.responses]));
  }
}
