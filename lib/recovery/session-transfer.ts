import { Logger } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import type { Target } from '../broadcast/target.js';
import { NO_ANSWER, type ClusterNode } from '../cluster/cluster-node.js';
import { trace, TRACING } from '../rooms.trace.js';
import type { ConnectionRecovery } from './recovery.js';
import { sessionQueryOf } from './session-query.js';
import {
  readFrames,
  readOffer,
  readSessionRequest,
  RETRY,
  type SessionOffer,
  type SessionRequest,
} from './session-wire.js';

/** Every server: the target of a `find`, which is asked of them all. */
const EVERY_SERVER: Target = { r: [], x: [] };

/** How long a reconnect waits before asking again for a session that is still closing or moving elsewhere. */
const RETRY_DELAY = 20;

/**
 * Sessions moving between servers through the broker, in two steps. The server a client comes
 * back to asks every server for the session (`find`); its holder offers it and stops offering it
 * to anyone else. The new server routes the session's rooms to itself and waits until broadcasts
 * to them reach it; from then on its own log has every frame for the session. Only then does it
 * ask the holder for the frames it held (`frames`): every frame either came with them or is in
 * the new server's log after that point, and those in both (named alike by their origin) count
 * once. A stopping server hands all its sessions to one live peer the same way (`adopt`).
 */
export class SessionTransfer {
  private readonly logger = new Logger('RoomsRecovery');
  /** Sessions on their way here, by token: a reconnect that names one waits for it. */
  private readonly arriving = new Map<string, Promise<void>>();

  constructor(
    private readonly recovery: ConnectionRecovery,
    private readonly cluster: ClusterNode,
  ) {}

  private get timeout(): number {
    return this.cluster.broker.requestTimeout;
  }

  /** How long an offered session waits here for its frames to be asked for. */
  private get holdFor(): number {
    return 2 * this.timeout + 1000;
  }

  /**
   * Before a reconnecting client's socket exists (after `authenticate`): a session this server
   * does not know, held by another server, moves here, so that the socket can take it. Never
   * throws: a session that cannot move is unknown here, and the socket starts fresh.
   */
  async fetch(url: string): Promise<void> {
    const { token, offset } = sessionQueryOf(url);
    if (token === null || token === '') return;
    try {
      if (this.arriving.has(token)) return await this.arriving.get(token);
      if (this.recovery.knows(token) || this.cluster.peerCount === 0) return;
      const deadline = Date.now() + this.timeout;
      const offer = await this.find(token, offset, deadline);
      if (offer !== undefined) await this.take(offer.h, [offer], Math.max(1, deadline - Date.now()));
    } catch (error) {
      if (TRACING) trace('recovery: session not moved here: %s', String(error));
    }
  }

  /** `app.close()`: every waiting session goes to one live peer; resolves once it has them all (or could not). */
  async handOver(): Promise<void> {
    const peers = this.cluster.peerIds;
    if (peers.length === 0 || !this.cluster.brokerUp) return;
    const offers = this.recovery.offerAll(this.cluster.id, this.holdFor);
    if (offers.length === 0) return;
    const peer = peers[Math.floor(Math.random() * peers.length)];
    const request: SessionRequest = { op: 'adopt', h: this.cluster.id, s: offers };
    try {
      await this.cluster.requestOne(peer, 'session', request, 2 * this.timeout);
    } catch (error) {
      this.logger.warn(`${offers.length} waiting sessions were not handed over: ${String(error)}`);
    }
  }

  /** Another server's `session` request. */
  answer(args: unknown): unknown {
    const request = readSessionRequest(args);
    if (request === undefined) throw new Error('not a session request');
    switch (request.op) {
      case 'find': {
        const offset = request.o === null ? undefined : request.o;
        return this.recovery.offer(request.t, offset, this.cluster.id, this.holdFor) ?? NO_ANSWER;
      }
      case 'frames':
        return request.t.map((token) => this.recovery.surrender(token) ?? null);
      case 'adopt':
        return this.take(request.h, request.s, this.timeout).then(() => true);
    }
  }

  /** Asks every server until one offers the session, or none could any more. */
  private async find(token: string, offset: number | undefined, deadline: number): Promise<SessionOffer | undefined> {
    // A malformed offset is sent as one no session has: the holder leaves its session waiting.
    const o = offset === undefined ? null : Number.isNaN(offset) ? -1 : offset;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      const answers = await this.cluster.request('session', EVERY_SERVER, { op: 'find', t: token, o }, left);
      for (const answer of answers) {
        const offer = readOffer(answer);
        if (offer !== undefined) return offer;
      }
      // It may have come here meanwhile (handed over by a server that stops).
      const arriving = this.arriving.get(token);
      if (arriving !== undefined) return arriving.then(() => undefined);
      if (this.recovery.knows(token)) return undefined;
      if (!answers.includes(RETRY) || Date.now() + RETRY_DELAY >= deadline) return undefined;
      await delay(RETRY_DELAY);
    }
  }

  /**
   * Sessions `holder` offered come here: their rooms are routed here first, then their frames are
   * asked for. Each offer is adopted, with its frames or (when they did not come) without.
   */
  private take(holder: string, offers: readonly SessionOffer[], timeout: number): Promise<void> {
    const taking = this.takeFrom(holder, offers, timeout);
    const settled = taking.catch(() => undefined);
    for (const offer of offers) this.arriving.set(offer.t, settled);
    void settled.then(() => {
      for (const offer of offers) if (this.arriving.get(offer.t) === settled) this.arriving.delete(offer.t);
    });
    return taking;
  }

  private async takeFrom(holder: string, offers: readonly SessionOffer[], timeout: number): Promise<void> {
    const { recovery } = this;
    recovery.expect(offers);
    let lists: unknown[] = [];
    let since = recovery.frames.lastSeq;
    try {
      const moving = offers.filter((offer) => offer.b !== true);
      if (moving.length !== 0) {
        await this.cluster.subscribed([...new Set(moving.flatMap((offer) => offer.r))]);
        since = recovery.frames.lastSeq;
        const request: SessionRequest = { op: 'frames', t: moving.map((offer) => offer.t) };
        const answer = await this.cluster.requestOne(holder, 'session', request, timeout);
        if (Array.isArray(answer)) lists = answer;
      }
    } finally {
      let k = 0;
      for (const offer of offers) recovery.adopt(offer, since, offer.b === true ? [] : readFrames(lists[k++]));
    }
  }
}
