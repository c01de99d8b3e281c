import { RoomsError } from '../rooms.error.js';
import { ACK_TIMEOUT } from '../rooms.messages.js';
import type { AckDelivery } from './ack-delivery.js';
import type { AckSink } from './ack-sink.js';

/** This server's own sockets, under the key of no other server. */
const HERE = '';

/**
 * Gathers the answers to one `emitWithAck`: one per socket that was sent the event, on this
 * server and on every other server that was asked. Each server reports how many sockets it sent
 * the event to, then their answers; a socket that leaves, or a server that is declared gone, is
 * no longer waited for. The timeout rejects with the answers that arrived. However it ends, this
 * server's sockets forget the request at once; the other servers forget their part on their own
 * (cluster/remote-ack.ts).
 */
export class AckCollector implements AckSink {
  private readonly responses: unknown[] = [];
  /** Answers still owed, per server; `undefined` until that server has reported its count. */
  private readonly owed = new Map<string, number | undefined>([[HERE, 0]]);
  private sealed = false;
  /** Resolved or rejected: nothing more is taken. */
  private finished = false;
  private timer: NodeJS.Timeout | undefined;
  private here: AckDelivery | undefined;
  private resolve!: (responses: unknown[]) => void;
  private reject!: (error: RoomsError) => void;
  readonly promise: Promise<unknown[]>;

  constructor(readonly timeoutMs: number) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** These sockets here were sent the event; they forget it once this settles. */
  expect(delivery: AckDelivery): void {
    this.here = delivery;
    this.owed.set(HERE, this.owed.get(HERE)! + delivery.count);
  }

  /** Another server was asked; its count is to come. */
  expectServer(node: string): void {
    this.owed.set(node, undefined);
  }

  /** Everyone has been asked: from now on the collector may complete. */
  seal(): void {
    this.sealed = true;
    if (!this.tryFinish()) this.timer = setTimeout(() => this.fail(), this.timeoutMs);
  }

  answer(response: unknown, node = HERE): void {
    if (this.finished || !this.owed.has(node)) return;
    this.responses.push(response);
    this.changeOwed(node, -1);
  }

  forget(node = HERE): void {
    if (this.finished || !this.owed.has(node)) return;
    this.changeOwed(node, -1);
  }

  /** Server `node` sent the event to `count` sockets. */
  serverCount(node: string, count: number): void {
    if (this.finished || !this.owed.has(node)) return;
    this.changeOwed(node, count);
  }

  /** Server `node` is gone: its answers are no longer waited for. */
  serverGone(node: string): void {
    if (this.finished || !this.owed.delete(node)) return;
    this.tryFinish();
  }

  /** The other servers' answers cannot arrive (the broker is down, or refused the event): reject at once with those that did. */
  abort(message: string, cause?: unknown): void {
    if (this.finished) return;
    this.finish();
    this.reject(new RoomsError(message, [...this.responses], cause === undefined ? undefined : { cause }));
  }

  private changeOwed(node: string, change: number): void {
    this.owed.set(node, (this.owed.get(node) ?? 0) + change);
    this.tryFinish();
  }

  private tryFinish(): boolean {
    if (this.finished) return true;
    if (!this.sealed) return false;
    for (const owed of this.owed.values()) if (owed !== 0) return false;
    this.finish();
    this.resolve(this.responses);
    return true;
  }

  /** Nothing more is waited for: the sockets here that have not answered forget the request. */
  private finish(): void {
    this.finished = true;
    clearTimeout(this.timer);
    this.here?.release();
  }

  private fail(): void {
    if (this.finished) return;
    this.finish();
    let owed = 0;
    for (const count of this.owed.values()) owed += count ?? 0;
    const answered = this.responses.length;
    this.reject(new RoomsError(ACK_TIMEOUT(this.timeoutMs, answered, answered + owed), [...this.responses]));
  }
}
