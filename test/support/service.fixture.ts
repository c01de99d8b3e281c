import { Body, Controller, Injectable, Module, Param, Post, type Type } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import {
  JoinRoom,
  LeaveRoom,
  OnServerEvent,
  RoomsError,
  RoomService,
  RoomsModule,
  type RoomSocket,
  type RoomsModuleOptions,
} from '../../lib/index.js';

/**
 * The gateway of the RoomService tests, on `/svc`. Like the chat gateway it sends `welcome` with
 * the socket id on connect; it also lets a client set `socket.data` and ask for a server-side
 * `socket.join`, and it lets a test wait until the server has seen a socket go.
 */
@WebSocketGateway({ path: '/svc' })
export class ServiceGateway implements OnGatewayConnection, OnGatewayDisconnect {
  private readonly gone = new Set<string>();
  private readonly waiting = new Map<string, () => void>();

  /** Resolves once `handleDisconnect` has run for that socket id. */
  disconnected(id: string): Promise<void> {
    if (this.gone.has(id)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id, rooms: [...socket.rooms] });
  }

  handleDisconnect(socket: RoomSocket): void {
    this.gone.add(socket.id);
    this.waiting.get(socket.id)?.();
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

  /** `socket.data.tag = data`, as an app would store a user id after authenticating. */
  @SubscribeMessage('tag')
  tag(@MessageBody() data: unknown, @ConnectedSocket() socket: RoomSocket) {
    socket.data.tag = data;
    return { event: 'tagged', data };
  }

  /** A server-side `socket.join(rooms)`, reporting how it went and the rooms afterwards. */
  @SubscribeMessage('server-join')
  async serverJoin(@MessageBody() data: { room: string | string[] }, @ConnectedSocket() socket: RoomSocket) {
    try {
      await socket.join(data.room);
      return { event: 'server-joined', data: { ok: true, rooms: [...socket.rooms] } };
    } catch (error) {
      return {
        event: 'server-joined',
        data: {
          ok: false,
          roomsError: error instanceof RoomsError,
          message: error instanceof Error ? error.message : String(error),
          rooms: [...socket.rooms],
        },
      };
    }
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown) {
    return { event: 'echo', data };
  }

  @SubscribeMessage('rooms')
  rooms(@ConnectedSocket() socket: RoomSocket) {
    return { event: 'rooms', data: [...socket.rooms] };
  }
}

/** Records every `probe` server event it receives (it should receive none from its own server). */
@Injectable()
export class ServerEventProbe {
  readonly calls: unknown[][] = [];

  @OnServerEvent('probe')
  onProbe(...args: unknown[]) {
    this.calls.push(args);
    return 'probe answer';
  }
}

/** An HTTP entry point that notifies a project's room, as a REST API next to a gateway would. */
@Controller()
export class NotifyController {
  constructor(private readonly rooms: RoomService) {}

  @Post('projects/:id/notify')
  notify(@Param('id') id: string, @Body() body: { message: string }) {
    this.rooms.to(`project:${id}`).emit('project notified', { id, message: body.message });
    return { notified: `project:${id}` };
  }
}

/** A root module with the service gateway, the probe and the controller, on the given options. */
export function serviceModule(options?: RoomsModuleOptions): Type {
  @Module({
    imports: [options === undefined ? RoomsModule.forRoot() : RoomsModule.forRoot(options)],
    controllers: [NotifyController],
    providers: [ServiceGateway, ServerEventProbe],
  })
  class ServiceModule {}
  return ServiceModule;
}
