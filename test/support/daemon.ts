import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Starts a server program of the machine's (redis-server, nats-server) and resolves once it has
 * printed `ready` on `stream`; rejects with what it printed if it exits first.
 */
export async function startDaemon(
  command: string,
  args: readonly string[],
  stream: 'stdout' | 'stderr',
  ready: string,
): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = child[stream]!;
  await new Promise<void>((resolve, reject) => {
    let printed = '';
    const onData = (chunk: Buffer) => {
      printed += chunk.toString();
      if (!printed.includes(ready)) return;
      output.off('data', onData);
      resolve();
    };
    output.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}: ${printed}`)));
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}

/** SIGKILL (as abrupt as a crash), then waits for the process to be gone; nothing to do if it is. */
export async function killDaemon(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
