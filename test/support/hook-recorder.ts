import { performance } from 'node:perf_hooks';
import { Injectable, type Type } from '@nestjs/common';
import {
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import { JoinRoom, OnDisconnect, OnDisconnecting, type RoomSocket } from '../../lib/index.js';
import { within } from './timing.js';

/** One call of a connection or disconnection hook, as the hook saw it. */
export interface HookCall {
  /**
   * Which hook: `disconnecting` (`@OnDisconnecting`), `disconnect` (`@OnDisconnect`), or the name
   * a gateway records its own `handleConnection`/`handleDisconnect` under.
   */
  hook: string;
  id: string;
  /** The socket object itself, to act on it after it has gone. */
  socket: RoomSocket;
  /** `[...socket.rooms]` at the call, in the socket's own order (its id room first). */
  socketRooms: string[];
  /** The hook's `rooms` argument, sorted; [] for a hook without one (a gateway's). */
  rooms: string[];
  reason?: string;
  /** How many arguments the hook got, when the hook said. */
  arity?: number;
  /** `performance.now()` at the call. */
  at: number;
}

/** What a hook passes besides its label and socket. */
export interface HookArgs {
  rooms?: ReadonlySet<string>;
  reason?: string;
  arity?: number;
}

/**
 * Every hook call of one app, in order, with ways to await any of them (an event, never a
 * delay). A provider of the app's module: the hooks and the test share the one instance.
 */
@Injectable()
export class HookRecorder {
  readonly calls: HookCall[] = [];
  private readonly waiters: Array<{ match: (call: HookCall) => boolean; resolve: (call: HookCall) => void }> = [];
  private readonly listeners: Array<(call: HookCall) => void> = [];

  record(hook: string, socket: RoomSocket, args: HookArgs = {}): void {
    const rooms = args.rooms === undefined ? [] : [...args.rooms].sort();
    const call: HookCall = {
      hook,
      id: socket.id,
      socket,
      socketRooms: [...socket.rooms],
      rooms,
      at: performance.now(),
    };
    if (args.reason !== undefined) call.reason = args.reason;
    if (args.arity !== undefined) call.arity = args.arity;
    this.calls.push(call);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].match(call)) this.waiters.splice(i, 1)[0].resolve(call);
    }
    for (const listener of this.listeners) listener(call);
  }

  /** Calls `listener` with every call recorded from now on. */
  onRecord(listener: (call: HookCall) => void): void {
    this.listeners.push(listener);
  }

  /** Calls of that hook (for that socket id, when given). */
  of(hook: string, id?: string): HookCall[] {
    return this.calls.filter((call) => call.hook === hook && (id === undefined || call.id === id));
  }

  /** Every call for one socket, in order. */
  callsOf(id: string): HookCall[] {
    return this.calls.filter((call) => call.id === id);
  }

  count(hook: string): number {
    let n = 0;
    for (const call of this.calls) if (call.hook === hook) n++;
    return n;
  }

  /** The hooks recorded for one socket, in order, limited to `hooks`. */
  sequence(id: string, hooks: readonly string[]): string[] {
    return this.callsOf(id)
      .filter((call) => hooks.includes(call.hook))
      .map((call) => call.hook);
  }

  /** Resolves with the first call of that hook for that socket, past or future. */
  wait(hook: string, id: string, timeoutMs = 5000): Promise<HookCall> {
    const match = (call: HookCall) => call.hook === hook && call.id === id;
    const found = this.calls.find(match);
    if (found !== undefined) return Promise.resolve(found);
    const seen = new Promise<HookCall>((resolve) => this.waiters.push({ match, resolve }));
    return within(seen, timeoutMs, `${hook} of ${id}`);
  }

  /** Resolves with the next call of that hook for that socket recorded from now on. */
  next(hook: string, id: string, timeoutMs = 5000): Promise<HookCall> {
    const match = (call: HookCall) => call.hook === hook && call.id === id;
    const seen = new Promise<HookCall>((resolve) => this.waiters.push({ match, resolve }));
    return within(seen, timeoutMs, `${hook} of ${id}`);
  }

  /** Resolves with every call for that socket once `handleDisconnect` (the last hook) has run for it. */
  async gone(id: string, timeoutMs = 5000): Promise<HookCall[]> {
    await this.wait('handleDisconnect', id, timeoutMs);
    return this.callsOf(id);
  }

  /** Forgets every call (between runs that reuse one app). */
  clear(): void {
    this.calls.length = 0;
  }
}

/** `@OnDisconnecting` and `@OnDisconnect` on a plain provider (not a gateway), recording each call. */
@Injectable()
export class RecordingDisconnectHooks {
  constructor(private readonly recorder: HookRecorder) {}

  @OnDisconnecting()
  disconnecting(socket: RoomSocket, rooms: ReadonlySet<string>, reason: string): void {
    this.recorder.record('disconnecting', socket, { rooms, reason, arity: arguments.length });
  }

  @OnDisconnect()
  disconnect(socket: RoomSocket, rooms: ReadonlySet<string>, reason: string): void {
    this.recorder.record('disconnect', socket, { rooms, reason, arity: arguments.length });
  }
}

/**
 * A gateway at `path` that welcomes each client with its id, records its `handleDisconnect`, and
 * joins the rooms of `join` `{rooms: string[]}`. The class is made here because the path is
 * needed at decoration.
 */
export function recordingGateway(path: string): Type<OnGatewayConnection & OnGatewayDisconnect> {
  @WebSocketGateway({ path })
  class RecordingGateway implements OnGatewayConnection, OnGatewayDisconnect {
    constructor(private readonly recorder: HookRecorder) {}

    handleConnection(socket: RoomSocket): void {
      socket.sendEvent('welcome', { id: socket.id });
    }

    handleDisconnect(socket: RoomSocket, reason: string): void {
      this.recorder.record('handleDisconnect', socket, { reason, arity: arguments.length });
    }

    @SubscribeMessage('join')
    @JoinRoom((data: { rooms: string[] }) => data.rooms)
    join(@MessageBody() data: { rooms: string[] }) {
      return { event: 'joined', data: data.rooms };
    }
  }
  return RecordingGateway;
}

/** A call as the disconnect checks compare it: its rooms, how many rooms the socket was still in, and the reason. */
export function summary(call: HookCall): { hook: string; rooms: string[]; live: number; reason?: string } {
  return { hook: call.hook, rooms: call.rooms, live: call.socketRooms.length, reason: call.reason };
}
