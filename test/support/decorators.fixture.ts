import {
  Injectable,
  Module,
  Scope,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type Type,
} from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import { concatMap, of, throwError, timer, type Observable } from 'rxjs';
import {
  BroadcastTo,
  JoinRoom,
  LeaveRoom,
  OnDisconnect,
  OnDisconnecting,
  RoomsModule,
  RoomService,
  type RoomSocket,
  type RoomsModuleOptions,
} from '../../lib/index.js';
import { HookRecorder } from './hook-recorder.js';
import { nextTurn } from './timing.js';

// ---- decorators.test.ts ------------------------------------------------------------------------

/** Lets a message through only when its data says `allow: true`. */
@Injectable()
export class AllowGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return (context.switchToWs().getData() as { allow?: boolean } | undefined)?.allow === true;
  }
}

type RoomArg = { room: string | string[] };

/**
 * One gateway for every decorator and `RoomSocket` behaviour. It counts how often each handler
 * body ran, so that tests can tell a refusal before the handler from a failure inside it.
 */
@WebSocketGateway({ path: '/deco' })
export class DecoratorsGateway implements OnGatewayConnection, OnGatewayDisconnect {
  readonly calls: Record<string, number> = {};

  constructor(private readonly rooms: RoomService) {}

  calledTimes(handler: string): number {
    return this.calls[handler] ?? 0;
  }

  private ran(handler: string): void {
    this.calls[handler] = this.calledTimes(handler) + 1;
  }

  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id });
  }

  handleDisconnect(): void {
    this.ran('handleDisconnect');
  }

  @SubscribeMessage('rooms')
  currentRooms(@ConnectedSocket() socket: RoomSocket) {
    return { event: 'rooms', data: [...socket.rooms] };
  }

  // -- @JoinRoom, each kind of selector; the reply tells what the handler itself saw.

  @SubscribeMessage('joinFixed')
  @JoinRoom('fixed-room')
  joinFixed(@ConnectedSocket() socket: RoomSocket) {
    this.ran('joinFixed');
    return { event: 'joined', data: { inHandler: [...socket.rooms] } };
  }

  @SubscribeMessage('joinFixedArray')
  @JoinRoom(['fixed-a', 'fixed-b'])
  joinFixedArray(@ConnectedSocket() socket: RoomSocket) {
    this.ran('joinFixedArray');
    return { event: 'joined', data: { inHandler: [...socket.rooms] } };
  }

  /** The general one: joins whatever `data.room` says (a string, an array, or garbage). */
  @SubscribeMessage('join')
  @JoinRoom((data: RoomArg) => data.room)
  join(@ConnectedSocket() socket: RoomSocket) {
    this.ran('join');
    return { event: 'joined', data: { inHandler: [...socket.rooms] } };
  }

  /** A sync selector that uses both of its arguments. */
  @SubscribeMessage('joinMine')
  @JoinRoom((data: { room: string }, socket: RoomSocket) => `${data.room}:${socket.id}`)
  joinMine(@ConnectedSocket() socket: RoomSocket) {
    this.ran('joinMine');
    return { event: 'joined', data: { inHandler: [...socket.rooms] } };
  }

  @SubscribeMessage('joinAsync')
  @JoinRoom(async (data: RoomArg) => {
    await nextTurn();
    return data.room;
  })
  joinAsync(@ConnectedSocket() socket: RoomSocket) {
    this.ran('joinAsync');
    return { event: 'joined', data: { inHandler: [...socket.rooms] } };
  }

  /** Broadcasts to the room it is about to join, twice, before it returns its (promised) reply. */
  @SubscribeMessage('slowJoin')
  @JoinRoom((data: { room: string }) => data.room)
  async slowJoin(@MessageBody() data: { room: string }, @ConnectedSocket() socket: RoomSocket) {
    this.ran('slowJoin');
    this.rooms.to(data.room).emit('before-join', socket.id);
    await nextTurn();
    this.rooms.to(data.room).emit('still-before', socket.id);
    return { event: 'slow-joined', data: { inHandler: [...socket.rooms] } };
  }

  /** The same with an Observable of two replies. */
  @SubscribeMessage('streamJoin')
  @JoinRoom((data: { room: string }) => data.room)
  streamJoin(@MessageBody() data: { room: string }, @ConnectedSocket() socket: RoomSocket): Observable<unknown> {
    this.ran('streamJoin');
    this.rooms.to(data.room).emit('before-join', socket.id);
    return timer(0).pipe(concatMap(() => of({ event: 'part', data: 1 }, { event: 'part', data: 2 })));
  }

  @SubscribeMessage('guardedJoin')
  @UseGuards(AllowGuard)
  @JoinRoom('guarded-room')
  guardedJoin() {
    this.ran('guardedJoin');
    return { event: 'joined', data: 'guarded-room' };
  }

  @SubscribeMessage('failJoin')
  @JoinRoom('fail-room')
  failJoin(@MessageBody() data: { mode: 'throw' | 'reject' | 'observable' }) {
    this.ran('failJoin');
    if (data.mode === 'throw') throw new WsException('handler failed');
    if (data.mode === 'reject') return Promise.reject(new WsException('handler failed'));
    return throwError(() => new WsException('handler failed'));
  }

  // -- @LeaveRoom

  @SubscribeMessage('leave')
  @LeaveRoom((data: RoomArg) => data.room)
  leave(@ConnectedSocket() socket: RoomSocket) {
    this.ran('leave');
    return { event: 'left', data: { inHandler: [...socket.rooms] } };
  }

  // -- @BroadcastTo

  @SubscribeMessage('say')
  @BroadcastTo((data: { room: string | string[] }) => data.room)
  say(@MessageBody() data: { room: string | string[]; text: string }, @ConnectedSocket() socket: RoomSocket) {
    this.ran('say');
    return { event: 'said', data: { from: socket.id, text: data.text } };
  }

  @SubscribeMessage('sayAll')
  @BroadcastTo((data: { room: string }) => data.room, { exceptSender: false })
  sayAll(@MessageBody() data: { room: string; text: string }, @ConnectedSocket() socket: RoomSocket) {
    this.ran('sayAll');
    return { event: 'said', data: { from: socket.id, text: data.text } };
  }

  /** Not a `WsResponse`: broadcast under the inbound event name, `shout`. */
  @SubscribeMessage('shout')
  @BroadcastTo('stage')
  shout(@MessageBody() data: { text: string }) {
    this.ran('shout');
    return { text: data.text.toUpperCase() };
  }

  @SubscribeMessage('whisper')
  @BroadcastTo((data: { to: string }) => data.to)
  whisper(@MessageBody() data: { to: string; text: string }, @ConnectedSocket() socket: RoomSocket) {
    this.ran('whisper');
    return { event: 'whisper', data: { from: socket.id, text: data.text } };
  }

  /** Join written above broadcast; the sender is included, so it only hears it if it joined first. */
  @SubscribeMessage('joinThenSay')
  @JoinRoom((data: { room: string }) => data.room)
  @BroadcastTo((data: { room: string }) => data.room, { exceptSender: false })
  joinThenSay(@MessageBody() data: { room: string }, @ConnectedSocket() socket: RoomSocket) {
    this.ran('joinThenSay');
    return { event: 'hello', data: { from: socket.id, inHandler: [...socket.rooms].includes(data.room) } };
  }

  /** The same with the decorators the other way round. */
  @SubscribeMessage('sayThenJoin')
  @BroadcastTo((data: { room: string }) => data.room, { exceptSender: false })
  @JoinRoom((data: { room: string }) => data.room)
  sayThenJoin(@MessageBody() data: { room: string }, @ConnectedSocket() socket: RoomSocket) {
    this.ran('sayThenJoin');
    return { event: 'hello', data: { from: socket.id, inHandler: [...socket.rooms].includes(data.room) } };
  }

  // -- RoomSocket from handler code

  @SubscribeMessage('relay')
  relay(
    @MessageBody() data: { mode: 'to' | 'in' | 'broadcast' | 'except'; rooms?: string | string[]; text: string },
    @ConnectedSocket() socket: RoomSocket,
  ) {
    const payload = { from: socket.id, text: data.text };
    if (data.mode === 'to') socket.to(data.rooms!).emit('relayed', payload);
    else if (data.mode === 'in') socket.in(data.rooms!).emit('relayed', payload);
    else if (data.mode === 'except') socket.except(data.rooms!).emit('relayed', payload);
    else socket.broadcast.emit('relayed', payload);
    return { event: 'relay-done', data: data.mode };
  }

  @SubscribeMessage('selfJoin')
  async selfJoin(@MessageBody() data: RoomArg, @ConnectedSocket() socket: RoomSocket) {
    await socket.join(data.room);
    return { event: 'self-joined', data: [...socket.rooms] };
  }

  @SubscribeMessage('selfLeave')
  async selfLeave(@MessageBody() data: RoomArg, @ConnectedSocket() socket: RoomSocket) {
    await socket.leave(data.room);
    return { event: 'self-left', data: [...socket.rooms] };
  }

  @SubscribeMessage('remember')
  remember(@MessageBody() data: { name: string }, @ConnectedSocket() socket: RoomSocket) {
    socket.data.name = data.name;
    socket.data.seen = ((socket.data.seen as number | undefined) ?? 0) + 1;
    return { event: 'remembered', data: socket.data };
  }

  @SubscribeMessage('recall')
  recall(@ConnectedSocket() socket: RoomSocket) {
    socket.data.seen = ((socket.data.seen as number | undefined) ?? 0) + 1;
    return { event: 'recalled', data: socket.data };
  }

  @SubscribeMessage('handshake')
  handshake(@ConnectedSocket() socket: RoomSocket) {
    const { address, url, headers } = socket.handshake;
    return { event: 'handshake', data: { address, url, headers } };
  }

  @SubscribeMessage('kickMe')
  kickMe(@MessageBody() data: { terminate?: boolean }, @ConnectedSocket() socket: RoomSocket) {
    if (data.terminate === undefined) socket.disconnect();
    else socket.disconnect(data.terminate);
  }
}

/** Every call of the module-level `canJoin` options below: which socket asked for which room. */
export const canJoinCalls: Array<{ kind: 'sync' | 'async'; socketId: string; room: string }> = [];

/** Refuses every room whose name starts with `deny`. */
export const syncCanJoin = (socket: RoomSocket, room: string): boolean => {
  canJoinCalls.push({ kind: 'sync', socketId: socket.id, room });
  return !room.startsWith('deny');
};

export const asyncCanJoin = async (socket: RoomSocket, room: string): Promise<boolean> => {
  canJoinCalls.push({ kind: 'async', socketId: socket.id, room });
  await nextTurn();
  return !room.startsWith('deny');
};

/** A module with the decorators gateway and the given `RoomsModule` options. */
export function decoratorsModule(options: RoomsModuleOptions = {}): Type {
  @Module({ imports: [RoomsModule.forRoot(options)], providers: [DecoratorsGateway, AllowGuard] })
  class DecoratorsModule {}
  return DecoratorsModule;
}

// ---- disconnect-hooks.test.ts ------------------------------------------------------------------

/*
 * Every hook of HooksModule records into the app's HookRecorder under its own name:
 * `disconnecting`, `disconnecting-after-await`, `disconnect` (DisconnectTracker), `handleDisconnect`
 * (the gateway), `scoped-disconnecting` (the request-scoped provider), `<tag>-faulty-*` (FaultyHooks).
 */

/**
 * Hooks that throw (synchronously and asynchronously) for sockets whose `data.faulty` is set, each
 * recording itself right before it throws. One copy is registered before the other providers'
 * hooks and one after, so that whatever order hooks run in, a failing one comes first.
 */
@Injectable()
abstract class FaultyHooks {
  protected abstract readonly tag: string;

  constructor(private readonly log: HookRecorder) {}

  @OnDisconnecting()
  throwing(socket: RoomSocket, rooms: ReadonlySet<string>, reason: string) {
    if (socket.data.faulty !== true) return;
    this.log.record(`${this.tag}-faulty-disconnecting`, socket, { rooms, reason, arity: arguments.length });
    throw new Error('faulty disconnecting hook');
  }

  @OnDisconnecting()
  async rejecting(socket: RoomSocket, rooms: ReadonlySet<string>, reason: string) {
    if (socket.data.faulty !== true) return;
    await nextTurn();
    this.log.record(`${this.tag}-faulty-disconnecting-async`, socket, { rooms, reason, arity: arguments.length });
    throw new Error('faulty async disconnecting hook');
  }

  @OnDisconnect()
  throwingToo(socket: RoomSocket, rooms: ReadonlySet<string>, reason: string) {
    if (socket.data.faulty !== true) return;
    this.log.record(`${this.tag}-faulty-disconnect`, socket, { rooms, reason, arity: arguments.length });
    throw new Error('faulty disconnect hook');
  }
}

@Injectable()
export class EarlyFaultyHooks extends FaultyHooks {
  protected readonly tag = 'early';
}

@Injectable()
export class LateFaultyHooks extends FaultyHooks {
  protected readonly tag = 'late';
}

/** A plain provider, not a gateway, with both hooks. */
@Injectable()
export class DisconnectTracker {
  constructor(
    private readonly log: HookRecorder,
    private readonly rooms: RoomService,
  ) {}

  @OnDisconnecting()
  async disconnecting(socket: RoomSocket, rooms: ReadonlySet<string>, reason: string) {
    this.log.record('disconnecting', socket, { rooms, reason, arity: arguments.length });
    if (socket.data.announce === true) {
      this.rooms
        .to([...rooms])
        .except(socket.id)
        .emit('left', { id: socket.id, reason });
    }
    // Async work: the snapshot must survive the socket leaving its rooms (and @OnDisconnect).
    await Promise.resolve();
    await nextTurn();
    await this.log.wait('disconnect', socket.id);
    this.log.record('disconnecting-after-await', socket, { rooms, reason, arity: arguments.length });
  }

  @OnDisconnect()
  disconnect(socket: RoomSocket, rooms: ReadonlySet<string>, reason: string) {
    this.log.record('disconnect', socket, { rooms, reason, arity: arguments.length });
  }
}

/** Request-scoped: the rooms explorer must resolve an instance to call it. */
@Injectable({ scope: Scope.REQUEST })
export class ScopedDisconnectHook {
  constructor(private readonly log: HookRecorder) {}

  @OnDisconnecting()
  disconnecting(socket: RoomSocket, rooms: ReadonlySet<string>, reason: string) {
    this.log.record('scoped-disconnecting', socket, { rooms, reason, arity: arguments.length });
  }
}

@WebSocketGateway({ path: '/hooks' })
export class HooksGateway implements OnGatewayConnection, OnGatewayDisconnect {
  constructor(private readonly log: HookRecorder) {}

  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id });
  }

  handleDisconnect(socket: RoomSocket, reason: string): void {
    this.log.record('handleDisconnect', socket, { reason, arity: arguments.length });
  }

  @SubscribeMessage('join')
  @JoinRoom((data: RoomArg) => data.room)
  join(@MessageBody() data: RoomArg) {
    return { event: 'joined', data: data.room };
  }

  /** Sets flags in `socket.data` (`announce`, `faulty`) that the hooks read. */
  @SubscribeMessage('flag')
  flag(@MessageBody() data: Record<string, boolean>, @ConnectedSocket() socket: RoomSocket) {
    Object.assign(socket.data, data);
    return { event: 'flagged', data: socket.data };
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown) {
    return { event: 'echo', data };
  }

  @SubscribeMessage('kickMe')
  kickMe(@ConnectedSocket() socket: RoomSocket) {
    socket.disconnect();
  }
}

@Module({
  imports: [RoomsModule.forRoot()],
  providers: [HookRecorder, EarlyFaultyHooks, DisconnectTracker, ScopedDisconnectHook, HooksGateway, LateFaultyHooks],
})
export class HooksModule {}
