import type { WsMessageHandler } from '@nestjs/common';
import { WebSocket } from 'ws';
import type { Subscription } from 'rxjs';
import type { BroadcastOperator } from '../broadcast/broadcast-operator.js';
import type { AckSink } from '../broadcast/ack-sink.js';
import type { RoomMember } from '../registry/room-registry.js';
import { MemberRooms, type RoomSlot } from '../registry/member-rooms.js';
import type { DisconnectReason } from './disconnect-reason.js';
import { isExceptionFrame, reshapeExceptionFrame } from './exception-frame.js';
import { answeredId } from './inbound-frame.js';
import { createSocketId } from './socket-id.js';
import { DEFAULT_SOCKET_SETTINGS, type SocketSettings } from './socket-settings.js';
import type { Handshake } from './handshake.js';
import { heldBytes, releaseHeldFrame, writeMessage } from './write-path.js';

export type { DisconnectReason } from './disconnect-reason.js';

/** Nest's `handleDisconnect` callback of one gateway for one socket (what `RoomsAdapter.bindClientDisconnect` takes). */
export type DisconnectCallback = (reason: DisconnectReason) => void;

/** A `@SubscribeMessage` handler as Nest binds it to one client: `(data, event)`. */
export type BoundHandler = WsMessageHandler['callback'];

/**
 * What a socket acts through: its app's rooms (`RoomsServer` implements it). The socket's own
 * methods use the first four; the adapter and the rooms interceptor use the rest for it.
 */
export interface SocketHost {
  join(socket: RoomSocket, rooms: string | readonly string[]): Promise<void>;
  leave(socket: RoomSocket, rooms: string | readonly string[]): Promise<void>;
  /** An operator that targets every socket. */
  operator(): BroadcastOperator;
  sendTo(socket: RoomSocket, event: string, data: unknown): void;
  /** The socket's `{"ack": n, "data"}`; false when it answers nothing pending. */
  answerAck(socket: RoomSocket, ack: unknown, data: unknown): boolean;
  /** The socket closed: disconnect hooks, out of every room, then `done`; `clean` when its client answered the close frame. */
  closed(socket: RoomSocket, reason: DisconnectReason, done?: () => void, clean?: boolean): void;
  /** The app never served the socket: out of every room, no hooks. */
  dropUnserved(socket: RoomSocket): void;
  /** What a client's join (a decorator's) must pass; rejects with a `RoomsError`. */
  checkClientJoin(socket: RoomSocket, rooms: readonly string[]): Promise<void>;
  /** Tracks the socket's presence in `room` (joining it) under `key`; rejects with a `RoomsError`. */
  track(socket: RoomSocket, room: string, key: string, meta?: unknown): Promise<void>;
  /** Stops tracking the socket's presence in `room`; it stays in the room. */
  untrack(socket: RoomSocket, room: string): Promise<void>;
  /** Names a client may ask to leave: valid, never a socket id; throws a `RoomsError`. */
  checkClientRooms(rooms: readonly string[]): void;
  /** Valid room names; throws a `RoomsError`. */
  checkNames(rooms: readonly unknown[]): asserts rooms is readonly string[];
}

/** @internal a socket's bad frames in the current window; most sockets never send one, so most have none. */
export interface BadFrameWindow {
  /** Frames no handler could take since the window started. */
  count: number;
  /** When the window started (`performance.now()`). */
  since: number;
}

/**
 * The client object gateway handlers get: a `ws` WebSocket that knows its rooms. `ws` builds it
 * (it is handed to `WebSocketServer` as its `WebSocket` class); the adapter attaches it to the
 * app's rooms before any handler sees it.
 *
 * Its fields are laid out for memory, one socket per client: V8 fixes the in-object fields of a
 * class after its first few instances, and a field first set on a socket after that goes to a
 * property array of its own (40 bytes). So every field most sockets come to have is set from the
 * constructor, `undefined` if need be (the adapter's, set once the socket is accepted, are there
 * from the first instances on); what few sockets need hangs off one field, made on first use; and
 * no field holds a double, which V8 would box in a heap number per socket.
 */
export class RoomSocket extends WebSocket implements RoomMember {
  /** 22 base64url characters, 128 random bits; also the name of the socket's private room. */
  readonly id: string = createSocketId();
  /** What the upgrade request said (address, url, headers). */
  handshake!: Handshake;
  /**
   * With connection recovery on: whether this connection took over a dropped socket's session
   * (its id, rooms and data are back, its missed frames are on their way). `false` otherwise.
   */
  recovered = false;
  /** @internal the token that recovers this socket's session once it drops (recovery on). */
  recoveryToken: string | undefined;
  /**
   * @internal the lowest offset its client may name when it comes back: where this connection
   * started. Set with `recoveryToken` (recovery on) and only read while that is set.
   */
  recoveryFloor!: number;

  /** @internal the registry's member -> rooms side, compact (registry/member-rooms.ts); read it through `rooms`. */
  roomSlot: RoomSlot = undefined;
  /** @internal owned by the registry. */
  selectionMark = 0;
  /** @internal the app's rooms; set by the adapter before `handleConnection`. */
  server!: SocketHost;
  /** @internal the adapter's settings, shared by all its sockets. */
  settings: SocketSettings = DEFAULT_SOCKET_SETTINGS;
  /** @internal set once the socket has started leaving. */
  gone = false;
  /** @internal why the server closed it, when it did; once closed, why it went away. */
  closeReason: DisconnectReason | undefined;
  /**
   * @internal the payload of the last ping, until its pong echoes it: `undefined` when the socket
   * answered the last ping (adapter/heartbeat.ts).
   */
  pingPayload: Buffer | undefined = undefined;
  /** @internal its bad frames of the current window, from its first bad frame on (adapter/bad-frame-budget.ts). */
  badFrameWindow: BadFrameWindow | undefined = undefined;
  /** @internal negotiated permessage-deflate. */
  deflate = false;
  /** @internal this turn's first frame, held until the turn ends, or its write-coalescing state (socket/write-path.ts). */
  heldFrame: Buffer | number = 0;
  /** @internal `emitWithAck` requests it has yet to answer, created on first use. */
  pendingAcks: Map<number, AckSink> | undefined;
  /** @internal the events it has handlers for, shared by the clients of its path (adapter/handler-table.ts). */
  handlerEvents: readonly string[] | undefined;
  /** @internal Nest's handlers bound to this client, in the order of `handlerEvents`. */
  handlerCallbacks: BoundHandler[] | undefined;
  /** @internal Nest's `handleDisconnect` callback, or callbacks when several gateways share its path. */
  disconnectCallbacks: DisconnectCallback | DisconnectCallback[] | undefined;
  /** @internal frames whose handlers are still running. */
  pendingFrames = 0;
  /** @internal replies still streaming, cut when the socket closes. */
  openReplies: Set<Subscription> | undefined = undefined;

  private ownData: Record<string, unknown> | undefined = undefined;

  /** The rooms it is in, its own `id` first; empty once it has disconnected. A live view. */
  get rooms(): ReadonlySet<string> {
    return new MemberRooms(this);
  }

  /** Free per-socket data; travels with `fetchSockets()`. */
  get data(): Record<string, unknown> {
    return (this.ownData ??= {});
  }

  /** Replaces the per-socket data. */
  set data(value: Record<string, unknown>) {
    this.ownData = value;
  }

  /** Resolves once broadcasts to those rooms reach this socket. All or nothing for an array. */
  join(rooms: string | readonly string[]): Promise<void> {
    return this.server.join(this, rooms);
  }

  /** Leaving a room it is not in does nothing. */
  leave(rooms: string | readonly string[]): Promise<void> {
    return this.server.leave(this, rooms);
  }

  /**
   * Joins `room` (limits and names as for `join`; socket id rooms are refused) and shows this
   * socket there in every server's `rooms.presence(room)` under `key` (1 to 256 characters) with
   * `meta` (JSON, at most `presence.maxMetaBytes` bytes). Tracking again in the same room replaces
   * key and meta. Leaving the room or disconnecting untracks.
   */
  track(room: string, key: string, meta?: unknown): Promise<void> {
    return this.server.track(this, room, key, meta);
  }

  /** Stops showing this socket in `room`'s presence; it stays in the room. */
  untrack(room: string): Promise<void> {
    return this.server.untrack(this, room);
  }

  /** Broadcast to rooms, this socket excluded. */
  to(rooms: string | readonly string[]): BroadcastOperator {
    return this.broadcast.to(rooms);
  }

  /** The same as {@link to}. */
  in(rooms: string | readonly string[]): BroadcastOperator {
    return this.to(rooms);
  }

  /** Every socket but this one and the members of `rooms`. */
  except(rooms: string | readonly string[]): BroadcastOperator {
    return this.broadcast.except(rooms);
  }

  /** Every socket but this one. */
  get broadcast(): BroadcastOperator {
    return this.server.operator().except(this.id);
  }

  /** Sends `{event, data}` to this socket only. */
  sendEvent(event: string, data?: unknown): void {
    this.server.sendTo(this, event, data);
  }

  /** Server-side disconnect: a close frame (1000), or with `close = true` the connection is cut. */
  disconnect(close = false): void {
    if (this.readyState === WebSocket.CLOSED) return;
    this.closeReason ??= 'server disconnect';
    if (close) this.terminate();
    else this.close(1000);
  }

  /**
   * `ws`'s `send`, under the socket's high watermark like every frame the server writes
   * (./write-path.ts). Nest 12's exception filter writes its `exception` frames with it: such a
   * frame is rewritten to the bounded shape (no echo of the client's data) with the `id` of the
   * inbound frame it answers.
   */
  override send(data: unknown, ...rest: unknown[]): void {
    if (isExceptionFrame(data)) data = reshapeExceptionFrame(data, answeredId(this));
    writeMessage(this, data, ...rest);
  }

  /** @internal `ws`'s `close`, after the frame the socket holds for this turn (`ws` itself closes through it too). */
  override close(code?: number, data?: string | Buffer): void {
    releaseHeldFrame(this);
    super.close(code, data);
  }
}

// `ws`'s `bufferedAmount` plus the frame a socket holds for this turn. Defined here because
// TypeScript declares it a property, which a subclass may not redefine as an accessor.
const wsBufferedAmount = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'bufferedAmount')!.get!;
Object.defineProperty(RoomSocket.prototype, 'bufferedAmount', {
  configurable: true,
  get(this: RoomSocket): number {
    return (wsBufferedAmount.call(this) as number) + heldBytes(this);
  },
});
