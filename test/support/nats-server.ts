import type { ChildProcess } from 'node:child_process';
import { freePort } from './free-port.js';
import { killDaemon, startDaemon } from './daemon.js';

/**
 * A private `nats-server` on a free port of 127.0.0.1, owned by one test: it can be killed and
 * started again on the same port. Never the shared one on 4222 (`-p 0` would mean 4222, so the
 * port is picked here).
 */
export class NatsProcess {
  private child: ChildProcess | undefined;
  private monitorPort: number | undefined;

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  static async start(extraArgs: string[] = [], port?: number): Promise<NatsProcess> {
    const nats = new NatsProcess(port ?? (await freePort()), extraArgs);
    await nats.start();
    return nats;
  }

  /** A server with a port of its own and nothing listening on it until `start()`. */
  static async reserve(): Promise<NatsProcess> {
    return new NatsProcess(await freePort(), []);
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The running server's process id (the benchmark pins it to a core). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    // nats-server logs to stderr.
    const args = ['-a', '127.0.0.1', '-p', String(this.port), ...this.extraArgs];
    this.child = await startDaemon('nats-server', args, 'stderr', 'Server is ready');
  }

  /** Kills the server (SIGKILL: as abrupt as a crash) and waits for it to be gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await killDaemon(child);
  }

  /** SIGSTOP: the server hangs with its connections open, as a stuck host would. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT after {@link NatsProcess.pause}. */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  dispose(): Promise<void> {
    return this.stop();
  }

  /** A server with its HTTP monitoring port on too, for {@link NatsProcess.subscriptions}. */
  static async monitored(): Promise<NatsProcess> {
    const monitor = await freePort();
    const nats = await NatsProcess.start(['-m', String(monitor)]);
    nats.monitorPort = monitor;
    return nats;
  }

  /** The subjects each client connection subscribes to, from the server's own `/connz`. */
  async subscriptions(): Promise<string[][]> {
    if (this.monitorPort === undefined) throw new Error('started without monitoring');
    const response = await fetch(`http://127.0.0.1:${this.monitorPort}/connz?subs=1`);
    const body = (await response.json()) as { connections: Array<{ subscriptions_list?: string[] }> };
    return body.connections.map((connection) => connection.subscriptions_list ?? []);
  }

  /** How many connections subscribe to `subject`. */
  async subscribers(subject: string): Promise<number> {
    return (await this.subscriptions()).filter((subjects) => subjects.includes(subject)).length;
  }
}

/** Three nats-servers routed to each other as one NATS cluster. */
export class NatsClusterProcess {
  private constructor(readonly nodes: NatsProcess[]) {}

  static async start(): Promise<NatsClusterProcess> {
    const routePorts = [await freePort(), await freePort(), await freePort()];
    const routes = routePorts.map((port) => `nats://127.0.0.1:${port}`);
    const nodes = await Promise.all(
      routePorts.map((port, index) =>
        NatsProcess.start([
          '--cluster_name',
          'nestjs-rooms-test',
          '--cluster',
          routes[index],
          '--routes',
          routes.filter((_, other) => other !== index).join(','),
        ]),
      ),
    );
    return new NatsClusterProcess(nodes);
  }

  get urls(): string[] {
    return this.nodes.map((node) => node.url);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.dispose()));
  }
}
