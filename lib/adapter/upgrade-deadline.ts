import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';

const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * Closes connections that have not finished their business within `timeout` ms of connecting.
 * Every connection gets the same timeout, so the insertion order of the map is the order of the
 * deadlines: one timer, armed for the oldest, serves them all, and none is armed while nothing waits.
 */
export class UpgradeDeadline {
  private readonly since = new Map<Duplex, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeout: number) {}

  /** Starts the clock for a new connection. */
  watch(socket: Duplex): void {
    this.since.set(socket, performance.now());
    this.timer ??= this.arm(this.timeout);
  }

  /** The connection is done (upgraded, or an ordinary HTTP request the server handles). */
  unwatch(socket: Duplex): void {
    this.since.delete(socket);
  }

  /** Disarms the timer and closes every connection still waiting. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const socket of this.since.keys()) socket.destroy();
    this.since.clear();
  }

  private arm(delay: number): NodeJS.Timeout {
    // Never what keeps the process alive; dispose() clears it.
    // Node fires a timer at once past 2^31-1 ms; a later sweep re-arms for what is left.
    return setTimeout(this.sweep, Math.min(Math.max(1, Math.ceil(delay)), MAX_TIMER_DELAY)).unref();
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    const now = performance.now();
    for (const [socket, since] of this.since) {
      const left = since + this.timeout - now;
      if (left > 0) {
        this.timer = this.arm(left);
        return;
      }
      // Closed ones are only forgotten here: no `close` listener on every HTTP connection.
      this.since.delete(socket);
      socket.destroy();
    }
  };
}
