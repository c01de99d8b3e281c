import 'reflect-metadata';
import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RoomsAdapter, type Broker } from '../lib/index.js';
import { AppModule } from './app.module.js';

/** `sample/public`, whether this file runs from `sample/` or compiled into `build/sample/`. */
export const publicDir = ['public', '../../sample/public']
  .map((relative) => fileURLToPath(new URL(relative, import.meta.url)))
  .find((dir) => existsSync(dir))!;

/** nestjs-rooms/client as built (`build/lib/client/`), served to the page at `/client/`. */
export const clientDir = fileURLToPath(new URL('../lib/client/', import.meta.url));

/**
 * `allowedOrigins` of the sample: the chat page is served by this app, so a browser opening the
 * chat from it sends an `Origin` whose host is the one it connects to. A page of another site gets
 * 403 instead of riding on the visitor's cookies; clients that are not browsers send no `Origin`.
 * (Behind a proxy that rewrites `Host`, list the public origins: `['https://chat.example.com']`.)
 */
export function fromThisSite(origin: string | undefined, request: IncomingMessage): boolean {
  if (origin === undefined) return true;
  return URL.canParse(origin) && new URL(origin).host === request.headers.host;
}

/**
 * The sample app, wired as any user's app would be: the module, the rooms adapter and the page.
 * `metrics: false` leaves its rooms off `GET /metrics`, for a second app in one process.
 */
export async function createSampleApp(
  options: NestApplicationOptions & { broker?: Broker; metrics?: boolean } = {},
): Promise<NestExpressApplication> {
  const { broker, metrics, ...nestOptions } = options;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.withBroker(broker, metrics), nestOptions);
  app.useWebSocketAdapter(new RoomsAdapter(app, { allowedOrigins: fromThisSite }));
  app.useStaticAssets(publicDir);
  app.useStaticAssets(clientDir, { prefix: '/client/' });
  app.enableShutdownHooks();
  return app;
}
