import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Inject, Injectable, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  RoomsAdapter,
  RoomsError,
  RoomService,
  RoomsModule,
  type RoomsModuleOptions,
  type RoomsOptionsFactory,
  type RoomSocket,
} from '../../lib/index.js';
import type { TestApp } from '../support/app.js';
import { ChatGateway, ChatModule } from '../support/chat.fixture.js';
import { closeAll, TestClient, type Frame } from '../support/client.js';

// ---- fixtures ------------------------------------------------------------------------------

const ROOMS_CONFIG = Symbol('ROOMS_CONFIG');

interface RoomsConfig {
  maxRooms: number;
  forbiddenPrefix: string;
}

/** A config module of the app, as `@nestjs/config` would be: the options come from here. */
@Module({
  providers: [{ provide: ROOMS_CONFIG, useValue: { maxRooms: 1, forbiddenPrefix: 'forbidden:' } }],
  exports: [ROOMS_CONFIG],
})
class RoomsConfigModule {}

@Module({
  imports: [
    RoomsModule.forRootAsync({
      imports: [RoomsConfigModule],
      inject: [ROOMS_CONFIG],
      useFactory: (config: RoomsConfig): RoomsModuleOptions => ({ maxRoomsPerSocket: config.maxRooms }),
    }),
  ],
  providers: [ChatGateway],
})
class FactoryModule {}

/** `useClass`: Nest instantiates it inside RoomsModule; its options come asynchronously. */
@Injectable()
class ClassRoomsOptions implements RoomsOptionsFactory {
  async createRoomsOptions(): Promise<RoomsModuleOptions> {
    return { canJoin: (_socket: RoomSocket, room: string) => !room.startsWith('vip:') };
  }
}

@Module({ imports: [RoomsModule.forRootAsync({ useClass: ClassRoomsOptions })], providers: [ChatGateway] })
class UseClassModule {}

/** `useExisting`: a provider of another module, with its own dependencies. */
@Injectable()
class ExistingRoomsOptions implements RoomsOptionsFactory {
  constructor(@Inject(ROOMS_CONFIG) private readonly config: RoomsConfig) {}

  createRoomsOptions(): RoomsModuleOptions {
    return { canJoin: (_socket, room) => !room.startsWith(this.config.forbiddenPrefix), maxRoomsPerSocket: 2 };
  }
}

@Module({ imports: [RoomsConfigModule], providers: [ExistingRoomsOptions], exports: [ExistingRoomsOptions] })
class OptionsModule {}

@Module({
  imports: [RoomsModule.forRootAsync({ imports: [OptionsModule], useExisting: ExistingRoomsOptions })],
  providers: [ChatGateway],
})
class UseExistingModule {}

@Module({ imports: [RoomsModule.forRoot({ maxRoomsPerSocket: 1 })], providers: [ChatGateway] })
class OneRoomModule {}

/** A feature module that does not import RoomsModule, yet injects RoomService. */
@Injectable()
class Announcer {
  constructor(readonly rooms: RoomService) {}

  announce(room: string, text: string): void {
    this.rooms.to(room).emit('announcement', text);
  }
}

@Module({ providers: [Announcer], exports: [Announcer] })
class FeatureModule {}

@Module({ imports: [RoomsModule.forRoot(), FeatureModule], providers: [ChatGateway] })
class GlobalAppModule {}

// ---- helpers ---------------------------------------------------------------------------------

type App = Pick<TestApp, 'app' | 'rooms' | 'url' | 'close'>;

/**
 * Like `startApp`, but with `abortOnError: false`, so that a module that fails to resolve fails
 * its own test instead of ending the process.
 */
async function boot(module: Type): Promise<App> {
  const app = await NestFactory.create(module, { logger: false, abortOnError: false });
  app.useWebSocketAdapter(new RoomsAdapter(app));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return {
    app,
    rooms: app.get(RoomService),
    url: (path = '/') => `ws://127.0.0.1:${port}${path}`,
    close: () => app.close(),
  };
}

async function withApp(module: Type, run: (app: App) => Promise<void>): Promise<void> {
  const app = await boot(module);
  try {
    await run(app);
  } finally {
    await app.close();
  }
}

const chat = (app: App) => TestClient.connect(app.url('/chat'));

async function join(client: TestClient, room: string | string[]): Promise<void> {
  assert.deepEqual(await client.request('join', { room }), { event: 'joined', data: room });
}

/** Asks to join and expects an exception frame whose message matches `message`. */
async function refused(client: TestClient, room: string | string[], message: RegExp): Promise<void> {
  const reply = await client.request('join', { room });
  assert.equal(reply.event, 'exception', `join ${JSON.stringify(room)} answered ${JSON.stringify(reply)}`);
  assert.match(reply.data.message, message);
}

async function roomsOf(client: TestClient): Promise<string[]> {
  const reply = await client.request('rooms');
  assert.equal(reply.event, 'rooms');
  return reply.data as string[];
}

/** `client` gets exactly `frames` from `app` and nothing else: a marker sent afterwards comes next. */
async function expectFrames(app: App, client: TestClient, frames: Frame[]): Promise<void> {
  app.rooms.to(client.id).emit('marker');
  const got: Frame[] = [];
  for (let i = 0; i <= frames.length; i++) got.push(await client.next());
  assert.deepEqual(got, [...frames, { event: 'marker' }]);
}

// ---- tests -----------------------------------------------------------------------------------

describe('RoomsModule', () => {
  it('forRoot() with no argument works with the documented defaults', async () => {
    await withApp(ChatModule, async (app) => {
      const a = await chat(app);
      await join(a, ['x'.repeat(256), 'plain']);
      app.rooms.to('plain').emit('hello');
      await expectFrames(app, a, [{ event: 'hello' }]);
      await refused(a, 'y'.repeat(257), /256/);
      // default maxRoomsPerSocket: 1000, the own id room aside
      const thousand = Array.from({ length: 998 }, (_, i) => `r${i}`);
      await app.rooms.in(a.id).socketsJoin(thousand);
      assert.equal((await roomsOf(a)).length, 1001);
      await assert.rejects(app.rooms.in(a.id).socketsJoin('one-too-many'), RoomsError);
      await closeAll([a]);
    });
  });

  it('maxRoomNameLength counts characters (code points): 256 emoji fit, 257 do not, from a client and from server code', async () => {
    await withApp(ChatModule, async (app) => {
      const a = await chat(app);
      // Each emoji is two UTF-16 units: 256 of them are 512 units but 256 characters.
      const fits = '😀'.repeat(256);
      const tooLong = '😀'.repeat(257);
      await join(a, fits);
      await join(a, ['é'.repeat(255) + '😀']);
      await refused(a, tooLong, /256 characters/);
      await refused(a, [fits, tooLong], /256 characters/);
      assert.deepEqual(await roomsOf(a), [a.id, fits, 'é'.repeat(255) + '😀']);
      app.rooms.to(fits).emit('emoji');
      await expectFrames(app, a, [{ event: 'emoji' }]);
      await assert.rejects(app.rooms.in(a.id).socketsJoin(tooLong), RoomsError);
      await app.rooms.in(a.id).socketsLeave(fits);
      assert.deepEqual(await roomsOf(a), [a.id, 'é'.repeat(255) + '😀']);
      await closeAll([a]);
    });
  });

  it('forRoot({ maxRoomsPerSocket: 1 }) is applied', async () => {
    await withApp(OneRoomModule, async (app) => {
      const a = await chat(app);
      await join(a, 'first');
      await refused(a, 'second', /at most 1 room/);
      assert.deepEqual(await roomsOf(a), [a.id, 'first']);
      await assert.rejects(app.rooms.in(a.id).socketsJoin('second'), RoomsError);
      await closeAll([a]);
    });
  });

  it('forRootAsync({ useFactory, inject, imports }) takes its options from an injected provider', async () => {
    await withApp(FactoryModule, async (app) => {
      const a = await chat(app);
      await join(a, 'first');
      await refused(a, 'second', /at most 1 room/);
      assert.deepEqual(await roomsOf(a), [a.id, 'first']);
      await closeAll([a]);
    });
  });

  it('forRootAsync({ useClass }) calls createRoomsOptions() and applies its canJoin', async () => {
    await withApp(UseClassModule, async (app) => {
      const a = await chat(app);
      await refused(a, 'vip:lounge', /vip:lounge/);
      await join(a, 'lobby');
      assert.deepEqual(await roomsOf(a), [a.id, 'lobby']);
      await closeAll([a]);
    });
  });

  it('forRootAsync({ useExisting }) uses an existing provider of an imported module', async () => {
    await withApp(UseExistingModule, async (app) => {
      const a = await chat(app);
      await refused(a, 'forbidden:zone', /forbidden:zone/);
      await join(a, ['one', 'two']);
      await refused(a, 'three', /at most 2 rooms/);
      assert.deepEqual(await roomsOf(a), [a.id, 'one', 'two']);
      await closeAll([a]);
    });
  });

  it('is global: a feature module that does not import it gets RoomService injected', async () => {
    await withApp(GlobalAppModule, async (app) => {
      const announcer = app.app.get(Announcer);
      assert.equal(announcer.rooms, app.rooms);
      const [a, b] = await Promise.all([chat(app), chat(app)]);
      await join(a, 'news');
      announcer.announce('news', 'extra!');
      await expectFrames(app, a, [{ event: 'announcement', data: 'extra!' }]);
      await expectFrames(app, b, []);
      await closeAll([a, b]);
    });
  });

  it('RoomsAdapter without RoomsModule fails at start-up with an error naming RoomsModule.forRoot()', async () => {
    // In a child process with Nest's default options: see test/support/missing-module.main.ts.
    const script = fileURLToPath(new URL('../support/missing-module.main.js', import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 0, `the app process ended with code ${code} before app.listen settled; stderr: ${stderr}`);
    const outcome = JSON.parse(stdout) as { rejected?: boolean; message?: string };
    assert.equal(outcome.rejected, true, `app.listen did not reject: ${stdout}`);
    assert.match(outcome.message!, /RoomsModule\.forRoot\(\)/);
  });

  it('two apps in one process share nothing', async () => {
    const appA = await boot(ChatModule);
    const appB = await boot(ChatModule);
    try {
      const a = await chat(appA);
      const b = await chat(appB);
      await join(a, 'same');
      await join(b, 'same');
      await join(a, 'only-in-a');

      appA.rooms.to('same').emit('from A');
      appA.rooms.to(b.id).emit('from A, by id');
      appA.rooms.emit('from A, to everyone');
      await expectFrames(appA, a, [{ event: 'from A' }, { event: 'from A, to everyone' }]);
      await expectFrames(appB, b, []);

      appB.rooms.to('same').emit('from B');
      await expectFrames(appB, b, [{ event: 'from B' }]);
      await expectFrames(appA, a, []);

      assert.equal(await appA.rooms.count(), 1);
      assert.equal(await appB.rooms.to('same').count(), 1);
      assert.deepEqual(
        (await appB.rooms.fetchSockets()).map((socket) => socket.id),
        [b.id],
      );
      assert.deepEqual(await appA.rooms.allRooms(), new Set(['same', 'only-in-a']));
      assert.deepEqual(await appB.rooms.allRooms(), new Set(['same']));
      await closeAll([a, b]);
    } finally {
      await Promise.all([appA.close(), appB.close()]);
    }
  });
});
