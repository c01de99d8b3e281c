import { Injectable } from '@nestjs/common';
import type { BroadcastOperator } from './broadcast/broadcast-operator.js';
import type { DefaultEvents, EventArgs, EventName, EventsMap } from './broadcast/typed-events.js';
import { serializeEvent } from './broadcast/frame.js';
import type { ServerEventHandler } from './cluster/server-events.js';
import type { RoomEvents } from './registry/room-registry.js';
import { RoomsServer } from './rooms.server.js';
import type { RemoteSocket } from './socket/remote-socket.js';

/**
 * Rooms from anywhere in the app: controllers, queues, cron jobs. Every method acts on every
 * socket unless narrowed with `to`/`in`/`except`.
 */
/** Server events target servers, not sockets. */
const NOBODY = { r: [], x: [] };

@Injectable()
export class RoomService<Events extends EventsMap = DefaultEvents> {
  constructor(private readonly server: RoomsServer) {}

  to(rooms: string | readonly string[]): BroadcastOperator<Events> {
    return this.operator().to(rooms);
  }

  in(rooms: string | readonly string[]): BroadcastOperator<Events> {
    return this.operator().in(rooms);
  }

  except(rooms: string | readonly string[]): BroadcastOperator<Events> {
    return this.operator().except(rooms);
  }

  get local(): BroadcastOperator<Events> {
    return this.operator().local;
  }

  get volatile(): BroadcastOperator<Events> {
    return this.operator().volatile;
  }

  compress(compress: boolean): BroadcastOperator<Events> {
    return this.operator().compress(compress);
  }

  timeout(ms: number): BroadcastOperator<Events> {
    return this.operator().timeout(ms);
  }

  emit<E extends EventName<Events>>(event: E, ...args: EventArgs<Events, E>): true {
    return this.operator().emit(event, ...args);
  }

  emitWithAck<E extends EventName<Events>>(event: E, ...args: EventArgs<Events, E>): Promise<unknown[]> {
    return this.operator().emitWithAck(event, ...args);
  }

  fetchSockets(): Promise<RemoteSocket<Events>[]> {
    return this.operator().fetchSockets();
  }

  count(): Promise<number> {
    return this.operator().count();
  }

  socketsJoin(rooms: string | readonly string[]): Promise<void> {
    return this.operator().socketsJoin(rooms);
  }

  socketsLeave(rooms: string | readonly string[]): Promise<void> {
    return this.operator().socketsLeave(rooms);
  }

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
    return this.server.cluster.request('server-event', NOBODY, [event, args], this.server.broker.requestTimeout);
  }

  /** Handles other servers' `serverSideEmit(event)`; returns the function that unsubscribes. */
  onServerEvent(event: string, handler: ServerEventHandler): () => void {
    return this.server.serverEvents.on(event, handler);
  }

  /** Every room of the cluster, without the sockets' own id rooms. */
  allRooms(): Promise<Set<string>> {
    return this.operator().allRooms();
  }

  private operator(): BroadcastOperator<Events> {
    return this.server.operator() as BroadcastOperator<Events>;
  }

  /** Room lifecycle events of this server: `create-room`, `join-room`, `leave-room`, `delete-room`. */
  on<E extends keyof RoomEvents>(name: E, listener: (...args: RoomEvents[E]) => void): this {
    this.server.registry.on(name, listener as never);
    return this;
  }

  off<E extends keyof RoomEvents>(name: E, listener: (...args: RoomEvents[E]) => void): this {
    this.server.registry.off(name, listener as never);
    return this;
  }
}
