import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
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
  OnDisconnect,
  RoomService,
  RoomsAdapter,
  RoomsModule,
  type RoomSocket,
  type RoomsAdapterOptions,
} from '../../lib/index.js';
import { listenWith, type TestApp } from './app.js';
import { HookRecorder, RecordingDisconnectHooks } from './hook-recorder.js';
import { within } from './timing.js';

type RoomsData = { room: string | string[] };

/** The common part of the test gateways: welcome, record `connect:<name>`/`disconnect:<name>`. */
abstract class RecordingGateway implements OnGatewayConnection, OnGatewayDisconnect {
  protected abstract readonly name: string;
  /** The event its `handleConnection` sends (with `{id}`). */
  protected readonly greeting: string = 'welcome';

  constructor(protected readonly recorder: HookRecorder) {}

  handleConnection(socket: RoomSocket): void {
    this.recorder.record(`connect:${this.name}`, socket);
    socket.sendEvent(this.greeting, { id: socket.id });
  }

  handleDisconnect(socket: RoomSocket, reason: string): void {
    this.recorder.record(`disconnect:${this.name}`, socket, { reason });
  }
}

@WebSocketGateway({ path: '/a' })
export class GatewayA extends RecordingGateway {
  protected readonly name = 'A';

  constructor(recorder: HookRecorder) {
    super(recorder);
  }

  @SubscribeMessage('join')
  @JoinRoom((data: RoomsData) => data.room)
  join(@MessageBody() data: RoomsData) {
    return { event: 'joined', data: data.room };
  }

  @SubscribeMessage('only-a')
  onlyA(@MessageBody() data: unknown) {
    return { event: 'from-a', data };
  }

  /** An app event that shares its name with `ws`'s own `message` event. */
  @SubscribeMessage('message')
  message(@MessageBody() data: unknown, @ConnectedSocket() socket: RoomSocket) {
    return { event: 'message', data: { echo: data, id: socket.id } };
  }
}

@WebSocketGateway({ path: '/b' })
export class GatewayB extends RecordingGateway {
  protected readonly name = 'B';

  constructor(recorder: HookRecorder) {
    super(recorder);
  }

  @SubscribeMessage('join')
  @JoinRoom((data: RoomsData) => data.room)
  join(@MessageBody() data: RoomsData) {
    return { event: 'joined', data: data.room };
  }

  @SubscribeMessage('only-b')
  onlyB(@MessageBody() data: unknown) {
    return { event: 'from-b', data };
  }
}

/** First of two gateways on `/shared`: it sends `welcome`. */
@WebSocketGateway({ path: '/shared' })
export class SharedOneGateway extends RecordingGateway {
  protected readonly name = 'One';

  constructor(recorder: HookRecorder) {
    super(recorder);
  }

  @SubscribeMessage('one')
  one(@MessageBody() data: unknown) {
    return { event: 'from-one', data };
  }
}

/** Second gateway on `/shared`: it sends `hello-two`. */
@WebSocketGateway({ path: '/shared' })
export class SharedTwoGateway extends RecordingGateway {
  protected readonly name = 'Two';
  protected override readonly greeting = 'hello-two';

  constructor(recorder: HookRecorder) {
    super(recorder);
  }

  @SubscribeMessage('two')
  two(@MessageBody() data: unknown) {
    return { event: 'from-two', data };
  }
}

@Module({
  imports: [RoomsModule.forRoot()],
  providers: [HookRecorder, RecordingDisconnectHooks, GatewayA, GatewayB, SharedOneGateway, SharedTwoGateway],
})
export class AdapterModule {}

/**
 * A module with `GatewayA` on the app's server and a gateway listening on its own `port` at
 * `/own`; the class is made here because `@WebSocketGateway(port)` needs the port at decoration.
 */
export function ownPortModule(port: number): Type {
  @WebSocketGateway(port, { path: '/own' })
  class OwnPortGateway extends RecordingGateway {
    protected readonly name = 'Own';

    constructor(recorder: HookRecorder) {
      super(recorder);
    }

    @SubscribeMessage('join')
    @JoinRoom((data: RoomsData) => data.room)
    join(@MessageBody() data: RoomsData) {
      return { event: 'joined', data: data.room };
    }

    @SubscribeMessage('only-own')
    onlyOwn(@MessageBody() data: unknown) {
      return { event: 'from-own', data };
    }
  }

  @Module({
    imports: [RoomsModule.forRoot()],
    providers: [HookRecorder, RecordingDisconnectHooks, GatewayA, OwnPortGateway],
  })
  class OwnPortModule {}

  return OwnPortModule;
}

/** `startApp` that also hands back the adapter instance and the app's recorder. */
export interface AdapterTestApp extends TestApp {
  adapter: RoomsAdapter;
  recorder: HookRecorder;
}

export async function startAdapterApp(module: Type, options: RoomsAdapterOptions = {}): Promise<AdapterTestApp> {
  const app: INestApplication = await NestFactory.create(module, { logger: false });
  const adapter = new RoomsAdapter(app, options);
  return { ...(await listenWith(app, adapter)), adapter, recorder: app.get(HookRecorder) };
}

// ---- Fastify ----------------------------------------------------------------------------------

@WebSocketGateway({ path: '/f' })
export class FastifyGateway extends RecordingGateway {
  protected readonly name = 'F';

  constructor(recorder: HookRecorder) {
    super(recorder);
  }

  @SubscribeMessage('join')
  @JoinRoom((data: RoomsData) => data.room)
  join(@MessageBody() data: RoomsData) {
    return { event: 'joined', data: data.room };
  }
}

/** An HTTP route that broadcasts through the injected `RoomService`. */
@Controller()
export class BroadcastController {
  constructor(private readonly rooms: RoomService) {}

  @Post('broadcast')
  @HttpCode(200)
  broadcast(@Body() body: { room: string; event: string; data?: unknown }) {
    this.rooms.to(body.room).emit(body.event, body.data);
    return { sent: true };
  }
}

@Module({
  imports: [RoomsModule.forRoot()],
  controllers: [BroadcastController],
  providers: [HookRecorder, RecordingDisconnectHooks, FastifyGateway],
})
export class FastifyRoomsModule {}

// ---- Leaks ------------------------------------------------------------------------------------

/** Joins the rooms it is given (an array) and counts `@OnDisconnect` calls. */
@WebSocketGateway({ path: '/leak' })
export class LeakGateway implements OnGatewayConnection {
  disconnects = 0;
  private readonly targets: Array<{ target: number; resolve: () => void }> = [];

  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id });
  }

  @SubscribeMessage('join')
  @JoinRoom((data: { rooms: string[] }) => data.rooms)
  join(@MessageBody() data: { rooms: string[] }) {
    return { event: 'joined', data: data.rooms };
  }

  @OnDisconnect()
  disconnected(): void {
    this.disconnects++;
    for (let i = this.targets.length - 1; i >= 0; i--) {
      if (this.disconnects >= this.targets[i].target) this.targets.splice(i, 1)[0].resolve();
    }
  }

  /** Resolves once `@OnDisconnect` has run `target` times. */
  reach(target: number, timeoutMs = 30_000): Promise<void> {
    if (this.disconnects >= target) return Promise.resolve();
    const reached = new Promise<void>((resolve) => this.targets.push({ target, resolve }));
    return within(reached, timeoutMs, `@OnDisconnect x${target}`);
  }
}

@Module({ imports: [RoomsModule.forRoot()], providers: [LeakGateway] })
export class LeakModule {}
