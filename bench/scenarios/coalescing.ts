import type { PeerInfo } from '../peers.js';
import type { Sizes } from '../sizes.js';
import { quantile } from '../stats.js';
import { connect, startClients, startServer, type Row } from './processes.js';

/*
 * The scenarios where frames for one socket meet within one turn of the server's event loop (and
 * one where they never do): what write coalescing is for, and what it must not cost.
 */

/** `perTurn` broadcasts in one synchronous block to one room, block after block: server CPU per delivery. */
export async function burst(peer: PeerInfo, run: number, sizes: Sizes): Promise<Row> {
  const n = sizes.burstSockets;
  const [server, clients] = await Promise.all([startServer(peer), startClients()]);
  try {
    await connect(clients, peer, { url: server.url, count: n, joins: 'bench' });
    await server.members('bench', n);
    const stretch = async (passes: number) => {
      await clients.call('reset');
      const { start } = await server.child.call<{ start: number }>('burst', {
        rooms: { prefix: 'bench' },
        passes,
        perTurn: sizes.burstPerTurn,
      });
      const { at } = await clients.call<{ at: number }>('expect', { total: n * passes });
      return { wallNs: at - start, cpuNs: await server.child.call<number>('cpu') };
    };
    await stretch(sizes.burstPerTurn * 2);
    const passes = sizes.burstPerTurn * sizes.burstTurns;
    const { wallNs, cpuNs } = await stretch(passes);
    const deliveries = n * passes;
    return {
      scenario: 'burst',
      peer: peer.name,
      size: n,
      run,
      metrics: {
        cpuNsPerDelivery: cpuNs / deliveries,
        deliveriesPerSec: deliveries / (wallNs / 1e9),
        serverBusy: cpuNs / wallNs,
      },
    };
  } finally {
    await Promise.all([server.child.stop(), clients.stop()]);
  }
}

/**
 * Rooms of `chatRoomSize`, every socket saying something to its own room (the sender excluded)
 * in turn, a window of messages in flight: as many deliveries as the server (or the clients) can
 * make, and the server's CPU per delivery.
 */
export async function chatStorm(peer: PeerInfo, run: number, sizes: Sizes): Promise<Row> {
  const n = sizes.chatSockets;
  const roomCount = Math.max(1, Math.round(n / sizes.chatRoomSize));
  const rooms = Array.from({ length: n }, (_, i) => `chat${i % roomCount}`);
  const fanout = Math.floor(n / roomCount) - 1;
  const [server, clients] = await Promise.all([startServer(peer), startClients()]);
  try {
    await connect(clients, peer, { url: server.url, count: n, joins: rooms });
    await server.members('chat0', fanout + 1);
    await server.members(`chat${roomCount - 1}`, fanout + 1);
    let row: Row | undefined;
    for (const messages of [Math.ceil(sizes.chatMessages / 5), sizes.chatMessages]) {
      await clients.call('reset');
      await server.child.call('markCpu');
      const { start } = await clients.call<{ start: number }>('storm', {
        rooms,
        messages,
        window: sizes.chatWindow,
        fanout,
        protocol: peer.protocol,
      });
      const { at } = await clients.call<{ at: number }>('expect', { total: messages * fanout });
      const cpuNs = await server.child.call<number>('cpu');
      const deliveries = messages * fanout;
      row = {
        scenario: 'chat-storm',
        peer: peer.name,
        size: n,
        run,
        metrics: {
          deliveriesPerSec: deliveries / ((at - start) / 1e9),
          cpuNsPerDelivery: cpuNs / deliveries,
          serverBusy: cpuNs / (at - start),
        },
      };
    }
    return row!;
  } finally {
    await Promise.all([server.child.stop(), clients.stop()]);
  }
}

/** `list` in an order fixed by `seed` (a Fisher-Yates shuffle driven by a small LCG): the same run, the same order. */
function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let state = (seed * 2654435761 + 1) >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * One broadcast every `lowLoadIntervalMs` to one room: latency from the server's clock to each
 * receiver's. Every peer's server and clients are up at once and the peers take turns, a block of
 * `lowLoadBlock` probes each, in an order shuffled afresh every round (a fixed rotation would always
 * put the same peer right after the same other one, and a turn can feel what the one before it left
 * behind): what else the machine does in a stretch of the run lands on every peer alike, so their
 * ratios are taken side by side. Within a block a server broadcasts every `lowLoadIntervalMs` as it
 * would on its own; the first probes of each block (the server was idle, its caches cold) and the
 * first round of blocks warm up.
 */
export async function lowLoad(peers: PeerInfo[], run: number, sizes: Sizes): Promise<Row[]> {
  const n = sizes.lowLoadSockets;
  const started = await Promise.all(
    peers.map(async (peer) => {
      const [server, clients] = await Promise.all([startServer(peer), startClients()]);
      return { peer, server, clients, latencies: [] as number[] };
    }),
  );
  try {
    for (const { peer, server, clients } of started) {
      await connect(clients, peer, { url: server.url, count: n, joins: 'bench', record: true });
      await server.members('bench', n);
    }
    const block = Math.min(sizes.lowLoadBlock, sizes.lowLoadProbes);
    const blocks = Math.ceil(sizes.lowLoadProbes / block) + 1;
    const skip = Math.min(2, block - 1);
    for (let b = 0; b < blocks; b++) {
      for (const { server, clients, latencies } of shuffled(started, run * blocks + b)) {
        await clients.call('reset');
        const sent = await server.child.call<number[]>('probe', {
          room: 'bench',
          count: block,
          intervalMs: sizes.lowLoadIntervalMs,
        });
        await clients.call('expect', { total: n * block });
        if (b === 0) continue;
        for (const arrivals of await clients.call<number[][]>('recorded')) {
          for (let i = skip; i < sent.length; i++) latencies.push((arrivals[i] - sent[i]) / 1000);
        }
      }
    }
    return started.map(({ peer, latencies }) => ({
      scenario: 'low-load',
      peer: peer.name,
      size: n,
      run,
      metrics: {
        latencyP50Us: quantile(latencies, 0.5),
        latencyP99Us: quantile(latencies, 0.99),
      },
    }));
  } finally {
    await Promise.all(started.flatMap(({ server, clients }) => [server.child.stop(), clients.stop()]));
  }
}
