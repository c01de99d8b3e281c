import { execFileSync } from 'node:child_process';
import { NatsProcess } from '../test/support/nats-server.js';
import { hasPostgres, PostgresProcess } from '../test/support/postgres-server.js';
import { RedisProcess } from '../test/support/redis-server.js';
import { canPin } from './ipc.js';
import { redisVersion } from './redis.js';

/**
 * The private broker servers of the broker scenarios: the tests' own helpers (test/support),
 * each on a free port of 127.0.0.1 and never a shared instance, pinned to a core here.
 */
export type BrokerKind = 'redis' | 'nats' | 'postgres';

export const BROKER_KINDS: readonly BrokerKind[] = ['redis', 'nats', 'postgres'];

/** The program a broker needs, when this machine lacks it. */
export function missingProgram(kind: BrokerKind): string | undefined {
  switch (kind) {
    case 'redis':
      return redisVersion() === undefined ? 'redis-server' : undefined;
    case 'nats':
      return natsVersion() === undefined ? 'nats-server' : undefined;
    case 'postgres':
      return hasPostgres() ? undefined : 'initdb/pg_ctl (postgresql)';
  }
}

export function natsVersion(): string | undefined {
  try {
    return /\bv(\d\S*)/.exec(execFileSync('nats-server', ['--version'], { encoding: 'utf8' }))?.[1];
  } catch {
    return undefined;
  }
}

export interface BrokerServer {
  kind: BrokerKind;
  url: string;
  /** Where the servers connect: their traffic with the broker is counted on sockets to this port. */
  port: number;
  stop(): Promise<void>;
}

/** Pins a running process (every thread of it) to `core`; processes it forks later inherit it. */
function pin(pid: number | undefined, core: number): void {
  if (pid === undefined || !canPin()) return;
  execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
}

export async function startBroker(kind: BrokerKind, core: number): Promise<BrokerServer> {
  switch (kind) {
    case 'redis': {
      const redis = await RedisProcess.start();
      pin(redis.pid, core);
      return { kind, url: redis.url, port: redis.port, stop: () => redis.dispose() };
    }
    case 'nats': {
      const nats = await NatsProcess.start();
      pin(nats.pid, core);
      return { kind, url: nats.url, port: nats.port, stop: () => nats.dispose() };
    }
    case 'postgres': {
      const postgres = await PostgresProcess.start();
      // Backends fork from the postmaster when the servers connect: they inherit its core.
      pin(postgres.pid, core);
      return { kind, url: postgres.url, port: postgres.port, stop: () => postgres.dispose() };
    }
  }
}
