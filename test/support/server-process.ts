import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./cluster-server.main.js', import.meta.url));

export type Fact = Record<string, unknown>;

/** A child process running cluster-server.main.js, and the JSON facts it prints. */
export class ServerProcess {
  readonly facts: Fact[] = [];
  private readonly listeners = new Set<() => void>();
  port = 0;
  node = '';

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      this.facts.push(JSON.parse(line) as Fact);
      for (const listener of [...this.listeners]) listener();
    });
  }

  static async start(brokerEnv: Record<string, string>): Promise<ServerProcess> {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, ...brokerEnv },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const server = new ServerProcess(child);
    const exited = once(child, 'exit').then(([code]) => {
      throw new Error(`the server process exited with ${code} before listening`);
    });
    exited.catch(() => undefined); // it exits at the end of the test too
    const listening = await Promise.race([server.until((fact) => typeof fact.port === 'number', 20_000), exited]);
    server.port = listening.port as number;
    server.node = listening.node as string;
    return server;
  }

  /** The first fact matching `predicate`, printed already or within `timeoutMs`. */
  until(predicate: (fact: Fact) => boolean, timeoutMs = 5000): Promise<Fact> {
    const found = this.facts.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no such fact within ${timeoutMs} ms; got ${JSON.stringify(this.facts)}`));
      }, timeoutMs);
      const listener = () => {
        const fact = this.facts.find(predicate);
        if (fact === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(fact);
      };
      this.listeners.add(listener);
    });
  }

  wsUrl(path: string): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  async get(path: string): Promise<{ status: number; body: any }> {
    const response = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return { status: response.status, body: await response.json() };
  }

  async post(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  /** Kills the process (SIGKILL by default) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill(signal);
    await exited;
  }
}
