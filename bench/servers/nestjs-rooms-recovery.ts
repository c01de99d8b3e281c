// nestjs-rooms with connection recovery on (default limits); everything else as ./nestjs-rooms.ts.
process.env.BENCH_RECOVERY = '1';
await import('./nestjs-rooms.js');
