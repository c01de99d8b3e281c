/**
 * Run as its own process by module.test.ts: boots the chat gateway with `RoomsAdapter` but without
 * `RoomsModule`, with Nest's default options (so `abortOnError` is on, as in a user's app), and
 * prints how `app.listen` went as one line of JSON. A separate process, because Nest's default
 * reaction to some start-up errors is `process.exit(1)`, which would end the whole test file.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RoomsAdapter } from '../../lib/index.js';
import { ChatGateway } from './chat.fixture.js';

@Module({ providers: [ChatGateway] })
class NoRoomsModule {}

const app = await NestFactory.create(NoRoomsModule, { logger: false });
app.useWebSocketAdapter(new RoomsAdapter(app));
let outcome: { listened: true } | { rejected: true; message: string };
try {
  await app.listen(0, '127.0.0.1');
  outcome = { listened: true };
} catch (error) {
  outcome = { rejected: true, message: error instanceof Error ? error.message : String(error) };
}
await app.close().catch(() => undefined);
process.stdout.write(`${JSON.stringify(outcome)}\n`);
