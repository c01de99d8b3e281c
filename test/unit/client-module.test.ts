/**
 * `nestjs-rooms/client` as it ships: one ES module with no import at all, small, that loads in a
 * process where nothing is installed (a browser loads it the same way).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const exec = promisify(execFile);
/** The module as `tsc` builds it for the package (dist/client/index.js has the same code). */
const BUILT = fileURLToPath(new URL('../../lib/client/index.js', import.meta.url));

describe('the client module', () => {
  it('is one module without imports, at most 4 KiB gzipped', async () => {
    const code = await readFile(BUILT, 'utf8');
    assert.doesNotMatch(code, /^\s*import\s|\bimport\(|\brequire\(/m, 'it imports nothing');
    const gzipped = gzipSync(code, { level: 9 }).length;
    assert.ok(gzipped <= 4096, `${gzipped} bytes gzipped`);
  });

  it('loads in a folder with no node_modules, and says what to pass where there is no global WebSocket', async () => {
    const work = await mkdtemp(join(tmpdir(), 'nestjs-rooms-client-'));
    try {
      await copyFile(BUILT, join(work, 'client.mjs'));
      const script = `
        const { RoomsClient, RoomsClientError } = await import('./client.mjs');
        let outcome;
        try {
          const client = new RoomsClient('ws://127.0.0.1:9/');
          client.close();
          outcome = 'constructed with the global WebSocket';
        } catch (error) {
          outcome = error.message;
        }
        console.log(JSON.stringify({ outcome, error: new RoomsClientError('timeout', 'x').status }));
      `;
      const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: work });
      const { outcome, error } = JSON.parse(stdout) as { outcome: string; error: string };
      assert.equal(error, 'timeout');
      const hasGlobal = typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function';
      assert.equal(
        outcome,
        hasGlobal
          ? 'constructed with the global WebSocket'
          : 'No WebSocket: pass the WebSocket option (e.g. ws on Node 20).',
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
