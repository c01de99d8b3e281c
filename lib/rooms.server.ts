import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { AckCollector } from './broadcast/ack-collector.js';
import { BroadcastOperator, DEFAULT_FLAGS, type BroadcastFlags } from './broadcast/broadcast-operator.js';
import { encodeEvent, writeEvent, type EncodedEvent } from './broadcast/frame.js';
import { InMemoryBroker, type Broker } from './cluster/broker.js';
import { ServerEvents } from './cluster/server-events.js';
import { isValidRoomName, looksLikeSocketId } from './registry/room-names.js';
import { RoomRegistry } from './registry/room-registry.js';
import { DEFAULT_MAX_ROOM_NAME_LENGTH, DEFAULT_MAX_ROOMS_PER_SOCKET } from './rooms.constants.js';
import { RoomsError } from './rooms.error.js';
import { INVALID_ROOM_NAME, JOIN_REFUSED, PRIVATE_ROOM, ROOM_LIMIT } from './rooms.messages.js';
import type { RoomsModuleOptions } from './rooms.options.js';
import type { DisconnectReason, RoomSocket } from './socket/room-socket.js';

export type DisconnectHook = (socket: RoomSocket, rooms: ReadonlySet<string>, reason: DisconnectReason) => unknown;
/** A hook on a request-scoped provider: its method is resolved for each socket before the hooks run. */
export interface ScopedDisconnectHook {
  readonly resolve: (socket: RoomSocket) => Promise<DisconnectHook>;
}
type AnyDisconnectHook = DisconnectHook | ScopedDisconnectHook;

/**
 * One app's rooms: its sockets, what they are in, and everything done to them. The service, the
 * operators, the sockets and the adapter all act through it; it is the only writer of the registry.
 */
export class RoomsServer implements OnApplicationShutdown {
  readonly registry = new RoomRegistry<RoomSocket>();
  readonly broker: Broker;
  readonly serverEvents = new ServerEvents();
  private readonly maxRoomsPerSocket: number;
  private readonly maxRoomNameLength: number;
  private readonly canJoin: RoomsModuleOptions['canJoin'];
  private readonly disconnectingHooks: AnyDisconnectHook[] = [];
  private readonly disconnectHooks: AnyDisconnectHook[] = [];
  private hasScopedHooks = false;
  private readonly logger = new Logger('RoomsServer');
  private ackSequence = 0;

  constructor(options: RoomsModuleOptions = {}) {
    this.broker = options.broker ?? new InMemoryBroker();
    this.maxRoomsPerSocket = options.maxRoomsPerSocket ?? DEFAULT_MAX_ROOMS_PER_SOCKET;
    this.maxRoomNameLength = options.maxRoomNameLength ?? DEFAULT_MAX_ROOM_NAME_LENGTH;
    this.canJoin = options.canJoin;
  }

  /** A broadcast operator that targets every socket. */
  operator(): BroadcastOperator {
    return new BroadcastOperator(this, [], [], DEFAULT_FLAGS);
  }

  // ---- connection lifecycle ------------------------------------------------------------------

  /** A new socket joins its own id room; from here on it can be targeted. */
  attach(socket: RoomSocket): void {
    socket.server = this;
    this.registry.add(socket);
  }

  /**
   * The disconnecting -> leave every room -> disconnect -> `done` (the gateways' handleDisconnect)
   * order. Hooks get a snapshot of the rooms that stays intact for their async work; they are not
   * awaited and their failures are logged. When some hook lives on a request-scoped provider, its
   * instance is resolved for the socket first, so that it too runs while `socket.rooms` is intact.
   */
  detach(socket: RoomSocket, reason: DisconnectReason, done?: () => void): void {
    if (socket.gone) return;
    socket.gone = true;
    if (!this.hasScopedHooks) {
      this.leaveEverything(socket, reason, this.disconnectingHooks, this.disconnectHooks, done);
      return;
    }
    void Promise.all([
      this.resolveHooks(this.disconnectingHooks, socket),
      this.resolveHooks(this.disconnectHooks, socket),
    ]).then(([disconnecting, disconnect]) => this.leaveEverything(socket, reason, disconnecting, disconnect, done));
  }

  /** Forgets a socket the app never served: no hooks run. */
  discard(socket: RoomSocket): void {
    socket.gone = true;
    this.registry.remove(socket);
  }

  onDisconnecting(hook: AnyDisconnectHook): void {
    this.disconnectingHooks.push(hook);
    this.hasScopedHooks ||= typeof hook !== 'function';
  }

  onDisconnect(hook: AnyDisconnectHook): void {
    this.disconnectHooks.push(hook);
    this.hasScopedHooks ||= typeof hook !== 'function';
  }

  // ---- membership ----------------------------------------------------------------------------

  /** Server-side join: names and limits are checked, all or nothing; a gone socket is left alone. */
  async join(socket: RoomSocket, rooms: readonly string[]): Promise<void> {
    this.joinAll([socket], rooms);
  }

  async leave(socket: RoomSocket, rooms: readonly string[]): Promise<void> {
    this.leaveAll([socket], rooms);
  }

  /** Every socket joins every room, or, when any would be refused, none does. */
  joinAll(sockets: readonly RoomSocket[], rooms: readonly string[]): void {
    this.checkNames(rooms);
    for (const socket of sockets) this.checkCapacity(socket, rooms);
    for (const socket of sockets) if (!socket.gone) this.registry.join(socket, rooms);
  }

  leaveAll(sockets: readonly RoomSocket[], rooms: readonly string[]): void {
    this.checkNames(rooms);
    for (const socket of sockets) if (!socket.gone) this.registry.leave(socket, rooms);
  }

  /** What a decorator-driven join must pass, checked before the handler runs. */
  async checkClientJoin(socket: RoomSocket, rooms: readonly string[]): Promise<void> {
    this.checkClientRooms(rooms);
    this.checkCapacity(socket, rooms);
    if (this.canJoin === undefined) return;
    for (const room of rooms) {
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
      throw new RoomsError(INVALID_ROOM_NAME(this.maxRoomNameLength));
    }
  }

  private checkCapacity(socket: RoomSocket, rooms: readonly string[]): void {
    const current = socket.roomSet;
    let added = 0;
    for (let i = 0; i < rooms.length; i++) {
      if (!current.has(rooms[i]) && rooms.indexOf(rooms[i]) === i) added++;
    }
    if (current.size - 1 + added > this.maxRoomsPerSocket) throw new RoomsError(ROOM_LIMIT(this.maxRoomsPerSocket));
  }

  // ---- delivery ------------------------------------------------------------------------------

  /** The hot path: one encoded event written to every selected socket of this server. */
  deliver(rooms: readonly string[], except: readonly string[], encoded: EncodedEvent, flags: BroadcastFlags): void {
    this.registry.forEachTarget(rooms, except, (socket) => writeEvent(socket, encoded, flags, socket.deflate));
  }

  /** Sends to this server's selected sockets and gathers one answer from each. */
  deliverWithAck(
    rooms: readonly string[],
    except: readonly string[],
    event: string,
    data: unknown,
    flags: BroadcastFlags,
  ): Promise<unknown[]> {
    const ack = ++this.ackSequence;
    const encoded = encodeEvent(event, data, ack);
    const collector = new AckCollector(flags.timeout ?? this.broker.requestTimeout);
    for (const socket of this.registry.select(rooms, except)) {
      if (!writeEvent(socket, encoded, flags, socket.deflate)) continue;
      (socket.pendingAcks ??= new Map()).set(ack, collector);
      collector.expect();
    }
    collector.seal();
    return collector.promise;
  }

  /** A socket's `{"ack": n, "data"}`; false when it answers nothing pending. */
  answerAck(socket: RoomSocket, ack: unknown, data: unknown): boolean {
    const collector = typeof ack === 'number' ? socket.pendingAcks?.get(ack) : undefined;
    if (collector === undefined) return false;
    socket.pendingAcks!.delete(ack as number);
    collector.answer(data);
    return true;
  }

  sendTo(socket: RoomSocket, event: string, data: unknown): void {
    writeEvent(socket, encodeEvent(event, data), DEFAULT_FLAGS, socket.deflate);
  }

  // ---- app lifecycle ---------------------------------------------------------------------------

  async onApplicationShutdown(): Promise<void> {
    await this.broker.close();
  }

  private leaveEverything(
    socket: RoomSocket,
    reason: DisconnectReason,
    disconnecting: ReadonlyArray<AnyDisconnectHook | undefined>,
    disconnect: ReadonlyArray<AnyDisconnectHook | undefined>,
    done: (() => void) | undefined,
  ): void {
    const rooms: ReadonlySet<string> = new Set(socket.roomSet);
    this.runHooks(disconnecting, socket, rooms, reason);
    this.registry.remove(socket);
    if (socket.pendingAcks !== undefined) {
      for (const collector of socket.pendingAcks.values()) collector.forget();
      socket.pendingAcks = undefined;
    }
    this.runHooks(disconnect, socket, rooms, reason);
    done?.();
  }

  /** Every hook as a plain function for this socket; one that cannot be resolved is logged and left out. */
  private resolveHooks(hooks: readonly AnyDisconnectHook[], socket: RoomSocket) {
    return Promise.all(
      hooks.map((hook) =>
        typeof hook === 'function'
          ? hook
          : hook.resolve(socket).catch((error: unknown) => void this.logger.error(error)),
      ),
    );
  }

  /** Runs plain hooks only: `leaveEverything`'s callers resolve scoped ones first. */
  private runHooks(
    hooks: ReadonlyArray<AnyDisconnectHook | undefined>,
    socket: RoomSocket,
    rooms: ReadonlySet<string>,
    reason: DisconnectReason,
  ) {
    for (const hook of hooks) {
      if (typeof hook !== 'function') continue;
      try {
        const result = hook(socket, rooms, reason);
        if (result instanceof Promise) result.catch((error: unknown) => this.logger.error(error));
      } catch (error) {
        this.logger.error(error);
      }
    }
  }
}
