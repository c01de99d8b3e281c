import { Module, type Type } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
  type OnGatewayConnection,
} from '@nestjs/websockets';
import type { LifecycleEvents, RoomsClient } from '../../lib/client/index.js';
import { JoinRoom, RoomService, RoomsModule, type Broker, type RoomSocket } from '../../lib/index.js';

/** The gateway `RoomsClient` is tested against: replies, refusals, silence, acks and closes on request. */
@WebSocketGateway({ path: '/client' })
export class ClientGateway implements OnGatewayConnection {
  /** The server side of every client that connected, by id, for tests that act on it. */
  readonly sockets = new Map<string, RoomSocket>();

  constructor(private readonly rooms: RoomService) {}

  handleConnection(socket: RoomSocket): void {
    this.sockets.set(socket.id, socket);
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown) {
    return { event: 'echoed', data };
  }

  @SubscribeMessage('whoami')
  whoami(@ConnectedSocket() socket: RoomSocket) {
    return { event: 'you', data: socket.id };
  }

  @SubscribeMessage('fail')
  fail(): never {
    throw new WsException('nope');
  }

  /** Never answers: a request for it times out. */
  @SubscribeMessage('silent')
  silent(): void {
    // nothing
  }

  @SubscribeMessage('join')
  @JoinRoom((data: { room: string }) => data.room)
  join(@MessageBody() data: { room: string }) {
    return { event: 'joined', data: data.room };
  }

  /** Asks the asking socket `question` with an ack and answers with what came back. */
  @SubscribeMessage('ask')
  async ask(@MessageBody() data: unknown, @ConnectedSocket() socket: RoomSocket) {
    try {
      const answers = await this.rooms.to(socket.id).timeout(500).emitWithAck('question', data);
      return { event: 'answers', data: answers };
    } catch {
      return { event: 'answers', data: 'timed out' };
    }
  }

  /** Closes the asking socket's connection with that code. */
  @SubscribeMessage('close-with')
  closeWith(@MessageBody() code: number, @ConnectedSocket() socket: RoomSocket): void {
    socket.close(code);
  }
}

/** An app with that gateway; `recovery` turns connection recovery on. */
export function clientModule(options: { recovery?: boolean; broker?: Broker } = {}): Type {
  @Module({
    imports: [
      RoomsModule.forRoot({
        ...(options.recovery === true ? { recovery: { maxDisconnection: 20_000 } } : {}),
        ...(options.broker === undefined ? {} : { broker: options.broker }),
      }),
    ],
    providers: [ClientGateway],
  })
  class ClientModule {}
  return ClientModule;
}

/** The next time `client` fires one of its own events. */
export function next<E extends keyof LifecycleEvents>(client: RoomsClient, event: E): Promise<LifecycleEvents[E]> {
  return new Promise((resolve) => client.once(event, resolve as never));
}
