import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
  type OnGatewayConnection,
} from '@nestjs/websockets';
import { BroadcastTo, JoinRoom, LeaveRoom, OnDisconnecting, RoomService, type RoomSocket } from '../lib/index.js';
import { Directory } from './directory.js';
import { personOf } from './people.js';
import { isPublicRoom, isSocketId, label, LABEL_RULE, publicName, publicRoom, userRoom } from './room-names.js';

interface Hello {
  name?: unknown;
}

interface RoomMessage {
  room?: unknown;
  text?: unknown;
}

interface PrivateMessage {
  to?: unknown;
  text?: unknown;
}

/** `chat:<room>` for the room a message names; a bad name answers the client with an exception frame. */
function roomOf(data: RoomMessage): string {
  const name = label(data?.room);
  if (name === undefined) throw new WsException(`A room name is ${LABEL_RULE}.`);
  return publicRoom(name);
}

function textOf(data: { text?: unknown }): string {
  const text = typeof data?.text === 'string' ? data.text.trim() : '';
  if (text.length === 0 || text.length > 1000) throw new WsException('A message is 1 to 1000 characters.');
  return text;
}

/** A private message goes to one socket: its target must be a socket id, not a room name. */
function recipientOf(data: PrivateMessage): string {
  if (!isSocketId(data?.to)) throw new WsException('"to" must be a socket id.');
  return data.to;
}

/**
 * The chat: pick a name (every tab with that name shares the room `user:<name>`), join and leave
 * public rooms, talk in them, message one person by socket id, and hear who left.
 */
@WebSocketGateway({ path: '/chat' })
export class ChatGateway implements OnGatewayConnection {
  constructor(
    private readonly rooms: RoomService,
    private readonly directory: Directory,
  ) {}

  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id });
  }

  @SubscribeMessage('hello')
  async hello(@MessageBody() data: Hello, @ConnectedSocket() socket: RoomSocket) {
    if (typeof socket.data.name === 'string') throw new WsException('This tab already has a name.');
    const name = label(data?.name);
    if (name === undefined) throw new WsException(`A name is ${LABEL_RULE}.`);
    socket.data.name = name;
    await socket.join(userRoom(name)); // server code may join any room; clients only reach chat:* and project:*
    socket.sendEvent('rooms', this.directory.publicRooms());
    return { event: 'hello', data: { id: socket.id, name } };
  }

  /** Joins the room and shows the tab in its presence under its person's name (the room list's "who is here"). */
  @SubscribeMessage('join')
  @JoinRoom(roomOf) // RoomsModule's canJoin lets only named sockets in
  async join(@MessageBody() data: RoomMessage, @ConnectedSocket() socket: RoomSocket) {
    const room = roomOf(data);
    const person = personOf(socket);
    if (!socket.rooms.has(room)) socket.to(room).emit('user joined', { ...person, room: publicName(room) });
    await socket.track(room, person.name); // leaving the room or closing the tab untracks it
    return { event: 'joined', data: publicName(room) };
  }

  @SubscribeMessage('leave')
  @LeaveRoom(roomOf)
  leave(@MessageBody() data: RoomMessage, @ConnectedSocket() socket: RoomSocket) {
    const room = roomOf(data);
    if (socket.rooms.has(room)) socket.to(room).emit('user left', { ...personOf(socket), rooms: [publicName(room)] });
    return { event: 'left', data: publicName(room) };
  }

  /** To everyone else in the room: the sender shows its own message itself. */
  @SubscribeMessage('say')
  @BroadcastTo(roomOf)
  say(@MessageBody() data: RoomMessage, @ConnectedSocket() socket: RoomSocket) {
    const room = roomOf(data);
    if (!socket.rooms.has(room)) throw new WsException('Join the room before talking in it.');
    return { event: 'said', data: { room: publicName(room), text: textOf(data), from: personOf(socket) } };
  }

  /** Every socket is alone in the room named by its id, so a socket id is a private address. */
  @SubscribeMessage('whisper')
  @BroadcastTo(recipientOf)
  whisper(@MessageBody() data: PrivateMessage, @ConnectedSocket() socket: RoomSocket) {
    return { event: 'whisper', data: { text: textOf(data), from: personOf(socket) } };
  }

  /** Runs before the socket leaves its rooms, so `rooms` still says where it was. */
  @OnDisconnecting()
  announceLeaving(socket: RoomSocket, rooms: ReadonlySet<string>): void {
    const left = [...rooms].filter(isPublicRoom);
    if (left.length === 0 || typeof socket.data.name !== 'string') return;
    // One frame per socket however many of these rooms it shares with the leaver.
    this.rooms
      .to(left)
      .except(socket.id)
      .emit('user left', { ...personOf(socket), rooms: left.map(publicName) });
  }
}
