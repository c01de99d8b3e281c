import type { Duplex } from 'node:stream';

/**
 * `maxConnections` as places held by TCP sockets, from the moment an upgrade is let in (before
 * `authenticate` resolves) until that socket closes. A socket holds at most one place and gives it
 * back exactly once, whichever comes first: a refusal, or its `close` (mid-handshake, a failed
 * handshake, or the end of the WebSocket connection, which is the same socket).
 */
export class ConnectionSlots {
  private readonly holders = new Set<Duplex>();
  private readonly onClose: (this: Duplex) => void;

  constructor(private readonly max: number) {
    const holders = this.holders;
    // One listener function for every socket; `this` is the socket that closed.
    this.onClose = function (this: Duplex) {
      holders.delete(this);
    };
  }

  /** Takes a place for `socket`; `false` when all are taken. */
  take(socket: Duplex): boolean {
    if (this.holders.size >= this.max || socket.destroyed) return false;
    this.holders.add(socket);
    socket.on('close', this.onClose);
    return true;
  }

  /** Gives `socket`'s place back (a no-op when it holds none). */
  release(socket: Duplex): void {
    this.holders.delete(socket);
  }
}
