import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { canPin } from './ipc.js';
import { postgresVersion } from '../test/support/postgres-server.js';
import { natsVersion } from './brokers.js';
import { redisVersion } from './redis.js';

/** The project root (this file runs from build/bench/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Environment {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  pinned: boolean;
  loadBefore: number[];
  loadAfter?: number[];
  commit: string;
  versions: Record<string, string>;
}

function packageVersion(name: string): string {
  try {
    const manifest = JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, 'utf8')) as {
      version: string;
    };
    return manifest.version;
  } catch {
    return 'not installed';
  }
}

/** HEAD, and whether lib/ differs from it (read-only git). */
function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty === '' ? head : `${head} + uncommitted changes in lib/`;
  } catch {
    return 'unknown';
  }
}

export function environment(): Environment {
  const self = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    pinned: canPin(),
    loadBefore: loadavg(),
    commit: commit(),
    versions: {
      'nestjs-rooms': self.version,
      ws: packageVersion('ws'),
      'socket.io': packageVersion('socket.io'),
      'engine.io': packageVersion('engine.io'),
      'socket.io-adapter': packageVersion('socket.io-adapter'),
      '@socket.io/redis-adapter': packageVersion('@socket.io/redis-adapter'),
      ioredis: packageVersion('ioredis'),
      '@nestjs/core': packageVersion('@nestjs/core'),
      '@nestjs/websockets': packageVersion('@nestjs/websockets'),
      '@nestjs/platform-ws': packageVersion('@nestjs/platform-ws'),
      'redis-server': redisVersion() ?? 'not installed',
      '@nats-io/transport-node': packageVersion('@nats-io/transport-node'),
      'nats-server': natsVersion() ?? 'not installed',
      pg: packageVersion('pg'),
      postgres: postgresVersion() ?? 'not installed',
    },
  };
}
