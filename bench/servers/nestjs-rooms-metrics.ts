// nestjs-rooms with its metrics on a prom-client registry, scraped once a second; everything else as ./nestjs-rooms.ts.
process.env.BENCH_METRICS = '1';
await import('./nestjs-rooms.js');
