import { RedisBroker } from '../lib/redis/index.js';
import { createSampleApp } from './bootstrap.js';

const port = Number(process.env.PORT ?? 3000);
// `npm run start:cluster` sets ROOMS_BROKER=redis; `npm start` keeps the in-memory default.
const broker =
  process.env.ROOMS_BROKER === 'redis'
    ? new RedisBroker({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' })
    : undefined;
const app = await createSampleApp({ broker });
await app.listen(port);
const on = broker === undefined ? 'in memory' : `on Redis ${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}`;
console.log(`nestjs-rooms sample (${on}): open http://localhost:${port}/ (WebSocket ws://localhost:${port}/chat)`);
console.log(`  POST http://localhost:${port}/users/:name/notify     every tab of that person`);
console.log(`  POST http://localhost:${port}/projects/:id/notify    everyone following that project`);
