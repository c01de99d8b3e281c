import { createSampleApp } from './bootstrap.js';

const port = Number(process.env.PORT ?? 3000);
const app = await createSampleApp();
await app.listen(port);
console.log(`nestjs-rooms sample: open http://localhost:${port}/ (WebSocket ws://localhost:${port}/chat)`);
console.log(`  POST http://localhost:${port}/users/:name/notify     every tab of that person`);
console.log(`  POST http://localhost:${port}/projects/:id/notify    everyone following that project`);
