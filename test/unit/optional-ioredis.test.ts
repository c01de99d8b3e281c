import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const lib = (path: string) => fileURLToPath(new URL(`../../lib/${path}`, import.meta.url));

/** Imports `entry` in a fresh process and reports whether ioredis got loaded. */
async function loadsIoredis(entry: string): Promise<boolean> {
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(entry)});
    const cache = createRequire(import.meta.url).cache;
    console.log(Object.keys(cache).some((path) => path.includes('/node_modules/ioredis/')));
  `;
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script]);
  return stdout.trim() === 'true';
}

it('importing the main entry never loads ioredis; the redis entry does', async () => {
  assert.equal(await loadsIoredis(lib('index.js')), false);
  assert.equal(await loadsIoredis(lib('redis/index.js')), true);
});
