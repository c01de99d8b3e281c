/**
 * The throwaway consumer app the consumer tests install the packed tarball into. The same
 * TypeScript sources serve all four apps (ESM and CommonJS, NestJS 11 and 12): only the app's
 * `package.json` `type` and its `tsconfig.json` module settings differ, so a difference in
 * behaviour can only come from Nest or from the module system.
 *
 * The app reports what the test cannot see from outside as lines `@@consumer {json}` on stdout.
 */

/** How a consumer app is built: its Nest major and its module system. */
export interface ConsumerFlavor {
  readonly name: string;
  readonly nest: 11 | 12;
  readonly module: 'esm' | 'cjs';
}

export const REPORT_PREFIX = '@@consumer ';

const report = `
export function report(kind: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(${JSON.stringify(REPORT_PREFIX)} + JSON.stringify({ kind, ...data }) + '\\n');
}
`;

const announcer = `
import { Injectable } from '@nestjs/common';
import { OnDisconnecting, RoomService, type RoomSocket } from 'nestjs-rooms';
import { report } from './report.js';

/** A plain provider: broadcasts through the injected RoomService and watches disconnects. */
@Injectable()
export class Announcer {
  constructor(private readonly rooms: RoomService) {}

  notify(room: string): void {
    this.rooms.to(\`chat:\${room}\`).emit('notice', { room });
  }

  @OnDisconnecting()
  disconnecting(socket: RoomSocket, rooms: ReadonlySet<string>, reason: string): void {
    const data = { id: socket.id, rooms: [...rooms], reason };
    report('disconnecting', data);
    this.rooms.except(socket.id).emit('left', data);
  }
}
`;

const gateway = `
import {
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
  type OnGatewayConnection,
} from '@nestjs/websockets';
import { JoinRoom, type DisconnectReason, type RoomSocket } from 'nestjs-rooms';
import { report } from './report.js';

@WebSocketGateway({ path: '/chat' })
export class ChatGateway implements OnGatewayConnection {
  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id });
  }

  handleDisconnect(socket: RoomSocket, reason: DisconnectReason): void {
    report('handleDisconnect', { id: socket.id, reason: reason ?? null, roomsSize: socket.rooms.size });
  }

  @SubscribeMessage('join')
  @JoinRoom((data: { room: string }) => \`chat:\${data.room}\`)
  join(@MessageBody() data: { room: string }) {
    return { event: 'joined', data: data.room };
  }

  @SubscribeMessage('fail')
  fail(): never {
    throw new WsException('nope');
  }
}
`;

const controller = `
import { Controller, Param, Post } from '@nestjs/common';
import { Announcer } from './announcer.js';

@Controller('rooms')
export class NotifyController {
  constructor(private readonly announcer: Announcer) {}

  @Post(':room/notify')
  notify(@Param('room') room: string) {
    this.announcer.notify(room);
    return { sent: room };
  }
}
`;

const appModule = `
import { Module } from '@nestjs/common';
import { RoomsModule } from 'nestjs-rooms';
import { Announcer } from './announcer.js';
import { ChatGateway } from './chat.gateway.js';
import { NotifyController } from './notify.controller.js';

@Module({
  imports: [RoomsModule.forRoot({ canJoin: (_socket, room) => !room.startsWith('chat:secret') })],
  controllers: [NotifyController],
  providers: [ChatGateway, Announcer],
})
export class AppModule {}
`;

// No top-level await: the same file has to compile to CommonJS.
const main = `
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { WsException } from '@nestjs/websockets';
import { RoomsAdapter, RoomsError } from 'nestjs-rooms';
import { AppModule } from './app.module.js';
import { report } from './report.js';

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.useWebSocketAdapter(new RoomsAdapter(app));
  await app.listen(0, '127.0.0.1');
  report('identity', {
    moduleSystem: typeof require === 'function' ? 'cjs' : 'esm',
    // The library's WsException must be the app's: one @nestjs/websockets for both.
    sameWsException: new RoomsError('x') instanceof WsException,
  });
  process.once('SIGTERM', () => {
    app.close().then(
      () => report('closed'),
      (error: unknown) => {
        console.error(error);
        process.exitCode = 1;
      },
    );
  });
  report('listening', { port: (app.getHttpServer().address() as AddressInfo).port });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** The app's files, `package.json` and `tsconfig.json` included. */
export function consumerApp(flavor: ConsumerFlavor, tarball: string): Record<string, string> {
  const nest = `^${flavor.nest}.0.0`;
  const packageJson = {
    name: `consumer-${flavor.name}`,
    private: true,
    type: flavor.module === 'esm' ? 'module' : 'commonjs',
    dependencies: {
      '@nestjs/common': nest,
      '@nestjs/core': nest,
      '@nestjs/platform-express': nest,
      '@nestjs/websockets': nest,
      'nestjs-rooms': `file:${tarball}`,
      'reflect-metadata': '^0.2.0',
      rxjs: '^7.8.0',
    },
    devDependencies: { '@types/node': '^20.19.0' },
  };
  // What a Nest 11 CommonJS project typically has (`module: commonjs`, classic resolution of
  // `types`); the others use NodeNext, which reads the `exports` map's `types`.
  const moduleOptions =
    flavor.module === 'cjs' && flavor.nest === 11
      ? { module: 'commonjs', moduleResolution: 'node10' }
      : { module: 'nodenext', moduleResolution: 'nodenext' };
  const tsconfig = {
    compilerOptions: {
      ...moduleOptions,
      target: 'ES2022',
      lib: ['ES2023'],
      types: ['node'],
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
      skipLibCheck: true,
      rootDir: 'src',
      outDir: 'dist',
    },
    include: ['src'],
  };
  return {
    'package.json': JSON.stringify(packageJson, null, 2),
    'tsconfig.json': JSON.stringify(tsconfig, null, 2),
    'src/report.ts': report,
    'src/announcer.ts': announcer,
    'src/chat.gateway.ts': gateway,
    'src/notify.controller.ts': controller,
    'src/app.module.ts': appModule,
    'src/main.ts': main,
  };
}
