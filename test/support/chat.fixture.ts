import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import { Module } from '@nestjs/common';
import { BroadcastTo, JoinRoom, LeaveRoom, RoomsModule, type RoomSocket } from '../../lib/index.js';

export interface SeenDisconnect {
  id: string;
  roomsSize: number;
  reason: string;
}

/**
 * The gateway most e2e tests talk to. On connect it sends `welcome` with the socket id and its
 * rooms as `handleConnection` saw them.
 */
@WebSocketGateway({ path: '/chat' })
export class ChatGateway implements OnGatewayConnection, OnGatewayDisconnect {
  readonly disconnects: SeenDisconnect[] = [];
  private readonly waiting = new Map<string, (seen: SeenDisconnect) => void>();

  /** Resolves once `handleDisconnect` has run for that socket id. */
  disconnected(id: string): Promise<SeenDisconnect> {
    const seen = this.disconnects.find((entry) => entry.id === id);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id, rooms: [...socket.rooms] });
  }

  handleDisconnect(socket: RoomSocket, reason: string): void {
    const seen = { id: socket.id, roomsSize: socket.rooms.size, reason };
    this.disconnects.push(seen);
    this.waiting.get(socket.id)?.(seen);
    this.waiting.delete(socket.id);
  }

  @SubscribeMessage('join')
  @JoinRoom((data: { room: string | string[] }) => data.room)
  join(@MessageBody() data: { room: string | string[] }) {
    return { event: 'joined', data: data.room };
  }

  @SubscribeMessage('leave')
  @LeaveRoom((data: { room: string | string[] }) => data.room)
  leave(@MessageBody() data: { room: string | string[] }) {
    return { event: 'left', data: data.room };
  }

  @SubscribeMessage('say')
  @BroadcastTo((data: { room: string }) => data.room)
  say(@MessageBody() data: { room: string; text: string }) {
    return { event: 'said', data };
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown) {
    return data;
  }

  @SubscribeMessage('rooms')
  rooms(@ConnectedSocket() socket: RoomSocket) {
    return { event: 'rooms', data: [...socket.rooms] };
  }
}

@Module({ imports: [RoomsModule.forRoot()], providers: [ChatGateway] })
export class ChatModule {}
