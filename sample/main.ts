import { createSampleApp } from './bootstrap.js';

const port = Number(process.env.PORT ?? 3000);
const app = await createSampleApp();
await app.listen(port);
console.log(`nestjs-rooms sample: ws://localhost:${port}/chat  (POST http://localhost:${port}/rooms/:room/notify)`);
