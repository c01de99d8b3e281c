import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
} from '@nestjs/websockets';
import { BroadcastTo, JoinRoom, LeaveRoom, OnDisconnecting, RoomService, type RoomSocket } from '../lib/index.js';

interface RoomMessage {
  room: string;
  text?: string;
}

/** A small chat: join and leave rooms, talk in them, hear who left. */
@WebSocketGateway({ path: '/chat' })
export class ChatGateway implements OnGatewayConnection {
  constructor(private readonly rooms: RoomService) {}

  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id });
  }

  @SubscribeMessage('join')
  @JoinRoom((data: RoomMessage) => `chat:${data.room}`)
  join(@MessageBody() data: RoomMessage) {
    return { event: 'joined', data: data.room };
  }

  @SubscribeMessage('leave')
  @LeaveRoom((data: RoomMessage) => `chat:${data.room}`)
  leave(@MessageBody() data: RoomMessage) {
    return { event: 'left', data: data.room };
  }

  @SubscribeMessage('say')
  @BroadcastTo((data: RoomMessage) => `chat:${data.room}`)
  say(@MessageBody() data: RoomMessage, @ConnectedSocket() socket: RoomSocket) {
    return { event: 'said', data: { room: data.room, text: data.text, from: socket.id } };
  }

  @OnDisconnecting()
  announceLeaving(socket: RoomSocket, rooms: ReadonlySet<string>): void {
    const chatRooms = [...rooms].filter((room) => room.startsWith('chat:'));
    if (chatRooms.length > 0) this.rooms.to(chatRooms).except(socket.id).emit('user left', { id: socket.id });
  }
}
