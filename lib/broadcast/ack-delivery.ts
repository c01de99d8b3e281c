import type { AckHolder, AckSink } from './ack-sink.js';

const NONE: readonly AckHolder[] = [];

/**
 * Takes socket's entry for `ack` when it is `sink`'s (or any, without `sink`). A socket's map goes
 * once it is empty: one that was asked many times must not keep the map's grown table afterwards.
 */
export function takePendingAck(socket: AckHolder, ack: number, sink?: AckSink): AckSink | undefined {
  const pending = socket.pendingAcks;
  const found = pending?.get(ack);
  if (found === undefined || (sink !== undefined && found !== sink)) return undefined;
  pending!.delete(ack);
  if (pending!.size === 0) socket.pendingAcks = undefined;
  return found;
}

/**
 * The entries one `emitWithAck` left on this server's sockets. Once nobody waits for their
 * answers any more (settled, timed out, aborted), `release` takes back whatever is still there,
 * so that a late answer is a stray ack and a socket that never answers keeps nothing.
 */
export class AckDelivery {
  /** How many sockets were sent the event. */
  readonly count: number;
  private sockets: readonly AckHolder[];

  constructor(
    sockets: readonly AckHolder[],
    private readonly ack: number,
    private readonly sink: AckSink,
  ) {
    this.sockets = sockets;
    this.count = sockets.length;
  }

  /** Forgets the answers still owed; the second call does nothing. */
  release(): void {
    const sockets = this.sockets;
    this.sockets = NONE;
    for (const socket of sockets) takePendingAck(socket, this.ack, this.sink);
  }
}
