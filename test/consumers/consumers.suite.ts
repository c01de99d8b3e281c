/**
 * Consumer tests (`npm run test:consumers`, not part of `npm test`): packs the library with
 * `npm pack`, checks what the tarball holds, then installs it into four throwaway apps made here
 * in a temporary folder (NestJS 12 and 11, each as ESM and as CommonJS), compiles each with this
 * project's `tsc`, starts it and talks to it with real `ws` clients.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TestClient } from '../support/client.js';
import { REPORT_PREFIX, consumerApp, type ConsumerFlavor } from './app-sources.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const INSTALL_TIMEOUT = 240_000;
const START_TIMEOUT = 30_000;
const EXIT_TIMEOUT = 10_000;

const FLAVORS: readonly ConsumerFlavor[] = [
  { name: 'nest12-esm', nest: 12, module: 'esm' },
  { name: 'nest12-cjs', nest: 12, module: 'cjs' },
  { name: 'nest11-cjs', nest: 11, module: 'cjs' },
  { name: 'nest11-esm', nest: 11, module: 'esm' },
];

function progress(message: string): void {
  process.stderr.write(`[consumers] ${message}\n`);
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; rejects with its output when it fails. */
async function run(command: string, args: readonly string[], cwd: string): Promise<Finished> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited with ${code}\n${stdout}\n${stderr}`);
  return { code, stdout, stderr };
}

interface Report {
  kind: string;
  [key: string]: unknown;
}

/** A started consumer app: its `@@consumer` reports, awaitable, and its exit. */
class RunningApp {
  readonly reports: Report[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly events = new EventEmitter();
  private output = '';

  private constructor(private readonly child: ReturnType<typeof spawn>) {
    let pending = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.output += chunk;
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (!line.startsWith(REPORT_PREFIX)) continue;
        const report = JSON.parse(line.slice(REPORT_PREFIX.length)) as Report;
        this.reports.push(report);
        this.events.emit('report', report);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => this.events.emit('exit'));
  }

  static start(dir: string): RunningApp {
    return new RunningApp(spawn(process.execPath, ['dist/main.js'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** Everything the app wrote, for failure messages. */
  get log(): string {
    return this.output;
  }

  /** The first report (already received or still to come) that matches. */
  report(kind: string, match: (report: Report) => boolean = () => true, timeoutMs = 5000): Promise<Report> {
    const found = this.reports.find((report) => report.kind === kind && match(report));
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onReport = (report: Report) => {
        if (report.kind !== kind || !match(report)) return;
        cleanup();
        resolve(report);
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`the app exited before reporting "${kind}"\n${this.output}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no "${kind}" report within ${timeoutMs} ms\n${this.output}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('report', onReport);
        this.events.off('exit', onExit);
      };
      this.events.on('report', onReport);
      this.events.on('exit', onExit);
    });
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Waits for the app to exit by itself; kills it (and fails) if it does not. */
  async exit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

const work = await mkdtemp(join(tmpdir(), 'nestjs-rooms-consumers-'));
let tarball = '';
let packedFiles: string[] = [];
progress(`working in ${work}`);

after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the package', () => {
  it('npm pack: dist (JS, .d.ts, source maps), README, LICENSE and nothing else', async () => {
    progress('npm pack');
    const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', work], ROOT);
    // `prepack` builds dist/ first; npm sends the scripts' output to stderr.
    const [packed] = JSON.parse(stdout) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = join(work, packed!.filename);
    assert.ok(existsSync(tarball), `${tarball} exists`);

    const files = (packedFiles = packed!.files.map((file) => file.path).sort());
    const unexpected = files.filter(
      (path) =>
        !['package.json', 'README.md', 'LICENSE'].includes(path) &&
        !/^dist\/.+\.(js|js\.map|d\.ts|d\.ts\.map)$/.test(path),
    );
    assert.deepEqual(unexpected, [], 'only dist/, README.md, LICENSE and package.json');
    for (const required of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) {
      assert.ok(files.includes(required), `${required} is packed`);
    }
    for (const js of files.filter((path) => path.endsWith('.js'))) {
      const base = js.slice(0, -'.js'.length);
      for (const companion of [`${js}.map`, `${base}.d.ts`, `${base}.d.ts.map`]) {
        assert.ok(files.includes(companion), `${companion} is packed with ${js}`);
      }
      // A compiled file whose source is gone (a stale dist/) must not ship.
      const source = join(ROOT, 'lib', `${base.slice('dist/'.length)}.ts`);
      assert.ok(existsSync(source), `${js} has a source in lib/ (stale dist? rebuild from clean)`);
    }
    assert.match(await readFile(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License/);
  });

  it('package.json: ESM, exports with types and default, engines node >= 20.19, MIT', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Record<string, any>;
    assert.equal(manifest.type, 'module');
    assert.equal(manifest.license, 'MIT');
    assert.deepEqual(manifest.engines, { node: '>=20.19' });
    assert.deepEqual(manifest.exports['.'], { types: './dist/index.d.ts', default: './dist/index.js' });
    for (const [entry, targets] of Object.entries(manifest.exports as Record<string, Record<string, string>>)) {
      assert.deepEqual(Object.keys(targets), ['types', 'default'], `exports["${entry}"]: types first, then default`);
      for (const target of Object.values(targets)) {
        assert.ok(packedFiles.includes(target.replace(/^\.\//, '')), `exports["${entry}"] -> ${target} is packed`);
      }
    }
    for (const field of ['main', 'types']) {
      assert.ok(packedFiles.includes(manifest[field].replace(/^\.\//, '')), `${field} (${manifest[field]}) is packed`);
    }
    for (const name of ['@nestjs/common', '@nestjs/core', '@nestjs/websockets']) {
      assert.equal(manifest.peerDependencies[name], '^11.0.0 || ^12.0.0', name);
    }
  });
});

for (const flavor of FLAVORS) {
  describe(`consumer app ${flavor.name} (NestJS ${flavor.nest}, ${flavor.module === 'esm' ? 'ESM' : 'CommonJS'})`, () => {
    const dir = join(work, flavor.name);

    it('installs the packed tarball and compiles with tsc', { timeout: INSTALL_TIMEOUT }, async () => {
      assert.ok(tarball !== '', 'the package was packed');
      for (const [path, text] of Object.entries(consumerApp(flavor, tarball))) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), text);
      }
      progress(`${flavor.name}: npm install`);
      await run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], dir);

      const installed = async (name: string) =>
        (JSON.parse(await readFile(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
          .version;
      const nestCore = await installed('@nestjs/core');
      assert.equal(Number(nestCore.split('.')[0]), flavor.nest, `@nestjs/core ${nestCore}`);
      // The library's peer dependencies are the app's own: nothing of Nest, rxjs or
      // reflect-metadata is installed under the library.
      for (const peer of ['@nestjs', 'rxjs', 'reflect-metadata']) {
        assert.ok(!existsSync(join(dir, 'node_modules', 'nestjs-rooms', 'node_modules', peer)), `no nested ${peer}`);
      }

      progress(`${flavor.name}: tsc (@nestjs/core ${nestCore})`);
      await run(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
      const main = await readFile(join(dir, 'dist', 'main.js'), 'utf8');
      if (flavor.module === 'cjs') assert.match(main, /require\("nestjs-rooms"\)/, 'the app require()s the library');
      else assert.match(main, /from 'nestjs-rooms'/, 'the app imports the library');
    });

    it(
      'starts, joins, broadcasts, answers exceptions with the id, reports disconnects, closes',
      { timeout: 60_000 },
      async () => {
        progress(`${flavor.name}: run`);
        const app = RunningApp.start(dir);
        try {
          const { port } = await app.report('listening', undefined, START_TIMEOUT);
          const identity = await app.report('identity');
          assert.equal(identity.moduleSystem, flavor.module);
          assert.equal(identity.sameWsException, true, 'RoomsError is an instance of the app’s WsException');

          const url = `ws://127.0.0.1:${port as number}/chat`;
          const alice = await TestClient.connect(url);
          const bob = await TestClient.connect(url);

          // @JoinRoom, with the reply carrying the frame's id.
          assert.deepEqual(await alice.request('join', { room: 'lobby' }, 1), {
            event: 'joined',
            data: 'lobby',
            id: 1,
          });

          // An HTTP route calls a provider that broadcasts through the injected RoomService.
          const response = await fetch(`http://127.0.0.1:${port as number}/rooms/lobby/notify`, { method: 'POST' });
          assert.equal(response.status, 201);
          assert.deepEqual(await response.json(), { sent: 'lobby' });
          assert.deepEqual(await alice.next(), { event: 'notice', data: { room: 'lobby' } });

          // Exception frames reach the client with the id it sent: a canJoin refusal...
          assert.deepEqual(await alice.request('join', { room: 'secret' }, 2), {
            event: 'exception',
            data: { status: 'error', message: 'Joining room "chat:secret" was refused.' },
            id: 2,
          });
          // ...and a WsException thrown by a handler.
          assert.deepEqual(await alice.request('fail', { why: 'test' }, 'f-1'), {
            event: 'exception',
            data: { status: 'error', message: 'nope' },
            id: 'f-1',
          });

          // The peer closes: @OnDisconnecting sees its rooms, then handleDisconnect gets the reason.
          await alice.close();
          const left = { id: alice.id, rooms: [alice.id, 'chat:lobby'], reason: 'transport close' };
          assert.deepEqual(await bob.next(), { event: 'left', data: left });
          assert.deepEqual(await app.report('handleDisconnect', (report) => report.id === alice.id), {
            kind: 'handleDisconnect',
            id: alice.id,
            reason: 'transport close',
            roomsSize: 0,
          });

          // app.close() closes the remaining client with 1001 and the process ends by itself.
          app.signal('SIGTERM');
          assert.equal((await bob.closed).code, 1001);
          const bobLeft = await app.report('handleDisconnect', (report) => report.id === bob.id);
          assert.equal(bobLeft.reason, 'server shutting down');
          await app.report('closed');
          assert.deepEqual(await app.exit(EXIT_TIMEOUT), { code: 0, signal: null }, app.log);
        } catch (error) {
          app.signal('SIGKILL');
          progress(`${flavor.name} output:\n${app.log}`);
          throw error;
        }
      },
    );
  });
}
