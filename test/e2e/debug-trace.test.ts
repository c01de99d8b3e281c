import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

/*
 * NODE_DEBUG=nestjs-rooms traces every hop (lib/rooms.trace.ts): the child (test/support/debug-trace.main.ts)
 * makes each happen once, and its stderr shows them; without NODE_DEBUG it shows none of them.
 */

const CHILD = fileURLToPath(new URL('../support/debug-trace.main.js', import.meta.url));

/** Runs the child with `NODE_DEBUG` set to `debug` (or unset); its exit code, stdout and stderr. */
async function runChild(debug: string | undefined) {
  const env = { ...process.env };
  delete env.NODE_DEBUG;
  if (debug !== undefined) env.NODE_DEBUG = debug;
  const child = spawn(process.execPath, [CHILD], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** The trace lines `util.debuglog` wrote: `NESTJS-ROOMS <pid>: <message>`. */
function traceLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => /^NESTJS-ROOMS \d+: /.test(line))
    .map((line) => line.replace(/^NESTJS-ROOMS \d+: /, ''));
}

describe('NODE_DEBUG=nestjs-rooms', () => {
  it('traces a frame in, a join, a broadcast out and the cluster messages that carry it', async () => {
    const { code, stdout, stderr } = await runChild('nestjs-rooms');
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), 'done');
    const lines = traceLines(stderr);
    const has = (pattern: RegExp, what: string) =>
      assert.ok(
        lines.some((line) => pattern.test(line)),
        `${what}: no line matches ${pattern} in\n${lines.join('\n')}`,
      );
    has(/^frame in: socket [\w-]{22}, event "join", id undefined$/, 'the frame in');
    has(/^join: socket [\w-]{22}, rooms \["traced-room"\]$/, 'the join');
    has(/^broadcast out: event "traced" to \["traced-room"\] except \[\] on every server, \d+ bytes$/, 'the broadcast');
    has(/^cluster out: Broadcast to room:traced-room, \d+ bytes$/, 'the broadcast leaving for the other server');
    has(/^cluster in: Broadcast from [\w-]{22} on room:traced-room, \d+ bytes$/, 'the broadcast arriving there');
  });

  it('traces nothing without it', async () => {
    const { code, stdout, stderr } = await runChild(undefined);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), 'done');
    assert.deepEqual(traceLines(stderr), []);
    assert.doesNotMatch(stderr, /NESTJS-ROOMS/);
  });
});
