import 'reflect-metadata';
import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RoomsAdapter } from '../lib/index.js';
import { AppModule } from './app.module.js';

/** The sample app, wired as any user's app would be: the module plus the rooms adapter. */
export async function createSampleApp(options: NestApplicationOptions = {}): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule, options);
  app.useWebSocketAdapter(new RoomsAdapter(app));
  app.enableShutdownHooks();
  return app;
}
