import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's package puts it here (`.ci/run` installs it where missing). */
const PROMETHEUS = '/usr/bin/prometheus';

/** One sample of an instant query: its labels and its value. */
export interface QueryResult {
  metric: Record<string, string>;
  value: number;
}

/**
 * A private Prometheus owned by one test: it listens on a port of 127.0.0.1 it picks itself,
 * scrapes `target` (`host:port`, path `/metrics`) every second, and keeps its data in a temporary
 * folder that `dispose()` removes.
 */
export class PrometheusProcess {
  readonly dir = mkdtempSync(join(tmpdir(), 'nestjs-rooms-prometheus-'));
  private child: ChildProcess | undefined;
  private address = '';

  private constructor() {}

  static async start(target: string): Promise<PrometheusProcess> {
    const prometheus = new PrometheusProcess();
    await prometheus.spawn(target);
    await prometheus.untilReady();
    return prometheus;
  }

  private async spawn(target: string): Promise<void> {
    const config = join(this.dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global: { scrape_interval: 1s, scrape_timeout: 1s }',
        'scrape_configs:',
        `  - { job_name: rooms, static_configs: [{ targets: ['${target}'] }] }`,
        '',
      ].join('\n'),
    );
    const child = spawn(
      PROMETHEUS,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        // Port 0: it binds a free one and says which; no race for a port picked beforehand.
        '--web.listen-address=127.0.0.1:0',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    this.address = await new Promise<string>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const listening = /msg="Listening on" address=(\S+)/.exec(output);
        if (listening === null) return;
        child.stderr!.off('data', onData);
        child.stderr!.resume();
        resolve(listening[1]);
      };
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`prometheus exited with ${code}: ${output}`)));
    });
  }

  /** Its API answers 503 until it has loaded its storage and config. */
  private async untilReady(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await fetch(`http://${this.address}/-/ready`)).status !== 200) {
      if (Date.now() > deadline) throw new Error(`prometheus not ready within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async api(path: string): Promise<any> {
    const response = await fetch(`http://${this.address}/api/v1/${path}`);
    const body = (await response.json()) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  }

  /** Resolves once the target has been scraped without error (the first scrape comes ~5 s after start). */
  async untilScraped(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { activeTargets } = (await this.api('targets')) as {
        activeTargets: Array<{ health: string; lastError: string }>;
      };
      const target = activeTargets[0];
      if (target?.health === 'up' && target.lastError === '') return;
      if (Date.now() > deadline) throw new Error(`not scraped within ${timeoutMs} ms: ${JSON.stringify(target)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** An instant query; polled until it has a result, since a sample lands a moment after its scrape. */
  async query(expression: string, timeoutMs = 10_000): Promise<QueryResult[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { result } = (await this.api(`query?query=${encodeURIComponent(expression)}`)) as {
        result: Array<{ metric: Record<string, string>; value: [number, string] }>;
      };
      if (result.length > 0 || Date.now() > deadline) {
        return result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** What Prometheus learned of a metric from its `# TYPE` and `# HELP` lines. */
  async metadata(metric: string): Promise<Array<{ type: string; help: string }>> {
    const data = (await this.api(`metadata?metric=${encodeURIComponent(metric)}`)) as Record<
      string,
      Array<{ type: string; help: string }>
    >;
    return data[metric] ?? [];
  }

  async dispose(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
