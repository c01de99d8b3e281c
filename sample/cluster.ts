/**
 * `npm run start:cluster`: two instances of the sample (ports 3000 and 3001) on one Redis
 * (`REDIS_URL`, default redis://127.0.0.1:6379). Chat on one, see it on the other.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('main.js', import.meta.url));
const children: ChildProcess[] = [3000, 3001].map((port) => {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, PORT: String(port), ROOMS_BROKER: 'redis' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) process.stdout.write(`[${port}] ${line}\n`);
    });
  }
  child.on('exit', (code) => {
    process.stdout.write(`[${port}] exited with ${code}\n`);
    stop();
  });
  return child;
});

function stop(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);
