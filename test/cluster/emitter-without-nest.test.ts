/**
 * The emitter in a worker that has no Nest: the library packed with `npm pack`, installed with
 * ioredis into a throwaway folder with peers omitted (as the README tells workers to), and a
 * plain `.mjs` script that emits to the sockets of a server running here. npm takes ioredis from
 * its cache when it can (`npm ci` filled it), else from the registry.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Module } from '@nestjs/common';
import { RoomsModule } from '../../lib/index.js';
import { RedisBroker } from '../../lib/redis/index.js';
import type { TestApp } from '../support/app.js';
import { ChatGateway } from '../support/chat.fixture.js';
import { TestClient } from '../support/client.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { RedisProcess } from '../support/redis-server.js';
import { untilMeshed } from '../support/timing.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const WORKER = `
import { RoomsEmitter } from 'nestjs-rooms/emitter';
import { RedisBroker } from 'nestjs-rooms/redis';

for (const name of ['@nestjs/common', '@nestjs/core', '@nestjs/websockets', 'reflect-metadata', 'rxjs']) {
  let found = true;
  try {
    import.meta.resolve(name);
  } catch {
    found = false;
  }
  if (found) throw new Error(name + ' can be resolved from the worker');
}
const emitter = new RoomsEmitter({ broker: new RedisBroker({ url: process.env.REDIS_URL, keyPrefix: 'jobs' }) });
await emitter.to('exports').emit('export ready', { file: 'report.csv' });
await emitter.serverSideEmit('job done', 'export', 42);
await emitter.close();
`;

let work = '';
let redis: RedisProcess;
let apps: TestApp[];
let client: TestClient;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'nestjs-rooms-worker-'));
  // The package is staged in a folder of its own, so that packing never rewrites this checkout's dist/.
  const pkg = join(work, 'package');
  await exec(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')]);
  for (const file of ['package.json', 'README.md', 'LICENSE']) await copyFile(join(ROOT, file), join(pkg, file));
  const { stdout } = await exec(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: pkg });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
  const worker = join(work, 'worker');
  await mkdir(worker);
  await writeFile(join(worker, 'package.json'), JSON.stringify({ name: 'worker', private: true, type: 'module' }));
  await writeFile(join(worker, 'worker.mjs'), WORKER);
  const ioredis = JSON.parse(await readFile(join(ROOT, 'node_modules', 'ioredis', 'package.json'), 'utf8')) as {
    version: string;
  };
  await exec(
    NPM,
    [
      'install',
      '--omit=peer',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(work, packed!.filename),
      `ioredis@${ioredis.version}`,
    ],
    { cwd: worker },
  );

  redis = await RedisProcess.start();
  @Module({
    imports: [RoomsModule.forRoot({ broker: new RedisBroker({ url: redis.url, keyPrefix: 'jobs' }) })],
    providers: [ChatGateway],
  })
  class ServerModule {}
  apps = await startCluster(2, () => ServerModule);
  // Meshed: both servers hear each other, so their subscriptions are in place.
  await untilMeshed(apps);
  client = await TestClient.connect(apps[0].url('/chat'));
  await client.request('join', { room: 'exports' });
});

after(async () => {
  await client?.close();
  if (apps !== undefined) await closeCluster(apps);
  await redis?.dispose();
  if (work !== '') await rm(work, { recursive: true, force: true });
});

it('a worker whose node_modules has no Nest, rxjs or reflect-metadata emits to the sockets of a server', async () => {
  const modules = join(work, 'worker', 'node_modules');
  assert.ok(existsSync(join(modules, 'nestjs-rooms')) && existsSync(join(modules, 'ioredis')));
  for (const name of ['@nestjs', 'reflect-metadata', 'rxjs'])
    assert.ok(!existsSync(join(modules, name)), `${name} installed`);

  const serverEvents = apps.map(
    (app) => new Promise<unknown[]>((resolve) => app.serverEvents().on('job done', (...args) => resolve(args))),
  );
  // Nothing outside the worker's folder may lend it a module.
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redis.url };
  delete env.NODE_PATH;
  const child = spawn(process.execPath, ['worker.mjs'], {
    cwd: join(work, 'worker'),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  // It exits by itself: close() let go of every connection.
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, output);
  assert.deepEqual(await client.next(), { event: 'export ready', data: { file: 'report.csv' } });
  for (const args of await Promise.all(serverEvents)) assert.deepEqual(args, ['export', 42]);
  for (const app of apps) assert.equal(app.cluster().peerIds.length, 1, 'the worker is no server');
});
