import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/** One request from the orchestrator to a child process, and its answer. */
interface Request {
  id: number;
  cmd: string;
  args: unknown;
}

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export type Handlers = Record<string, (args: any) => unknown>;

/** Child side: answers the orchestrator's requests with `handlers`; exits when the orchestrator goes. */
export function serve(handlers: Handlers, ready: Record<string, unknown> = {}): void {
  process.on('message', (message: Request) => {
    const handler = handlers[message.cmd];
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown command ${message.cmd}`);
        return handler(message.args);
      })
      .then(
        (result) => process.send!({ id: message.id, ok: true, result } satisfies Reply),
        (error: unknown) =>
          process.send!({ id: message.id, ok: false, error: String((error as Error)?.stack ?? error) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true, ...ready });
}

const hasTaskset = existsSync('/usr/bin/taskset') || existsSync('/bin/taskset');

/** Whether processes can be pinned to a core here. */
export function canPin(): boolean {
  return hasTaskset;
}

export interface SpawnOptions {
  /** Pin to this core with `taskset` where it exists. */
  core?: number;
  /** Extra `node` flags (`--expose-gc`, `--cpu-prof`, ...). */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** A program that runs `node` (`valgrind --tool=callgrind ...`): the child's pid stays the one spawned. */
  wrapper?: string[];
}

const children = new Set<ChildProcess>();

/** Ends every child this process started, by its own pid. */
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
}
process.on('exit', killChildren);

/** Orchestrator side: a child node process answering requests over IPC. */
export class Child {
  private sequence = 0;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  readonly ready: Promise<Record<string, unknown>>;
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    children.add(proc);
    let markReady!: (info: Record<string, unknown>) => void;
    let failReady!: (error: Error) => void;
    this.ready = new Promise((resolve, reject) => ((markReady = resolve), (failReady = reject)));
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        children.delete(proc);
        const error = new Error(`${name} exited (${code ?? signal})`);
        failReady(error);
        for (const { reject } of this.pending.values()) reject(error);
        this.pending.clear();
        resolve();
      }),
    );
    proc.on('message', (message: Reply & { ready?: boolean }) => {
      if (message.ready === true) return markReady(message as unknown as Record<string, unknown>);
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`${name} ${message.error}`));
    });
  }

  static spawn(name: string, script: string, args: string[], options: SpawnOptions = {}): Child {
    const node = [...(options.wrapper ?? []), process.execPath, ...(options.nodeArgs ?? []), script, ...args];
    const [command, argv] =
      options.core !== undefined && hasTaskset
        ? ['taskset', ['-c', String(options.core), ...node]]
        : [node[0], node.slice(1)];
    const child = spawn(command, argv, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...options.env },
    });
    return new Child(name, child);
  }

  call<T = unknown>(cmd: string, args: unknown = {}, timeoutMs = 300_000): Promise<T> {
    const id = ++this.sequence;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => (clearTimeout(timer), resolve(value as T)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      this.proc.send({ id, cmd, args } satisfies Request);
    });
  }

  /** The child's process id. */
  get pid(): number {
    return this.proc.pid!;
  }

  /** Asks the child to exit, and kills it if it has not within a few seconds. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.disconnect();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Nanoseconds on the machine's monotonic clock: comparable between processes. */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
