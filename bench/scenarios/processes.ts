import { fileURLToPath } from 'node:url';
import type { ConnectArgs } from '../clients.js';
import { Child, sleep } from '../ipc.js';
import type { PeerInfo } from '../peers.js';

/** One figure set of one peer in one run. */
export interface Row {
  scenario:
    | 'fanout'
    | 'registry'
    | 'redis'
    | 'presence'
    | 'metrics'
    | 'brokers'
    | 'spread'
    | 'chat'
    | 'burst'
    | 'chat-storm'
    | 'low-load'
    | 'storm'
    | 'recovery-memory'
    | 'instructions';
  peer: string;
  /** Sockets. */
  size: number;
  run: number;
  metrics: Record<string, number>;
}

/** Servers run on core 0, clients (and Redis) on core 1, where `taskset` exists. */
export const SERVER_CORE = 0;
export const CLIENT_CORE = 1;

const script = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export interface Server {
  child: Child;
  url: string;
  /** Waits until `room` has `expected` members on this server. */
  members(room: string, expected: number): Promise<void>;
}

/** A peer's server in a fresh process, pinned; resolves once it listens. */
export async function startServer(
  peer: PeerInfo,
  env: Record<string, string> = {},
  wrapper?: string[],
): Promise<Server> {
  const child = Child.spawn(peer.name, script(`../servers/${peer.script}.js`), [], {
    core: SERVER_CORE,
    nodeArgs: ['--expose-gc'],
    env,
    wrapper,
  });
  const info = (await child.ready) as { port: number; path: string };
  return {
    child,
    url: `ws://127.0.0.1:${info.port}${info.path}`,
    async members(room, expected) {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const count = await child.call<number>('members', { room });
        if (count >= expected) return;
        if (Date.now() > deadline) throw new Error(`${peer.name}: ${count}/${expected} sockets in ${room}`);
        await sleep(20);
      }
    },
  };
}

/** A load-client process, pinned to the other core. */
export async function startClients(): Promise<Child> {
  const child = Child.spawn('clients', script('../clients.js'), [], { core: CLIENT_CORE });
  await child.ready;
  return child;
}

export function connect(clients: Child, peer: PeerInfo, args: Omit<ConnectArgs, 'protocol' | 'reply'>) {
  return clients.call<number>('connect', { ...args, protocol: peer.protocol, reply: peer.reply });
}
