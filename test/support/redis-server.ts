import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import { killDaemon, startDaemon } from './daemon.js';

const exec = promisify(execFile);

/**
 * A private `redis-server` on a free port of 127.0.0.1, owned by one test: it can be stopped,
 * killed and started again on the same port. Never the shared one on 6379.
 */
export class RedisProcess {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'nestjs-rooms-redis-'));

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  static async start(extraArgs: string[] = []): Promise<RedisProcess> {
    const redis = new RedisProcess(await freePort(), extraArgs);
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The running server's process id (the benchmark pins it to a core). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const all = [...args, '--dir', this.dir, ...this.extraArgs];
    this.child = await startDaemon('redis-server', all, 'stdout', 'Ready to accept connections');
  }

  /** Stops the server (SIGKILL: as abrupt as a crash) and waits for it to be gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await killDaemon(child);
  }

  async cli(...args: string[]): Promise<string> {
    const { stdout } = await exec('redis-cli', ['-p', String(this.port), ...args]);
    return stdout.trim();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Three masters with `--cluster-enabled yes`, joined with `redis-cli --cluster create`. */
export class RedisClusterProcess {
  private constructor(readonly nodes: RedisProcess[]) {}

  static async start(): Promise<RedisClusterProcess> {
    const nodes = await Promise.all(
      [0, 1, 2].map(() =>
        RedisProcess.start([
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '2000',
        ]),
      ),
    );
    const cluster = new RedisClusterProcess(nodes);
    await exec('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const node of nodes) {
      while (!(await node.cli('cluster', 'info')).includes('cluster_state:ok')) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return cluster;
  }

  get startupNodes(): Array<{ host: string; port: number }> {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.dispose()));
  }
}
