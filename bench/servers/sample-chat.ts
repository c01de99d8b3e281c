import type { AddressInfo } from 'node:net';
import { RoomService } from '../../lib/index.js';
import { createSampleApp } from '../../sample/bootstrap.js';
import { serve } from '../ipc.js';

/** The sample chat app (sample/), unchanged, on a free port: the chat scenario's server. */
const app = await createSampleApp({ logger: false });
await app.listen(0, '127.0.0.1');
const { port } = app.getHttpServer().address() as AddressInfo;
const rooms = app.get(RoomService);
let mark = process.cpuUsage();

serve(
  {
    markCpu() {
      mark = process.cpuUsage();
    },
    /** Server CPU (user + system, ns) since `markCpu`. */
    cpu() {
      const used = process.cpuUsage(mark);
      return (used.user + used.system) * 1000;
    },
    sockets: () => rooms.count(),
    async memory() {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc === undefined) throw new Error('run the server with --expose-gc');
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const { heapUsed, rss } = process.memoryUsage();
      return { heapUsed, rss };
    },
  },
  { port, path: '/chat' },
);
