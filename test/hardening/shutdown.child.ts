/**
 * Run as its own process by shutdown.test.ts: an app with a gateway and disconnect hooks, on the
 * in-memory broker or (with REDIS_URL) on Redis. It connects nothing itself. It prints one JSON
 * line per event: `ready` (port and cluster node id), every hook call, and on SIGTERM what keeps
 * the event loop busy before and after `app.close()`. It never calls `process.exit`: the test
 * checks that, once closed, the process ends by itself.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RoomsAdapter, RoomsModule, type RoomsModuleOptions } from '../../lib/index.js';
import { RedisBroker } from '../../lib/redis/index.js';
import { clusterOf } from '../support/app.js';
import { HookRecorder, recordingGateway, RecordingDisconnectHooks, summary } from '../support/hook-recorder.js';

function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const ShutdownGateway = recordingGateway('/shutdown');

const redisUrl = process.env.REDIS_URL;
const options: RoomsModuleOptions = redisUrl === undefined ? {} : { broker: new RedisBroker({ url: redisUrl }) };

@Module({
  imports: [RoomsModule.forRoot(options)],
  providers: [HookRecorder, RecordingDisconnectHooks, ShutdownGateway],
})
class ShutdownModule {}

const app = await NestFactory.create(ShutdownModule, { logger: false });
app.get(HookRecorder).onRecord((call) => say({ id: call.id, ...summary(call) }));
app.useWebSocketAdapter(new RoomsAdapter(app, { heartbeatInterval: 500 }));
await app.listen(0, '127.0.0.1');
const { port } = app.getHttpServer().address() as { port: number };
say({ ready: true, port, node: clusterOf(app).id });

process.once('SIGTERM', () => {
  say({ closing: true, resources: process.getActiveResourcesInfo() });
  app.close().then(
    () => {
      say({ closed: true });
      // Only printed if something still keeps the process alive a while after the close.
      setTimeout(() => say({ stillAlive: true, resources: process.getActiveResourcesInfo() }), 2000).unref();
    },
    (error: unknown) => {
      say({ closeFailed: String(error) });
      process.exitCode = 1;
    },
  );
});
