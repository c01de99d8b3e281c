import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { concat, concatMap, defer, filter, ignoreElements, tap, type Observable } from 'rxjs';
import { MESSAGE_METADATA } from '@nestjs/websockets/constants.js';
import { replyEvent } from './adapter/replies.js';
import type { RoomOperation } from './decorators/room-operation.types.js';
import { toRoomList } from './registry/room-names.js';
import { ROOM_OPERATIONS_METADATA } from './rooms.constants.js';
import type { RoomSocket } from './socket/room-socket.js';

interface ResolvedOperation {
  readonly operation: RoomOperation;
  readonly rooms: readonly string[];
}

/**
 * Runs the `@JoinRoom`, `@LeaveRoom` and `@BroadcastTo` of a handler. Every check happens before
 * the handler (a refusal throws, so the handler never runs and nothing changes); joins and leaves
 * happen once it has succeeded, before its first reply; broadcasts take the place of replies.
 * Stateless: one instance serves every app, each socket leading to its own app's rooms.
 */
export class RoomsInterceptor implements NestInterceptor {
  static readonly instance = new RoomsInterceptor();

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const operations = Reflect.getMetadata(ROOM_OPERATIONS_METADATA, context.getHandler()) as RoomOperation[];
    const ws = context.switchToWs();
    const socket = ws.getClient<RoomSocket>();
    const data: unknown = ws.getData();

    const resolved: ResolvedOperation[] = [];
    for (const operation of operations) {
      const rooms = toRoomList(
        typeof operation.rooms === 'function' ? await operation.rooms(data, socket) : operation.rooms,
      );
      await this.check(socket, operation, rooms);
      resolved.push({ operation, rooms });
    }

    let applied = false;
    const applyMemberships = async () => {
      if (applied) return;
      applied = true;
      for (const { operation, rooms } of resolved) {
        if (operation.kind === 'join') await socket.join(rooms);
        else if (operation.kind === 'leave') await socket.leave(rooms);
      }
    };
    const replies = next.handle().pipe(concatMap(async (value) => (await applyMemberships(), value)));
    const result = concat(replies, defer(applyMemberships).pipe(ignoreElements()));

    const broadcasts = resolved.filter(({ operation }) => operation.kind === 'broadcast');
    if (broadcasts.length === 0) return result;
    const inboundEvent = Reflect.getMetadata(MESSAGE_METADATA, context.getHandler()) as string;
    return result.pipe(
      tap((value) => {
        if (value === null || value === undefined) return;
        const { event, data: payload } = replyEvent(value, inboundEvent);
        for (const { operation, rooms } of broadcasts) {
          // An operator with no rooms means every socket; a selector's empty list means nobody.
          if (rooms.length === 0) continue;
          const target = socket.server.operator().to(rooms);
          const exceptSender = operation.kind === 'broadcast' && operation.exceptSender;
          (exceptSender ? target.except(socket.id) : target).emit(event, payload);
        }
      }),
      filter(() => false),
    );
  }

  private async check(socket: RoomSocket, operation: RoomOperation, rooms: readonly string[]): Promise<void> {
    if (operation.kind === 'join') await socket.server.checkClientJoin(socket, rooms);
    else if (operation.kind === 'leave') socket.server.checkClientRooms(rooms);
    // Broadcast targets may be socket ids: that is how a client messages one person.
    else socket.server.checkNames(rooms);
  }
}
