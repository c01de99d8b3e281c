/**
 * One server of a cluster as its own process, run by the broker conformance suite (so that it can
 * be killed with SIGKILL): the chat gateway on the broker `BROKER` (`redis`, `nats`, `postgres`) at `BROKER_URL`,
 * and HTTP routes to ask
 * the cluster from this server; with `RECOVERY=1`, connection recovery is on (the recovery gateway
 * is at `/recovery`). It prints one JSON line per fact on stdout: `{"port","node"}` once
 * listening, then `{"peerUp": id}` / `{"peerDown": id}` as it sees other servers come and go, and
 * `{"presence": room, "diff", "at"}` for every presence event (`at`: `Date.now()` when it fired).
 * It exits when its stdin closes, so that it never outlives the test that started it.
 */
import 'reflect-metadata';
import { Body, Controller, Get, HttpException, Module, Post, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RoomsAdapter, RoomService, RoomsModule } from '../../lib/index.js';
import type { Broker } from '../../lib/index.js';
import { clusterOf } from './app.js';
import { ChatGateway } from './chat.fixture.js';
import { HookRecorder } from './hook-recorder.js';
import { PresenceGateway } from './presence.fixture.js';
import { RecoveryGateway } from './recovery.fixture.js';

const url = process.env.BROKER_URL;
if (url === undefined) throw new Error('BROKER_URL is not set');
const timings = { heartbeatInterval: 200, heartbeatTimeout: 1000, requestTimeout: 8000 };

/** Imported only for the broker asked for, so that each needs only its own client library. */
async function brokerFromEnv(): Promise<Broker> {
  switch (process.env.BROKER) {
    case 'redis': {
      const { RedisBroker } = await import('../../lib/redis/index.js');
      return new RedisBroker({ url, ...timings });
    }
    case 'nats': {
      const { NatsBroker } = await import('../../lib/nats/index.js');
      return new NatsBroker({ servers: url, ...timings });
    }
    case 'postgres': {
      const { PostgresBroker } = await import('../../lib/postgres/index.js');
      return new PostgresBroker({ connectionString: url, ...timings });
    }
    default:
      throw new Error(`unknown BROKER ${process.env.BROKER}`);
  }
}

const say = (fact: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(fact)}\n`);

/** A cluster request's failure as a 500 that says what went wrong. */
async function answer<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    throw new HttpException({ error: error instanceof Error ? error.message : String(error) }, 500);
  }
}

@Controller()
class ClusterController {
  constructor(private readonly rooms: RoomService) {}

  @Get('count')
  async count(@Query('room') room: string) {
    return { count: await answer(this.rooms.in(room).count()) };
  }

  @Get('fetch')
  async fetch(@Query('room') room: string) {
    const sockets = await answer(this.rooms.in(room).fetchSockets());
    return { ids: sockets.map((socket) => socket.id) };
  }

  @Get('presence')
  presence(@Query('room') room: string) {
    return this.rooms.presence(room);
  }

  @Post('emit')
  emit(@Body() body: { room: string; event: string; data?: unknown }) {
    this.rooms.to(body.room).emit(body.event, body.data);
    return { emitted: true };
  }
}

@Module({
  imports: [
    RoomsModule.forRoot({
      broker: await brokerFromEnv(),
      ...(process.env.RECOVERY === '1' ? { recovery: {} } : {}),
    }),
  ],
  controllers: [ClusterController],
  providers: [ChatGateway, PresenceGateway, HookRecorder, RecoveryGateway],
})
class ClusterServerModule {}

process.stdin.on('end', () => process.exit(0)).resume();

const app = await NestFactory.create(ClusterServerModule, { logger: false });
app.useWebSocketAdapter(new RoomsAdapter(app));
const cluster = clusterOf(app);
cluster.on('peer-up', (node) => say({ peerUp: node }));
cluster.on('peer-down', (node) => say({ peerDown: node }));
app.get(RoomService).on('presence', (room, diff) => say({ presence: room, diff, at: Date.now() }));
await app.listen(0, '127.0.0.1');
say({ port: (app.getHttpServer().address() as { port: number }).port, node: cluster.id });
