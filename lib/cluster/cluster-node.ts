import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { AckCollector } from '../broadcast/ack-collector.js';
import type { AckSink } from '../broadcast/ack-sink.js';
import type { AckDelivery } from '../broadcast/ack-delivery.js';
import { encodePayload, type EncodedEvent, type WriteFlags } from '../broadcast/frame.js';
import { RoomsMetrics } from '../metrics/rooms-metrics.js';
import { RoomsError } from '../rooms.error.js';
import { trace, TRACING } from '../rooms.trace.js';
import { ACK_REFUSED, BROKER_DOWN, PUBLISH_REFUSED, REQUEST_REFUSED } from '../rooms.messages.js';
import { createSocketId } from '../socket/socket-id.js';
import type { Broker, BrokerConnection, BrokerListener } from './broker.js';
import { ALL_CHANNEL as ALL, broadcastChannel, nodeChannel, roomChannel, routable } from './channels.js';
import type { Target } from '../broadcast/target.js';
import {
  decodeMessage,
  encodeMessage,
  MessageType,
  messageTypeName,
  type AckBroadcastMessage,
  type ClusterMessage,
  type EmitterMessage,
  type PresenceMessage,
  type RequestKind,
  type RequestMessage,
} from './cluster-messages.js';
import { ClusterRequest } from './cluster-request.js';
import { readEmitterMessage } from './emitter-input.js';
import type { PresenceChannel } from './presence-channel.js';
import { RemoteAck } from './remote-ack.js';

/** What the cluster asks of this server when another one speaks. */
export interface LocalServer {
  /**
   * Frames another server's serialised event once and writes it to the target's sockets here;
   * `key` names the frame cluster-wide (its origin and number there), when the origin gave one.
   */
  deliverPayload(target: Target, payload: Buffer, flags: WriteFlags, key?: string): void;
  /** Delivers an event carrying `ack`; each socket's answer goes to `sink` until the delivery is released. */
  deliverWithAck(target: Target, encoded: EncodedEvent, flags: WriteFlags, ack: number, sink: AckSink): AckDelivery;
  /** Runs a cluster-wide operation on this server's sockets; `NO_ANSWER` when there is nothing to answer with. */
  answer(kind: RequestKind, target: Target, args: unknown): unknown;
  serverEvent(event: string, args: unknown[]): void;
  /** This server's rooms, without the sockets' own id rooms. */
  roomNames(): Iterable<string>;
}

/** What `LocalServer.answer` returns when this server has nothing to say (a server event with no handler). */
export const NO_ANSWER = Symbol('no answer');

/** What a join or leave returns when there is nothing to wait for: one shared, already resolved promise. */
export const NOTHING_TO_WAIT_FOR: Promise<void> = Promise.resolve();

const STARTUP_GRACE = 1000;
/** At most one warning this often about publishes a connected broker refuses (each broadcast may be one). */
const REFUSAL_WARNING_INTERVAL = 10_000;

/**
 * This server's side of the cluster protocol, over any `Broker`: it announces itself with
 * heartbeats, learns the other servers from theirs (and forgets one that falls silent for
 * `heartbeatTimeout` or says goodbye), routes broadcasts (one room: only the servers that have
 * members there; anything else: every server), and runs requests that wait for each live server.
 */
export class ClusterNode
  extends EventEmitter<{ 'peer-up': [node: string]; 'peer-down': [node: string]; 'broker-status': [up: boolean] }>
  implements BrokerListener
{
  readonly id = createSocketId();
  private connection: BrokerConnection | undefined;
  /** Other servers, with when they were last heard from. */
  private readonly peers = new Map<string, number>();
  private readonly requests = new Map<number, ClusterRequest>();
  private readonly ackRequests = new Map<number, AckCollector>();
  /** Room channels whose subscription the transport has not confirmed yet. */
  private readonly pendingSubscriptions = new Map<string, Promise<void>>();
  private requestSequence = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastBeat = 0;
  /** Whether the outage going on has been warned of; cleared when the broker is back. */
  private warnedDown = false;
  /** Within the start-up grace, before the broker first reported its status: no outage to warn of yet. */
  private startingUp = false;
  private statusReported = false;
  private lastRefusalWarning = -Infinity;
  private unwarnedRefusals = 0;
  /** Whether room channels were ever subscribed; until then a deleted room has nothing to unsubscribe. */
  private routesRooms = false;
  private readonly logger = new Logger('RoomsCluster');
  /** Presence, which speaks through this node's messages; set by the server that owns both. */
  presence: PresenceChannel | undefined;

  constructor(
    readonly broker: Broker,
    private readonly local: LocalServer,
    private readonly metrics = new RoomsMetrics(),
  ) {
    super();
  }

  start(): void {
    const connection = (this.connection = this.broker.connect(this));
    for (const channel of [ALL, nodeChannel(this.id)]) {
      connection
        .subscribe(channel)
        ?.catch((error: unknown) => this.logger.warn(`subscribe ${channel}: ${String(error)}`));
    }
    const { heartbeatInterval, heartbeatTimeout } = this.broker;
    this.heartbeatTimer = setInterval(() => this.beat(), Math.min(heartbeatInterval, heartbeatTimeout / 4));
    this.heartbeatTimer.unref();
    if (!connection.up) this.warnIfStillDown();
    this.lastBeat = 0;
    this.beat();
  }

  /** Says goodbye, so that the others drop this server at once, and lets go of the broker. */
  async close(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    const connection = this.connection;
    if (connection === undefined) return;
    this.connection = undefined;
    if (connection.up && connection.mayHavePeers) {
      const bye = encodeMessage({ t: MessageType.Bye, n: this.id });
      if (TRACING) traceOut(ALL, bye);
      await connection.publish(ALL, bye).catch(() => undefined);
    }
    for (const request of this.requests.values()) request.abort(BROKER_DOWN);
    for (const collector of this.ackRequests.values()) collector.abort(BROKER_DOWN);
    await connection.close();
  }

  /** The servers this one currently counts as alive (itself excluded). */
  get peerIds(): string[] {
    return [...this.peers.keys()];
  }

  /** How many servers this one counts as alive (itself excluded). */
  get peerCount(): number {
    return this.peers.size;
  }

  /** Whether the broker is connected now. */
  get brokerUp(): boolean {
    return this.connection?.up ?? false;
  }

  // ---- room channels ---------------------------------------------------------------------------

  roomCreated(room: string): void {
    // A server alone on its broker skips the subscription: nothing could arrive on it (`peersPossible`).
    if (this.connection === undefined || !this.connection.mayHavePeers || !routable(room)) return;
    this.routesRooms = true;
    const subscribing = this.connection.subscribe(roomChannel(room));
    if (subscribing === undefined) return;
    const tracked: Promise<void> = subscribing.then(
      () => this.subscriptionDone(room, tracked),
      (error: unknown) => {
        this.logger.warn(`subscribe to room "${room}" failed: ${String(error)}`);
        this.subscriptionDone(room, tracked);
      },
    );
    this.pendingSubscriptions.set(room, tracked);
  }

  roomDeleted(room: string): void {
    if (this.connection === undefined || !this.routesRooms || !routable(room)) return;
    this.pendingSubscriptions.delete(room);
    this.connection.unsubscribe(roomChannel(room))?.catch((error: unknown) => {
      this.logger.warn(`unsubscribe from room "${room}" failed: ${String(error)}`);
    });
  }

  /**
   * Resolves once broadcasts to every one of `rooms` from any server reach this one: at once
   * (one shared promise, no allocation) unless a subscription is still on its way.
   */
  subscribed(rooms: readonly string[]): Promise<void> {
    if (this.pendingSubscriptions.size === 0) return NOTHING_TO_WAIT_FOR;
    const pending: Promise<void>[] = [];
    for (const room of rooms) {
      const subscription = this.pendingSubscriptions.get(room);
      if (subscription !== undefined) pending.push(subscription);
    }
    return pending.length === 0 ? NOTHING_TO_WAIT_FOR : Promise.all(pending).then(() => undefined);
  }

  /** `subscribed` for one room. */
  subscribedTo(room: string): Promise<void> {
    return this.pendingSubscriptions.size === 0
      ? NOTHING_TO_WAIT_FOR
      : (this.pendingSubscriptions.get(room) ?? NOTHING_TO_WAIT_FOR);
  }

  /** The transport confirmed (or failed) the subscription: nothing to wait for any more, unless a newer one replaced it. */
  private subscriptionDone(room: string, subscription: Promise<void>): void {
    if (this.pendingSubscriptions.get(room) === subscription) this.pendingSubscriptions.delete(room);
  }

  // ---- outbound --------------------------------------------------------------------------------

  /** `frame`: this server's number for a recoverable broadcast (recovery on), so that others can name it. */
  broadcast(target: Target, flags: WriteFlags, payload: Buffer, frame?: number): void {
    if (!this.canReachPeers()) return;
    const channel = broadcastChannel(target);
    const { volatile: v, compress: c } = flags;
    const message = { t: MessageType.Broadcast, n: this.id, v, c, ...target, i: frame };
    this.publish(channel, encodeMessage(message, payload));
  }

  /** Sends an ack-carrying event to every other server; `collector` learns their counts and answers. */
  broadcastWithAck(target: Target, flags: WriteFlags, ack: number, payload: Buffer, collector: AckCollector): void {
    const connection = this.connection;
    if (connection === undefined || !connection.mayHavePeers) return;
    // Other servers may hold targeted sockets: with the broker down their answers cannot come.
    if (!this.canReachPeers()) return collector.abort(BROKER_DOWN);
    if (this.peers.size === 0) return;
    const request = ++this.requestSequence;
    for (const peer of this.peers.keys()) collector.expectServer(peer);
    this.ackRequests.set(request, collector);
    const forget = () => this.ackRequests.delete(request);
    collector.promise.then(forget, forget);
    const { volatile: v, compress: c } = flags;
    const message: AckBroadcastMessage = {
      t: MessageType.AckBroadcast,
      n: this.id,
      q: request,
      a: ack,
      w: collector.timeoutMs,
      v,
      c,
      ...target,
    };
    const encoded = encodeMessage(message, payload);
    if (TRACING) traceOut(ALL, encoded);
    connection.publish(ALL, encoded).catch((error: unknown) => {
      const connected = this.publishFailed(error);
      collector.abort(connected ? ACK_REFUSED(describe(error)) : BROKER_DOWN, error);
    });
  }

  /** Runs `kind` on every other live server; resolves with their answers. */
  async request(kind: RequestKind, target: Target, args: unknown, timeoutMs: number): Promise<unknown[]> {
    if (this.connection === undefined || !this.connection.mayHavePeers) return [];
    if (!this.connection.up) throw new RoomsError(BROKER_DOWN);
    if (this.peers.size === 0) return [];
    return this.ask(this.connection, this.peers.keys(), ALL, kind, target, args, timeoutMs);
  }

  /** Runs `kind` on one live server (`node`) only; resolves with its answer (`undefined` when it had none or is gone). */
  async requestOne(node: string, kind: RequestKind, args: unknown, timeoutMs: number): Promise<unknown> {
    if (this.connection === undefined || !this.connection.up) throw new RoomsError(BROKER_DOWN);
    if (!this.peers.has(node)) return undefined;
    const channel = nodeChannel(node);
    const [answer] = await this.ask(this.connection, [node], channel, kind, { r: [], x: [] }, args, timeoutMs);
    return answer;
  }

  /** A request to `servers`, published on `channel`, timed into the request metrics. */
  private ask(
    connection: BrokerConnection,
    servers: Iterable<string>,
    channel: string,
    kind: RequestKind,
    target: Target,
    args: unknown,
    timeoutMs: number,
  ): Promise<unknown[]> {
    const q = ++this.requestSequence;
    const started = performance.now();
    const request = new ClusterRequest(servers, timeoutMs, () => {
      this.requests.delete(q);
      this.metrics.requestFinished(kind, (performance.now() - started) / 1000);
    });
    this.requests.set(q, request);
    const message = encodeMessage({ t: MessageType.Request, n: this.id, q, k: kind, a: args, ...target });
    if (TRACING) traceOut(channel, message);
    connection.publish(channel, message).catch((error: unknown) => {
      const connected = this.publishFailed(error);
      request.abort(connected ? REQUEST_REFUSED(describe(error)) : BROKER_DOWN, error);
    });
    return request.promise;
  }

  /** Sends a presence message to one server, or to every other one; false when the broker cannot take it. */
  sendPresence(message: PresenceMessage, node?: string): boolean {
    if (!this.canReachPeers()) return false;
    this.publish(node === undefined ? ALL : nodeChannel(node), encodeMessage(message));
    return true;
  }

  serverSideEmit(event: string, args: unknown[]): void {
    if (!this.canReachPeers()) return;
    this.publish(ALL, encodeMessage({ t: MessageType.ServerEvent, n: this.id, e: event, a: args }));
  }

  // ---- inbound ---------------------------------------------------------------------------------

  message(channel: string, buffer: Buffer): void {
    let decoded: ReturnType<typeof decodeMessage>;
    try {
      decoded = decodeMessage(buffer);
    } catch {
      return this.logger.warn('ignored a message that is not of this protocol');
    }
    const { message, payload } = decoded;
    if (!('n' in message)) return this.fromEmitter(channel, message, payload, buffer.length);
    const sender = message.n;
    if (sender === this.id) return;
    if (TRACING)
      trace('cluster in: %s from %s on %s, %d bytes', messageTypeName(message.t), sender, channel, buffer.length);
    if (message.t === MessageType.Bye) return this.peerGone(sender);
    this.heard(sender);
    switch (message.t) {
      case MessageType.Heartbeat:
        this.presence?.heartbeat(sender, message.p);
        return;
      case MessageType.PresenceDelta:
      case MessageType.PresenceSnapshot:
      case MessageType.PresenceSyncRequest:
        this.presence?.received(message);
        return;
      case MessageType.Broadcast: {
        if (payload === undefined) return;
        const { i: frame } = message;
        const key = typeof frame === 'number' ? `${sender}.${frame}` : undefined;
        this.local.deliverPayload(message, payload, flagsOf(message), key);
        return;
      }
      case MessageType.AckBroadcast:
        if (payload !== undefined) this.deliverWithAck(message, payload);
        return;
      case MessageType.Request:
        void this.answer(message);
        return;
      case MessageType.ServerEvent: {
        const { e: event, a: args } = message;
        this.local.serverEvent(event, args);
        return;
      }
      case MessageType.Response: {
        const { q: request, d: data, e: error, none } = message;
        if (error !== undefined) this.requests.get(request)?.failed(sender, error);
        else this.requests.get(request)?.respond(sender, data, none !== true);
        return;
      }
      case MessageType.AckCount: {
        const { q: request, c: sockets } = message;
        this.ackRequests.get(request)?.serverCount(sender, sockets);
        return;
      }
      case MessageType.AckAnswer: {
        const { q: request, d: answer } = message;
        this.ackRequests.get(request)?.answer(answer, sender);
        return;
      }
      case MessageType.AckForget:
        this.ackRequests.get(message.q)?.forget(sender);
        return;
    }
  }

  /** An emitter is no peer: nothing it sends makes it one, and nothing is sent back. */
  private fromEmitter(channel: string, message: EmitterMessage, payload: Buffer | undefined, bytes: number): void {
    if (TRACING) trace('cluster in: %s from an emitter on %s, %d bytes', messageTypeName(message.t), channel, bytes);
    const command = readEmitterMessage(message, payload);
    if (typeof command === 'string') return this.logger.warn(`ignored a message from an emitter: ${command}`);
    switch (command.type) {
      case 'broadcast':
        return this.local.deliverPayload(command.target, command.payload, command.flags, command.key);
      case 'request':
        try {
          this.local.answer(command.kind, command.target, command.args);
        } catch (error) {
          this.logger.warn(`an emitter's ${command.kind}: ${error instanceof Error ? error.message : String(error)}`);
        }
        return;
      case 'server-event':
        return this.local.serverEvent(command.event, command.args);
    }
  }

  peersPossible(): void {
    for (const room of this.local.roomNames()) this.roomCreated(room);
  }

  status(up: boolean): void {
    this.statusReported = true;
    if (up) {
      this.warnedDown = false;
      this.logger.log('connected to the broker');
      this.lastBeat = 0;
      this.beat();
      this.emit('broker-status', true);
      return;
    }
    this.warnDown();
    for (const request of this.requests.values()) request.abort(BROKER_DOWN);
    for (const collector of this.ackRequests.values()) collector.abort(BROKER_DOWN);
    this.emit('broker-status', false);
  }

  // ---- internals -------------------------------------------------------------------------------

  /** Announces this server (every `heartbeatInterval`) and forgets servers silent for too long. */
  private beat(): void {
    const now = Date.now();
    for (const [peer, heardAt] of this.peers) if (now - heardAt > this.broker.heartbeatTimeout) this.peerGone(peer);
    if (now - this.lastBeat < this.broker.heartbeatInterval || !this.canReachPeers()) return;
    this.lastBeat = now;
    const latestChange = this.presence?.latestChange;
    // Only a server that has tracked presence says so: others' heartbeats stay as they were.
    const p = latestChange === undefined || latestChange === 0 ? undefined : latestChange;
    this.publish(ALL, encodeMessage({ t: MessageType.Heartbeat, n: this.id, p }));
  }

  private heard(node: string): void {
    const known = this.peers.has(node);
    this.peers.set(node, Date.now());
    if (known) return;
    // A newcomer learns of this server at once instead of at its next heartbeat.
    this.publish(nodeChannel(node), encodeMessage({ t: MessageType.Heartbeat, n: this.id }));
    this.emit('peer-up', node);
  }

  private peerGone(node: string): void {
    if (!this.peers.delete(node)) return;
    for (const request of this.requests.values()) request.serverGone(node);
    for (const collector of this.ackRequests.values()) collector.serverGone(node);
    this.emit('peer-down', node);
  }

  private deliverWithAck(message: AckBroadcastMessage, payload: Buffer): void {
    const { n: origin, q, a: ack, w: timeoutMs } = message;
    const reply = (reply: ClusterMessage) => this.publish(nodeChannel(origin), encodeMessage(reply));
    const sink = new RemoteAck(
      (answer) => reply({ t: MessageType.AckAnswer, n: this.id, q, d: answer }),
      () => reply({ t: MessageType.AckForget, n: this.id, q }),
    );
    const delivery = this.local.deliverWithAck(message, encodePayload(payload), flagsOf(message), ack, sink);
    reply({ t: MessageType.AckCount, n: this.id, q, c: delivery.count });
    // A request without a usable timeout (another version's) is forgotten after this server's default.
    const usable = typeof timeoutMs === 'number' && timeoutMs >= 0;
    sink.start(delivery, usable ? timeoutMs : this.broker.requestTimeout);
  }

  private async answer(message: RequestMessage): Promise<void> {
    const { n: origin, q, k: kind, a: args } = message;
    const t = MessageType.Response;
    let reply: Buffer;
    try {
      const data = await this.local.answer(kind, message, args);
      reply = encodeMessage(data === NO_ANSWER ? { t, n: this.id, q, none: true } : { t, n: this.id, q, d: data });
    } catch (error) {
      reply = encodeMessage({ t, n: this.id, q, e: error instanceof Error ? error.message : String(error) });
    }
    this.publish(nodeChannel(origin), reply);
  }

  private canReachPeers(): boolean {
    const connection = this.connection;
    if (connection === undefined || !connection.mayHavePeers) return false;
    if (!connection.up) this.warnDown();
    return connection.up;
  }

  private publish(channel: string, message: Buffer): void {
    if (TRACING) traceOut(channel, message);
    this.connection?.publish(channel, message).catch((error: unknown) => this.publishFailed(error));
  }

  /**
   * A publish the broker rejected. While it is down, that is the outage (warned of once). While
   * it is connected, the broker refused this message (too large, not permitted...): said as it
   * is, with its cause, at most once per `REFUSAL_WARNING_INTERVAL`; no outage is assumed, so
   * none is hidden. Returns whether the broker is connected.
   */
  private publishFailed(error: unknown): boolean {
    const connection = this.connection;
    if (connection === undefined) return false;
    if (!connection.up) {
      this.warnDown();
      return false;
    }
    const now = performance.now();
    if (now - this.lastRefusalWarning < REFUSAL_WARNING_INTERVAL) {
      this.unwarnedRefusals++;
      return true;
    }
    this.logger.warn(PUBLISH_REFUSED(describe(error), this.unwarnedRefusals));
    this.lastRefusalWarning = now;
    this.unwarnedRefusals = 0;
    return true;
  }

  /**
   * A transport that connects asynchronously is down for a moment at every start: only one that
   * is still down after a grace period, and has said nothing of its status meanwhile, is worth a
   * warning (one that came up and went down again has had its outage reported already).
   */
  private warnIfStillDown(): void {
    this.startingUp = true;
    const check = setTimeout(() => {
      this.startingUp = false;
      if (this.connection === undefined || this.connection.up || this.statusReported) return;
      this.status(false);
    }, STARTUP_GRACE);
    check.unref();
  }

  /** One warning per outage, not one per broadcast; the next outage warns again. */
  private warnDown(): void {
    if (this.warnedDown || (this.startingUp && !this.statusReported)) return;
    this.warnedDown = true;
    this.logger.warn('the broker is not connected: other servers are out of reach until it is back');
  }
}

/** A message on its way out, in the trace; decoded again only when tracing. */
function traceOut(channel: string, buffer: Buffer): void {
  const { message } = decodeMessage(buffer);
  trace('cluster out: %s to %s, %d bytes', messageTypeName(message.t), channel, buffer.length);
}

/** What a broker rejected with, for a log line or an error message. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** How a broadcast from another server is written here. */
function flagsOf(message: { v: boolean; c: boolean }): WriteFlags {
  return { volatile: message.v, compress: message.c };
}
