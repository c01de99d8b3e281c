import { Injectable } from '@nestjs/common';
import type { BroadcastOperator } from './broadcast/broadcast-operator.js';
import type { DefaultEvents, EventArgs, EventName, EventsMap } from './broadcast/typed-events.js';
import { serializeEvent } from './broadcast/frame.js';
import type { Target } from './broadcast/target.js';
import type { ServerEventHandler } from './cluster/server-events.js';
import type { PresenceEvents } from './presence/presence-replication.js';
import type { PresenceEntries } from './presence/presence.types.js';
import type { RoomsMetricsSnapshot } from './metrics/rooms-metrics.js';
import type { RoomEvents } from './registry/room-registry.js';
import { RoomsServer } from './rooms.server.js';
import type { RemoteSocket } from './socket/remote-socket.js';

/**
 * Server events go to servers, not sockets: every request carries a target, and theirs is ignored
 * (this one, empty, would select every socket by the target rule).
 */
const IGNORED_TARGET: Target = { r: [], x: [] };

/** The events of {@link RoomService.on}: this server's room lifecycle, and presence. */
export type ServiceEvents = RoomEvents & PresenceEvents;

/**
 * Rooms from anywhere in the app: controllers, queues, cron jobs. Every method acts on every
 * socket of every server unless narrowed with `to`/`in`/`except` or limited with `local`.
 * `Events` optionally types event names and payloads (see {@link EventsMap}).
 */
@Injectable()
export class RoomService<Events extends EventsMap = DefaultEvents> {
  /** @internal Nest injects it. */
  constructor(private readonly server: RoomsServer) {}

  /** Targets the members of `rooms` (a union: each socket once). */
  to(rooms: string | readonly string[]): BroadcastOperator<Events> {
    return this.operator().to(rooms);
  }

  /** The same as {@link to}. */
  in(rooms: string | readonly string[]): BroadcastOperator<Events> {
    return this.operator().in(rooms);
  }

  /** Every socket but the members of `rooms` (a socket id leaves out that socket). */
  except(rooms: string | readonly string[]): BroadcastOperator<Events> {
    return this.operator().except(rooms);
  }

  /** This server's sockets only. */
  get local(): BroadcastOperator<Events> {
    return this.operator().local;
  }

  /** May be dropped for a socket whose connection cannot take it now. */
  get volatile(): BroadcastOperator<Events> {
    return this.operator().volatile;
  }

  /** Per-message deflate where the socket negotiated it (default `true`). */
  compress(compress: boolean): BroadcastOperator<Events> {
    return this.operator().compress(compress);
  }

  /** How long acks and cluster requests wait, in milliseconds. */
  timeout(ms: number): BroadcastOperator<Events> {
    return this.operator().timeout(ms);
  }

  /** Sends `{event, data}` to every socket once; see {@link BroadcastOperator.emit}. */
  emit<E extends EventName<Events>>(event: E, ...args: EventArgs<Events, E>): true {
    return this.operator().emit(event, ...args);
  }

  /** Sends `{event, data, ack}` to every socket and gathers the answers; see {@link BroadcastOperator.emitWithAck}. */
  emitWithAck<E extends EventName<Events>>(event: E, ...args: EventArgs<Events, E>): Promise<unknown[]> {
    return this.operator().emitWithAck(event, ...args);
  }

  /** Every socket of the cluster, as {@link RemoteSocket}s. */
  fetchSockets(): Promise<RemoteSocket<Events>[]> {
    return this.operator().fetchSockets();
  }

  /** How many sockets the cluster has. */
  count(): Promise<number> {
    return this.operator().count();
  }

  /** Every socket joins `rooms`; see {@link BroadcastOperator.socketsJoin}. */
  socketsJoin(rooms: string | readonly string[]): Promise<void> {
    return this.operator().socketsJoin(rooms);
  }

  /** Every socket leaves `rooms`. */
  socketsLeave(rooms: string | readonly string[]): Promise<void> {
    return this.operator().socketsLeave(rooms);
  }

  /** Disconnects every socket: a close frame (1000), or with `close = true` the connection is cut. */
  disconnectSockets(close = false): Promise<void> {
    return this.operator().disconnectSockets(close);
  }

  /** Calls `@OnServerEvent(event)` handlers of every other server with exactly `args`; never this one's. */
  serverSideEmit(event: string, ...args: unknown[]): true {
    serializeEvent(event, args);
    this.server.cluster.serverSideEmit(event, args);
    return true;
  }

  /**
   * Like `serverSideEmit`; resolves with one answer per other server that has a handler (its
   * first handler's awaited return value): `[]` on a single server.
   */
  async serverSideEmitWithAck(event: string, ...args: unknown[]): Promise<unknown[]> {
    serializeEvent(event, args);
    return this.server.cluster.request(
      'server-event',
      IGNORED_TARGET,
      [event, args],
      this.server.broker.requestTimeout,
    );
  }

  /** Handles other servers' `serverSideEmit(event)`; returns the function that unsubscribes. */
  onServerEvent(event: string, handler: ServerEventHandler): () => void {
    return this.server.serverEvents.on(event, handler);
  }

  /** Every room of the cluster, without the sockets' own id rooms. */
  allRooms(): Promise<Set<string>> {
    return this.operator().allRooms();
  }

  /**
   * This server's figures now, as plain numbers (this server's own, except `clusterServers`).
   * Counting costs the paths that run anyway an increment; reading is this call, at scrape time
   * (`registerRoomsMetrics` from `nestjs-rooms/prometheus`, `observeRoomsMetrics` from `nestjs-rooms/otel`).
   */
  metrics(): RoomsMetricsSnapshot {
    return this.server.metrics();
  }

  private operator(): BroadcastOperator<Events> {
    return this.server.operator() as BroadcastOperator<Events>;
  }

  /**
   * Who is tracked in `room` on every server (`socket.track`), from this server's memory: each key
   * with its sockets' entries, as a null-prototype object (`{}` when nobody is).
   */
  presence(room: string): PresenceEntries {
    return this.server.presence.read(room);
  }

  /**
   * Room lifecycle events of this server: `create-room`, `join-room`, `leave-room`, `delete-room`;
   * and `presence` `(room, { joins, leaves })` for every presence change anywhere in the cluster.
   */
  on<E extends keyof ServiceEvents>(name: E, listener: (...args: ServiceEvents[E]) => void): this {
    if (name === 'presence') this.server.presence.on('presence', listener as never);
    else this.server.registry.on(name as keyof RoomEvents, listener as never);
    return this;
  }

  /** Removes a listener added with {@link on}. */
  off<E extends keyof ServiceEvents>(name: E, listener: (...args: ServiceEvents[E]) => void): this {
    if (name === 'presence') this.server.presence.off('presence', listener as never);
    else this.server.registry.off(name as keyof RoomEvents, listener as never);
    return this;
  }
}
