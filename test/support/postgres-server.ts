import { execFile, execFileSync } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const exec = promisify(execFile);

/** initdb and pg_ctl: on PATH, or in Debian's versioned folder (newest first). */
function postgresTool(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (canRun(join(dir, name))) return join(dir, name);
  }
  const root = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  } catch {
    // not Debian's layout
  }
  for (const version of versions) {
    const path = join(root, version, 'bin', name);
    if (canRun(path)) return path;
  }
  throw new Error(`${name} not found on PATH nor in ${root}/<version>/bin: install postgresql`);
}

/** Whether initdb and pg_ctl are installed (on PATH or in Debian's folder). */
export function hasPostgres(): boolean {
  try {
    postgresTool('initdb');
    postgresTool('pg_ctl');
    return true;
  } catch {
    return false;
  }
}

/** The installed Postgres's version (`initdb --version`), or undefined when it is not installed. */
export function postgresVersion(): string | undefined {
  try {
    return /\(PostgreSQL\)\s+(\S+)/.exec(
      execFileSync(postgresTool('initdb'), ['--version'], { encoding: 'utf8' }),
    )?.[1];
  } catch {
    return undefined;
  }
}

function canRun(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A throwaway Postgres cluster in a temporary folder, on a free port of 127.0.0.1 with its Unix
 * socket in that folder and trust auth, owned by one test: it can be stopped (as abruptly as a
 * crash) and started again on the same port. Never the shared server. Postgres refuses to run as
 * root, so as root it runs as the `postgres` user.
 */
export class PostgresProcess {
  readonly dir = mkdtempSync(join(tmpdir(), 'nestjs-rooms-pg-'));
  private running = false;

  private constructor(readonly port: number) {}

  /** A new cluster, running unless `up` is false (then `start()` brings it up on its port). */
  static async start(up = true): Promise<PostgresProcess> {
    const server = new PostgresProcess(await freePort());
    try {
      await server.init();
      if (up) await server.start();
    } catch (error) {
      await server.dispose();
      throw error;
    }
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** The postmaster's process id while running (first line of `postmaster.pid`); backends are its children. */
  get pid(): number | undefined {
    if (!this.running) return undefined;
    return Number(readFileSync(join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  async start(): Promise<void> {
    stopAtExit(this);
    await this.run('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'log'), '-w', 'start']);
    this.running = true;
  }

  /** Stops the server as a crash would (`-m immediate`: no goodbye to the clients). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.run('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }

  async dispose(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    left.delete(this);
  }

  /** @see stopAtExit */
  stopNow(): void {
    try {
      const [command, args] = this.command('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
      execFileSync(command, args, { cwd: this.dir, stdio: 'ignore' });
    } catch {
      // not running
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  private async init(): Promise<void> {
    if (isRoot()) chownSync(this.dir, ...postgresIds());
    await this.run('initdb', ['-D', this.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    // In postgresql.conf, not `pg_ctl -o`: a plain `start` after a `stop` forgets -o, and would go
    // for the shared server's port and socket folder.
    const settings = [
      `port = ${this.port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${this.dir}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
    ];
    await this.run('sh', ['-c', `printf '%s\\n' "$@" >> '${join(this.data, 'postgresql.conf')}'`, 'sh', ...settings]);
  }

  private async run(tool: string, args: string[]): Promise<void> {
    const [command, commandArgs] = this.command(tool, args);
    // The working folder must be readable by the postgres user.
    await exec(command, commandArgs, { cwd: this.dir, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  }

  private command(tool: string, args: string[]): [string, string[]] {
    const path = tool === 'sh' ? 'sh' : postgresTool(tool);
    return isRoot() ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  }
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

let ids: [number, number] | undefined;
function postgresIds(): [number, number] {
  if (ids !== undefined) return ids;
  // `id` rather than parsing /etc/passwd: the user may come from elsewhere (NSS).
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return (ids = [uid, gid]);
}

/** Clusters started and not disposed of yet. */
const left = new Set<PostgresProcess>();

/**
 * pg_ctl runs Postgres in the background, so it outlives a test process that fails, times out or
 * is interrupted: whatever is left is stopped when the process exits, or on a signal.
 */
function stopAtExit(server: PostgresProcess): void {
  if (left.size === 0 && !watching) watch();
  left.add(server);
}

let watching = false;
function watch(): void {
  watching = true;
  const stopAll = () => {
    for (const server of left) server.stopNow();
    left.clear();
  };
  process.once('exit', stopAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      stopAll();
      process.kill(process.pid, signal);
    });
  }
}
