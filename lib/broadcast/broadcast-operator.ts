import { Origin } from '../metrics/metric-labels.js';
import { RoomsError } from '../rooms.error.js';
import { INVALID_TARGET_ROOM, INVALID_TIMEOUT } from '../rooms.messages.js';
import { toRoomList } from '../registry/room-names.js';
import { trace, TRACING } from '../rooms.trace.js';
import { RemoteSocket, snapshotOf, type SnapshotSource, type SocketSnapshot } from '../socket/remote-socket.js';
import { AckCollector } from './ack-collector.js';
import { encodeEvent, serializeEvent, type EncodedEvent, type WriteFlags } from './frame.js';
import type { LocalDelivery, Recipient } from './local-delivery.js';
import type { RequestKind, Target } from './target.js';
import type { DefaultEvents, EventArgs, EventName, EventsMap } from './typed-events.js';

/** @internal How an operator acts, set by its modifiers. */
export interface BroadcastFlags {
  /** This server only. */
  readonly local: boolean;
  /** May be dropped for a socket that cannot take it now. */
  readonly volatile: boolean;
  /** Deflate where the socket negotiated it. */
  readonly compress: boolean;
  /** Milliseconds to wait for acks and cluster answers; the broker's `requestTimeout` when unset. */
  readonly timeout: number | undefined;
}

/** @internal */
export const DEFAULT_FLAGS: BroadcastFlags = { local: false, volatile: false, compress: true, timeout: undefined };

/** A socket as an operator acts on it: delivered to, snapshotted, disconnected. */
export type OperatedSocket = Recipient & SnapshotSource & { disconnect(close?: boolean): void };

/** What an operator asks of the other servers (the cluster node). */
export interface ClusterLink {
  readonly broker: { readonly requestTimeout: number };
  /** `frame`: the broadcast's number at this server, when recovery holds it. */
  broadcast(target: Target, flags: WriteFlags, payload: Buffer, frame?: number): void;
  broadcastWithAck(target: Target, flags: WriteFlags, ack: number, payload: Buffer, collector: AckCollector): void;
  /** Runs `kind` on every other live server; resolves with their answers. */
  request(kind: RequestKind, target: Target, args: unknown, timeoutMs: number): Promise<unknown[]>;
  /** Resolves once broadcasts to `rooms` from any server reach this one. */
  subscribed(rooms: readonly string[]): Promise<void>;
}

/**
 * What an operator acts through (the app's rooms implement it): delivery on this
 * server, the membership rules of its joins and leaves, and the cluster.
 */
export interface OperatorHost {
  readonly delivery: LocalDelivery<OperatedSocket>;
  readonly cluster: ClusterLink;
  /** Every socket joins every room, or, when any would be refused, none does (throws). */
  joinAll(sockets: readonly OperatedSocket[], rooms: readonly string[]): void;
  leaveAll(sockets: readonly OperatedSocket[], rooms: readonly string[]): void;
}

function addRooms(current: readonly string[], added: string | readonly string[]): readonly string[] {
  const list = toRoomList(added);
  if (!Array.isArray(list) || !list.every((room) => typeof room === 'string' && room.length > 0)) {
    throw new RoomsError(INVALID_TARGET_ROOM);
  }
  return current.length === 0 ? list : [...current, ...list];
}

/**
 * Which sockets to act on, and how. Immutable: every modifier returns a new operator, so one can
 * be kept and reused. No target rooms means every socket.
 */
export class BroadcastOperator<Events extends EventsMap = DefaultEvents> {
  /** @internal `RoomService` and `RoomSocket` start operators; users never build one. */
  constructor(
    private readonly host: OperatorHost,
    private readonly rooms: readonly string[],
    private readonly exceptRooms: readonly string[],
    private readonly flags: BroadcastFlags,
  ) {}

  /** Adds target rooms (union: each socket once). */
  to(rooms: string | readonly string[]): BroadcastOperator<Events> {
    return new BroadcastOperator<Events>(this.host, addRooms(this.rooms, rooms), this.exceptRooms, this.flags);
  }

  /** The same as {@link to}. */
  in(rooms: string | readonly string[]): BroadcastOperator<Events> {
    return this.to(rooms);
  }

  /** Leaves out the members of those rooms; a socket id leaves out that socket. */
  except(rooms: string | readonly string[]): BroadcastOperator<Events> {
    return new BroadcastOperator<Events>(this.host, this.rooms, addRooms(this.exceptRooms, rooms), this.flags);
  }

  /** This server only. */
  get local(): BroadcastOperator<Events> {
    return this.withFlags({ local: true });
  }

  /** May be dropped for a socket whose connection cannot take it now. */
  get volatile(): BroadcastOperator<Events> {
    return this.withFlags({ volatile: true });
  }

  /** Per-message deflate where the socket negotiated it (the default). */
  compress(compress: boolean): BroadcastOperator<Events> {
    return this.withFlags({ compress });
  }

  /** How long acks and cluster requests wait, in milliseconds. */
  timeout(ms: number): BroadcastOperator<Events> {
    if (!Number.isFinite(ms) || ms < 0) throw new RoomsError(INVALID_TIMEOUT);
    return this.withFlags({ timeout: ms });
  }

  /**
   * Sends `{event, data}` to every selected socket of every server exactly once. The payload is
   * serialised and framed once; a payload JSON cannot carry throws here and nobody gets anything.
   * Other servers are told first: their deliveries then run while this one writes to its own
   * sockets, rather than after.
   */
  emit<E extends EventName<Events>>(event: E, ...[data]: EventArgs<Events, E>): true {
    const { delivery } = this.host;
    const target = this.target;
    const remote = !this.flags.local;
    if (delivery.holds(this.flags)) {
      // Recovery frames it with its offset: serialised here, framed once there.
      const payload = Buffer.from(serializeEvent(event, data));
      if (TRACING) this.trace('broadcast out', event, payload.length);
      const frame = delivery.nextFrame();
      if (remote) this.host.cluster.broadcast(target, this.flags, payload, frame);
      delivery.deliverPayload(target, payload, this.flags, Origin.Local, delivery.keyOf(frame));
    } else {
      const encoded = encodeEvent(event, data);
      if (TRACING) this.trace('broadcast out', event, encoded.payload.length);
      if (remote) this.host.cluster.broadcast(target, this.flags, encoded.payload);
      delivery.deliver(target, encoded, this.flags);
    }
    return true;
  }

  /**
   * Sends `{event, data, ack}` and resolves with every socket's answer (`[]` at once when nobody
   * is targeted). On timeout it rejects with a `RoomsError` whose `responses` holds what arrived.
   */
  emitWithAck<E extends EventName<Events>>(event: E, ...[data]: EventArgs<Events, E>): Promise<unknown[]> {
    let encoded: EncodedEvent;
    const ack = this.host.delivery.nextAck();
    try {
      encoded = encodeEvent(event, data, ack);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const collector = new AckCollector(this.timeoutMs);
    const target = this.target;
    if (TRACING) this.trace(`broadcast out with ack ${ack}`, event, encoded.payload.length);
    collector.expect(this.host.delivery.deliverWithAck(target, encoded, this.flags, ack, collector));
    if (!this.flags.local) this.host.cluster.broadcastWithAck(target, this.flags, ack, encoded.payload, collector);
    collector.seal();
    return collector.promise;
  }

  /** The selected sockets of every server, as snapshots whose methods act on the real ones. */
  async fetchSockets(): Promise<RemoteSocket<Events>[]> {
    const local = this.selected().map(snapshotOf);
    const remote = (await this.ask('fetch')) as SocketSnapshot[][];
    const everyone = new BroadcastOperator(this.host, [], [], DEFAULT_FLAGS);
    return [...local, ...remote.flat()].map((snapshot) => new RemoteSocket<Events>(everyone, snapshot));
  }

  /** How many sockets are selected, on every server. */
  async count(): Promise<number> {
    const local = this.host.delivery.count(this.target);
    const remote = (await this.ask('count')) as number[];
    return remote.reduce((sum, count) => sum + count, local);
  }

  /** Every room of the selected servers, without the sockets' own id rooms. */
  async allRooms(): Promise<Set<string>> {
    const rooms = this.host.delivery.roomNames();
    for (const names of (await this.ask('rooms')) as string[][]) for (const room of names) rooms.add(room);
    return rooms;
  }

  /**
   * Makes every selected socket join `rooms`; on this server at once, and if any of its sockets
   * would be refused, none joins. Resolves once every live server has applied it.
   */
  async socketsJoin(rooms: string | readonly string[]): Promise<void> {
    const list = toRoomList(rooms);
    this.host.joinAll(this.selected(), list);
    await Promise.all([this.host.cluster.subscribed(list), this.ask('join', list)]);
  }

  /** Makes every selected socket leave `rooms`; on this server at once. Resolves once every live server has applied it. */
  async socketsLeave(rooms: string | readonly string[]): Promise<void> {
    const list = toRoomList(rooms);
    this.host.leaveAll(this.selected(), list);
    await this.ask('leave', list);
  }

  /** `close = false` sends a close frame (1000); `true` cuts the connection. */
  async disconnectSockets(close = false): Promise<void> {
    for (const socket of this.selected()) socket.disconnect(close);
    await this.ask('disconnect', close);
  }

  private get target(): Target {
    return { r: this.rooms, x: this.exceptRooms };
  }

  private get timeoutMs(): number {
    return this.flags.timeout ?? this.host.cluster.broker.requestTimeout;
  }

  private selected(): OperatedSocket[] {
    return this.host.delivery.select(this.target);
  }

  /** The same operation on every other live server (none with `local`). */
  private ask(kind: RequestKind, args?: unknown): Promise<unknown[]> {
    if (this.flags.local) return Promise.resolve([]);
    return this.host.cluster.request(kind, this.target, args, this.timeoutMs);
  }

  private trace(what: string, event: string, bytes: number): void {
    const { rooms, exceptRooms, flags } = this;
    const where = flags.local ? 'this server' : 'every server';
    trace('%s: event %j to %j except %j on %s, %d bytes', what, event, rooms, exceptRooms, where, bytes);
  }

  private withFlags(changed: Partial<BroadcastFlags>): BroadcastOperator<Events> {
    return new BroadcastOperator<Events>(this.host, this.rooms, this.exceptRooms, { ...this.flags, ...changed });
  }
}
