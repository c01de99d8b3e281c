import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const lib = (path: string) => fileURLToPath(new URL(`../../lib/${path}`, import.meta.url));

/** Imports `entry` in a fresh process and reports which of the optional peers got loaded. */
async function peersLoadedBy(entry: string): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(entry)});
    const paths = Object.keys(createRequire(import.meta.url).cache);
    const peers = ['ioredis', '@nats-io/transport-node'];
    console.log(JSON.stringify(peers.filter((peer) => paths.some((path) => path.includes('/node_modules/' + peer + '/')))));
  `;
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script]);
  return JSON.parse(stdout) as string[];
}

it('importing the main entry loads no optional peer; each broker entry loads its own only', async () => {
  assert.deepEqual(await peersLoadedBy(lib('index.js')), []);
  assert.deepEqual(await peersLoadedBy(lib('redis/index.js')), ['ioredis']);
  assert.deepEqual(await peersLoadedBy(lib('nats/index.js')), ['@nats-io/transport-node']);
});
