import { RoomsError } from '../rooms.error.js';
import { REQUEST_FAILED, REQUEST_TIMEOUT } from '../rooms.messages.js';

/**
 * One request to the other servers: it completes when every server asked has answered or been
 * declared gone, and rejects when a live one misses the timeout or answers with an error.
 */
export class ClusterRequest {
  private readonly responses: unknown[] = [];
  private readonly waitingFor: Set<string>;
  private readonly timer: NodeJS.Timeout;
  private resolve!: (responses: unknown[]) => void;
  private reject!: (error: RoomsError) => void;
  readonly promise: Promise<unknown[]>;

  constructor(
    servers: Iterable<string>,
    private readonly timeoutMs: number,
    private readonly done: () => void,
  ) {
    this.waitingFor = new Set(servers);
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.timer = setTimeout(() => this.fail(REQUEST_TIMEOUT(this.timeoutMs, this.waitingFor.size)), timeoutMs);
    this.tryFinish();
  }

  /** `node`'s answer; `counted = false` for a server that had nothing to answer with. */
  respond(node: string, data: unknown, counted = true): void {
    if (!this.waitingFor.delete(node)) return;
    if (counted) this.responses.push(data);
    this.tryFinish();
  }

  failed(node: string, message: string): void {
    if (this.waitingFor.has(node)) this.fail(REQUEST_FAILED(message));
  }

  /** The request cannot complete (the broker is down, or refused it): reject at once with what arrived. */
  abort(message: string, cause?: unknown): void {
    if (this.waitingFor.size > 0) this.fail(message, cause);
  }

  serverGone(node: string): void {
    if (this.waitingFor.delete(node)) this.tryFinish();
  }

  private tryFinish(): void {
    if (this.waitingFor.size > 0) return;
    this.finish();
    this.resolve(this.responses);
  }

  private fail(message: string, cause?: unknown): void {
    this.finish();
    this.reject(new RoomsError(message, [...this.responses], cause === undefined ? undefined : { cause }));
  }

  private finish(): void {
    this.waitingFor.clear();
    clearTimeout(this.timer);
    this.done();
  }
}
