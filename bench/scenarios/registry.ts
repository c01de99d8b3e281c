import type { PeerInfo } from '../peers.js';
import type { Sizes } from '../sizes.js';
import { median } from '../stats.js';
import { connect, startClients, startServer, type Row } from './processes.js';

/** Socket `i` is in rooms g(i-4) .. g(i): `sockets` rooms of 5 sockets each. */
function windowJoins(sockets: number): string[][] {
  return Array.from({ length: sockets }, (_, i) =>
    Array.from({ length: 5 }, (_, k) => `g${(i - k + sockets) % sockets}`),
  );
}

/**
 * The registry: join+leave per second of server CPU through the peer's own API, and broadcasting
 * once to each of `sockets` rooms of 5 sockets (end to end with real writes, then with writes stubbed).
 */
export async function registry(peer: PeerInfo, run: number, sizes: Sizes, profile?: string): Promise<Row> {
  const sockets = sizes.registrySockets;
  const rooms = { prefix: 'g', count: sockets };
  const [server, clients] = await Promise.all([startServer(peer), startClients()]);
  try {
    await connect(clients, peer, { url: server.url, count: sockets, joins: windowJoins(sockets) });
    await server.members('g0', 5);

    const joinLeaveRates = await server.child.call<number[]>('joinLeave', {
      roomCount: Math.max(1, sockets / 5),
      iterations: sizes.joinLeaveRounds,
      windows: sizes.joinLeaveWindows,
      profile,
    });

    await clients.call('reset');
    const { start } = await server.child.call<{ start: number }>('burst', { rooms, passes: 1 });
    const { at } = await clients.call<{ at: number }>('expect', { total: sockets * 5 });
    const burstCpuNs = await server.child.call<number>('cpu');

    const stubbed = await server.child.call<{ broadcasts: number; cpuNs: number }>('stubbed', {
      rooms,
      passes: sizes.smallRoomPasses,
      warmup: 1,
    });

    return {
      scenario: 'registry',
      peer: peer.name,
      size: sockets,
      run,
      metrics: {
        joinLeavePerSec: median(joinLeaveRates),
        smallRoomBroadcastsPerSec: sockets / ((at - start) / 1e9),
        smallRoomCpuUsPerBroadcast: burstCpuNs / sockets / 1000,
        smallRoomLibBroadcastsPerSec: stubbed.broadcasts / (stubbed.cpuNs / 1e9),
      },
    };
  } finally {
    await Promise.all([server.child.stop(), clients.stop()]);
  }
}
