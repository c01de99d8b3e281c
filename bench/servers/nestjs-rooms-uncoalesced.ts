// nestjs-rooms with `coalesceWrites: false` (every frame its own write); everything else as ./nestjs-rooms.ts.
process.env.BENCH_COALESCE = '0';
await import('./nestjs-rooms.js');
