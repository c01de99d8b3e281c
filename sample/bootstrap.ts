import 'reflect-metadata';
import { existsSync } from 'node:fs';
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

/** The sample app, wired as any user's app would be: the module, the rooms adapter and the page. */
export async function createSampleApp(
  options: NestApplicationOptions & { broker?: Broker } = {},
): Promise<NestExpressApplication> {
  const { broker, ...nestOptions } = options;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.withBroker(broker), nestOptions);
  app.useWebSocketAdapter(new RoomsAdapter(app));
  app.useStaticAssets(publicDir);
  app.enableShutdownHooks();
  return app;
}
