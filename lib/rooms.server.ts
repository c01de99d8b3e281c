import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { AckSink } from './broadcast/ack-sink.js';
import type { AckDelivery } from './broadcast/ack-delivery.js';
import { BroadcastOperator, DEFAULT_FLAGS, type OperatorHost } from './broadcast/broadcast-operator.js';
import type { EncodedEvent, WriteFlags } from './broadcast/frame.js';
import { LocalDelivery } from './broadcast/local-delivery.js';
import type { RequestKind, Target } from './broadcast/target.js';
import type { Broker } from './cluster/broker.js';
import { ClusterNode, NO_ANSWER, NOTHING_TO_WAIT_FOR, type LocalServer } from './cluster/cluster-node.js';
import { InMemoryBroker } from './cluster/in-memory-broker.js';
import { Origin } from './metrics/metric-labels.js';
import { RoomsMetrics, type RoomsMetricsSnapshot } from './metrics/rooms-metrics.js';
import { ServerEvents } from './cluster/server-events.js';
import { checkPresence } from './presence/presence-limits.js';
import { Presence } from './presence/presence-replication.js';
import { isValidRoomName, looksLikeSocketId } from './registry/room-names.js';
import { RoomRegistry } from './registry/room-registry.js';
import { isIn, isInOwnRoom, roomCountOf } from './registry/member-rooms.js';
import { ConnectionRecovery } from './recovery/recovery.js';
import { HeldRooms } from './recovery/held-rooms.js';
import { SessionTransfer } from './recovery/session-transfer.js';
import {
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_DISCONNECTION,
  DEFAULT_MAX_ROOM_NAME_LENGTH,
  DEFAULT_MAX_ROOMS_PER_SOCKET,
  DEFAULT_PRESENCE_MAX_META_BYTES,
} from './rooms.constants.js';
import { RoomsError } from './rooms.error.js';
import {
  INVALID_RECOVERY,
  INVALID_ROOM_NAME,
  JOIN_REFUSED,
  PRIVATE_PRESENCE_ROOM,
  PRIVATE_ROOM,
  ROOM_LIMIT,
} from './rooms.messages.js';
import type { RecoveryOptions, RoomsModuleOptions } from './rooms.options.js';
import { trace, TRACING } from './rooms.trace.js';
import { DisconnectHooks } from './socket/disconnect-hooks.js';
import { snapshotOf } from './socket/remote-socket.js';
import type { DisconnectReason, RoomSocket, SocketHost } from './socket/room-socket.js';

/** Runs a synchronous check-and-apply; its refusal becomes a rejected promise rather than a throw. */
function refusalOf(apply: () => void): Promise<never> | undefined {
  try {
    apply();
    return undefined;
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/** Sessions wait after these only: a drop, or the server stopping (which hands them over), not a server's decision. */
function waits(reason: DisconnectReason): boolean {
  return reason === 'transport close' || reason === 'ping timeout' || reason === 'server shutting down';
}

function positive(value: number): boolean {
  return typeof value === 'number' && value > 0 && Number.isFinite(value);
}

/** Recovery's two limits, checked once at start-up. */
function recoveryLimits(options: RecoveryOptions): { maxDisconnection: number; maxBufferedBytes: number } {
  const { maxDisconnection = DEFAULT_MAX_DISCONNECTION, maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES } = options;
  if (!positive(maxDisconnection) || !positive(maxBufferedBytes)) throw new Error(INVALID_RECOVERY);
  return { maxDisconnection, maxBufferedBytes };
}

/** A list of sockets in a trace line: one by its id, more by their number. */
function socketsOf(sockets: readonly RoomSocket[]): string {
  return sockets.length === 1 ? `socket ${sockets[0].id}` : `${sockets.length} sockets`;
}

/**
 * One app's rooms, composed: the registry, delivery on this server, the cluster node, disconnect
 * hooks and server events, wired to each other here; and the membership rules (names, limits,
 * `canJoin`) that every join and leave passes. The service, the operators, the sockets and the
 * adapter act through it, and so do the other servers of the cluster (it is the cluster's
 * `LocalServer`). It is the only writer of the registry.
 */
export class RoomsServer implements LocalServer, OperatorHost, SocketHost, OnModuleInit, OnApplicationShutdown {
  readonly registry: RoomRegistry<RoomSocket>;
  readonly delivery: LocalDelivery<RoomSocket>;
  readonly serverEvents = new ServerEvents();
  readonly hooks = new DisconnectHooks();
  readonly cluster: ClusterNode;
  /** Connection recovery, when the options turn it on. */
  readonly recovery: ConnectionRecovery | undefined;
  /** How sessions move between servers, when recovery is on. */
  readonly transfer: SessionTransfer | undefined;
  readonly presence: Presence;
  private readonly maxMetaBytes: number;
  /** What the adapter, the write path, delivery and the cluster count into. */
  readonly counters = new RoomsMetrics();
  private readonly maxRoomsPerSocket: number;
  private readonly maxRoomNameLength: number;
  private readonly canJoin: RoomsModuleOptions['canJoin'];
  private readonly logger = new Logger('RoomsServer');

  constructor(options: RoomsModuleOptions = {}) {
    this.maxRoomsPerSocket = options.maxRoomsPerSocket ?? DEFAULT_MAX_ROOMS_PER_SOCKET;
    this.maxRoomNameLength = options.maxRoomNameLength ?? DEFAULT_MAX_ROOM_NAME_LENGTH;
    this.canJoin = options.canJoin;
    this.cluster = new ClusterNode(options.broker ?? new InMemoryBroker(), this, this.counters);
    this.presence = new Presence(this.cluster);
    this.maxMetaBytes = options.presence?.maxMetaBytes ?? DEFAULT_PRESENCE_MAX_META_BYTES;
    if (options.recovery === undefined) {
      this.registry = new RoomRegistry(this.cluster);
      this.delivery = new LocalDelivery(this.registry, this.counters);
      return;
    }
    const { maxDisconnection, maxBufferedBytes } = recoveryLimits(options.recovery);
    const held = new HeldRooms(this.cluster, (room) => this.registry.hasRoom(room));
    this.registry = new RoomRegistry(held);
    this.recovery = new ConnectionRecovery(maxDisconnection, maxBufferedBytes, held);
    this.transfer = new SessionTransfer(this.recovery, this.cluster);
    this.delivery = new LocalDelivery(this.registry, this.counters, this.recovery, this.cluster.id);
  }

  /** This server's figures now (`rooms.metrics()`). */
  metrics(): RoomsMetricsSnapshot {
    return this.counters.snapshot({
      rooms: this.registry.namedRoomCount,
      clusterServers: this.cluster.peerCount + 1,
      brokerUp: this.cluster.brokerUp,
      presenceEntries: this.presence.ownEntryCount,
    });
  }

  get broker(): Broker {
    return this.cluster.broker;
  }

  /** A broadcast operator that targets every socket. */
  operator(): BroadcastOperator {
    return new BroadcastOperator(this, [], [], DEFAULT_FLAGS);
  }

  onModuleInit(): void {
    this.cluster.start();
  }

  /** After the adapter has closed every socket: their sessions, and those already waiting, go to a live peer first. */
  async onApplicationShutdown(): Promise<void> {
    await this.transfer?.handOver();
    this.recovery?.close();
    await this.cluster.close();
  }

  // ---- connection lifecycle ------------------------------------------------------------------

  /**
   * A new socket joins its own id room; from here on it can be targeted. With recovery on it may
   * take over a waiting session first: its id and data, then its rooms, then its missed frames,
   * all before any other frame can reach it.
   */
  /**
   * An upgrade `authenticate` admitted, before its socket exists: with recovery on, the session
   * its client names moves here from whichever server holds it.
   */
  beforeConnect(url: string): Promise<void> | undefined {
    return this.transfer?.fetch(url);
  }

  connected(socket: RoomSocket): void {
    socket.server = this;
    const { recovery } = this;
    if (recovery === undefined) return this.registry.add(socket);
    const claim = recovery.claim(socket);
    this.registry.add(socket);
    if (claim.session !== undefined) this.registry.join(socket, claim.session.rooms);
    recovery.welcome(socket, claim);
    // After the session frame and the replay: presence listeners may broadcast to its rooms.
    if (claim.session !== undefined) this.presence.restore(claim.session.presence);
  }

  /**
   * A socket closed: disconnecting hooks -> leave every room -> disconnect hooks -> `done` (the
   * gateways' handleDisconnect). A dropped socket's session starts waiting as it leaves, rooms
   * intact; `clean`: its client answered the close frame, so it read every frame before it.
   */
  closed(socket: RoomSocket, reason: DisconnectReason, done?: () => void, clean = false): void {
    if (socket.gone) return;
    socket.gone = true;
    const { recovery } = this;
    const leave =
      recovery !== undefined && waits(reason)
        ? () => {
            recovery.hold(socket, this.presence.entriesOf(socket.id), clean);
            this.removeSocket(socket);
          }
        : () => {
            recovery?.forget(socket);
            this.removeSocket(socket);
          };
    this.hooks.run(socket, reason, leave, done);
  }

  /** Drops a socket the app never served: no hooks run. */
  dropUnserved(socket: RoomSocket): void {
    socket.gone = true;
    this.recovery?.forget(socket);
    this.removeSocket(socket);
  }

  /** Out of every room and the registry; the requests still waiting for its acks stop waiting. */
  private removeSocket(socket: RoomSocket): void {
    this.presence.untrackAll(socket.id);
    this.registry.remove(socket);
    this.delivery.abandonAcks(socket);
  }

  // ---- membership ----------------------------------------------------------------------------

  /**
   * Server-side join: names and limits are checked, all or nothing; a gone socket is left alone.
   * Resolves once broadcasts to those rooms from any server reach this one. One room (the common
   * case, and the one join+leave churn hits) takes a path that allocates nothing.
   */
  join(socket: RoomSocket, rooms: string | readonly string[]): Promise<void> {
    if (typeof rooms !== 'string')
      return refusalOf(() => this.joinAll([socket], rooms)) ?? this.cluster.subscribed(rooms);
    if (!isValidRoomName(rooms, this.maxRoomNameLength)) return Promise.reject(this.invalidName());
    if (this.overLimit(socket, rooms)) return Promise.reject(this.roomLimit());
    if (TRACING) trace('join: socket %s, room %j', socket.id, rooms);
    if (!socket.gone) this.registry.joinRoom(socket, rooms);
    return this.cluster.subscribedTo(rooms);
  }

  leave(socket: RoomSocket, rooms: string | readonly string[]): Promise<void> {
    if (typeof rooms !== 'string') return refusalOf(() => this.leaveAll([socket], rooms)) ?? NOTHING_TO_WAIT_FOR;
    if (!isValidRoomName(rooms, this.maxRoomNameLength)) return Promise.reject(this.invalidName());
    if (TRACING) trace('leave: socket %s, room %j', socket.id, rooms);
    if (socket.gone) return NOTHING_TO_WAIT_FOR;
    this.registry.leaveRoom(socket, rooms);
    this.presence.untrack(socket.id, rooms);
    return NOTHING_TO_WAIT_FOR;
  }

  /** Every socket joins every room, or, when any would be refused, none does. */
  joinAll(sockets: readonly RoomSocket[], rooms: readonly string[]): void {
    this.checkNames(rooms);
    // Repeats are dropped once here rather than counted again for every socket.
    if (sockets.length > 1 && rooms.length > 1) rooms = [...new Set(rooms)];
    for (const socket of sockets) this.checkCapacity(socket, rooms);
    if (TRACING) trace('join: %s, rooms %j', socketsOf(sockets), rooms);
    for (const socket of sockets) if (!socket.gone) this.registry.join(socket, rooms);
  }

  leaveAll(sockets: readonly RoomSocket[], rooms: readonly string[]): void {
    this.checkNames(rooms);
    if (TRACING) trace('leave: %s, rooms %j', socketsOf(sockets), rooms);
    for (const socket of sockets) {
      if (socket.gone) continue;
      this.registry.leave(socket, rooms);
      for (const room of rooms) this.presence.untrack(socket.id, room);
    }
  }

  // ---- presence ------------------------------------------------------------------------------

  /**
   * Joins `room` and tracks the socket there; every check (key, meta, room name, socket id rooms,
   * the room limit) runs before anything changes. A gone socket is left alone.
   */
  track(socket: RoomSocket, room: string, key: string, meta?: unknown): Promise<void> {
    let checked: ReturnType<typeof checkPresence>;
    try {
      checked = checkPresence(key, meta, this.maxMetaBytes);
      if (!isValidRoomName(room, this.maxRoomNameLength)) throw this.invalidName();
      // A socket id room holds one socket: presence there would only let a caller pass as another socket.
      if (looksLikeSocketId(room)) throw new RoomsError(PRIVATE_PRESENCE_ROOM);
      if (this.overLimit(socket, room)) throw this.roomLimit();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (socket.gone) return NOTHING_TO_WAIT_FOR;
    if (TRACING) trace('track: socket %s, room %j, key %j', socket.id, room, key);
    this.registry.joinRoom(socket, room);
    this.presence.track(socket.id, room, checked);
    return this.cluster.subscribedTo(room);
  }

  untrack(socket: RoomSocket, room: string): Promise<void> {
    if (!isValidRoomName(room, this.maxRoomNameLength)) return Promise.reject(this.invalidName());
    this.presence.untrack(socket.id, room);
    return NOTHING_TO_WAIT_FOR;
  }

  /** What a decorator-driven join must pass, checked before the handler runs. */
  async checkClientJoin(socket: RoomSocket, rooms: readonly string[]): Promise<void> {
    this.checkClientRooms(rooms);
    this.checkCapacity(socket, rooms);
    if (this.canJoin === undefined) return;
    // Asked once per room, however often the list names it.
    for (const room of rooms.length > 1 ? new Set(rooms) : rooms) {
      if (!(await this.canJoin(socket, room))) throw new RoomsError(JOIN_REFUSED(room));
    }
  }

  /** Names a client may ask for: valid, and never shaped like a socket id. */
  checkClientRooms(rooms: readonly string[]): void {
    this.checkNames(rooms);
    if (rooms.some(looksLikeSocketId)) throw new RoomsError(PRIVATE_ROOM);
  }

  checkNames(rooms: readonly unknown[]): asserts rooms is readonly string[] {
    if (!Array.isArray(rooms) || !rooms.every((room) => isValidRoomName(room, this.maxRoomNameLength))) {
      throw this.invalidName();
    }
  }

  private invalidName(): RoomsError {
    return new RoomsError(INVALID_ROOM_NAME(this.maxRoomNameLength));
  }

  private roomLimit(): RoomsError {
    return new RoomsError(ROOM_LIMIT(this.maxRoomsPerSocket));
  }

  /**
   * Whether joining `rooms` would take the socket past `maxRoomsPerSocket`: rooms it is in other
   * than its own id room (whether or not server code took it out of that one), plus the new ones.
   * A list may repeat names, so its length alone never refuses it; the count stops at the first
   * new room past the limit, so a list of any length costs at most one pass and usually far less.
   */
  private overLimit(socket: RoomSocket, rooms: string | readonly string[]): boolean {
    const max = this.maxRoomsPerSocket;
    const size = roomCountOf(socket);
    // Far from the limit (nearly always) nothing needs a lookup.
    if (size + (typeof rooms === 'string' ? 1 : rooms.length) <= max) return false;
    let count = isInOwnRoom(socket) ? size - 1 : size;
    if (typeof rooms === 'string') return rooms !== socket.id && !isIn(socket, rooms) && count + 1 > max;
    const counted = new Set<string>();
    for (const room of rooms) {
      if (room === socket.id || isIn(socket, room) || counted.has(room)) continue;
      if (++count > max) return true;
      counted.add(room);
    }
    return false;
  }

  private checkCapacity(socket: RoomSocket, rooms: readonly string[]): void {
    if (this.overLimit(socket, rooms)) throw this.roomLimit();
  }

  // ---- delivery on this server, as the sockets and the cluster reach it ----------------------

  /** Another server's broadcast (this server's own go from the operator to `delivery`). */
  deliverPayload(target: Target, payload: Buffer, flags: WriteFlags, key?: string): void {
    this.delivery.deliverPayload(target, payload, flags, Origin.Remote, key);
  }

  deliverWithAck(target: Target, encoded: EncodedEvent, flags: WriteFlags, ack: number, sink: AckSink): AckDelivery {
    return this.delivery.deliverWithAck(target, encoded, flags, ack, sink, Origin.Remote);
  }

  /** A socket's `{"ack": n, "data"}`; false when it answers nothing pending. */
  answerAck(socket: RoomSocket, ack: unknown, data: unknown): boolean {
    return this.delivery.answerAck(socket, ack, data);
  }

  sendTo(socket: RoomSocket, event: string, data: unknown): void {
    this.delivery.sendTo(socket, event, data);
  }

  // ---- what other servers ask of this one ----------------------------------------------------

  answer(kind: RequestKind, target: Target, args: unknown): unknown {
    const sockets = () => this.delivery.select(target);
    switch (kind) {
      case 'fetch':
        return sockets().map(snapshotOf);
      case 'count':
        return this.delivery.count(target);
      case 'rooms':
        return [...this.roomNames()];
      case 'join':
        this.joinAll(sockets(), args as string[]);
        // Answered once this server hears those rooms: the asker's socketsJoin promises that broadcasts reach them.
        return this.cluster.subscribed(args as string[]);
      case 'leave':
        return this.leaveAll(sockets(), args as string[]);
      case 'disconnect':
        for (const socket of sockets()) socket.disconnect(args === true);
        return;
      case 'server-event': {
        const [event, eventArgs] = args as [string, unknown[]];
        return this.serverEvents.dispatch(event, eventArgs) ?? NO_ANSWER;
      }
      case 'session':
        return this.transfer === undefined ? NO_ANSWER : this.transfer.answer(args);
    }
  }

  roomNames(): Set<string> {
    return this.delivery.roomNames();
  }

  serverEvent(event: string, args: unknown[]): void {
    this.serverEvents.dispatch(event, args)?.catch((error: unknown) => this.logger.error(error));
  }
}
