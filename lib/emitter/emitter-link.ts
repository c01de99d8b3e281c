import { randomBytes } from 'node:crypto';
import type { Broker, BrokerConnection, BrokerListener } from '../cluster/broker.js';
import { EMITTER_CLOSED, EMITTER_NOT_CONNECTED } from '../rooms.messages.js';

/**
 * An emitter's one connection to the broker. It subscribes to nothing and answers nothing: it only
 * publishes. A publish made while the broker is not (yet) connected waits for it, up to the
 * broker's `requestTimeout`, so that a script may emit right after creating its emitter.
 */
export class EmitterLink implements BrokerListener {
  private readonly connection: BrokerConnection;
  /** Publishes waiting for the broker to come up. */
  private readonly waiting = new Set<() => void>();
  /** Every publish not settled yet, as promises that never reject: `close` waits for them. */
  private readonly inFlight = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;
  /** This emitter's name in the `i` of its broadcasts: random, so that two emitters never share one. */
  private readonly name = randomBytes(9).toString('base64url');
  private broadcasts = 0;

  constructor(private readonly broker: Broker) {
    this.connection = broker.connect(this);
  }

  /**
   * Resolves once the broker has taken the message; rejects when it could not. Nobody has to
   * await it: a failure nobody listens for is no unhandled rejection.
   */
  publish(channel: string, message: Buffer): Promise<void> {
    if (this.closing !== undefined) throw new Error(EMITTER_CLOSED);
    const published = this.connection.up
      ? this.connection.publish(channel, message)
      : this.untilUp().then(() => this.connection.publish(channel, message));
    const settled = published.then(
      () => this.inFlight.delete(settled),
      () => this.inFlight.delete(settled),
    ) as Promise<unknown> as Promise<void>;
    this.inFlight.add(settled);
    return published;
  }

  /** A name for the next broadcast, unique cluster-wide (servers with recovery tell frames apart by it). */
  nextBroadcastId(): string {
    return `${this.name}.${++this.broadcasts}`;
  }

  /** Waits for what is in flight, then lets go of the broker. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await Promise.all(this.inFlight);
      await this.connection.close();
    })());
  }

  message(): void {
    // Subscribed to nothing: nothing arrives.
  }

  status(up: boolean): void {
    if (!up) return;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const resume of waiting) resume();
  }

  peersPossible(): void {
    // Room channels are the servers' business: an emitter listens on none.
  }

  private untilUp(): Promise<void> {
    const ms = this.broker.requestTimeout;
    return new Promise<void>((resolve, reject) => {
      const resume = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiting.delete(resume);
        reject(new Error(EMITTER_NOT_CONNECTED(ms)));
      }, ms);
      this.waiting.add(resume);
    });
  }
}
