import { WebSocket, type WebSocketServer } from 'ws';
import type { RoomSocket } from '../socket/room-socket.js';

/** A `pong` listener shared by every socket (`this` is the socket). */
export function markAlive(this: WebSocket): void {
  (this as RoomSocket).alive = true;
}

/**
 * One timer for all of an adapter's sockets: each tick pings every socket and drops those that
 * did not answer the previous ping, with reason `'ping timeout'`.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly servers: ReadonlySet<WebSocketServer>,
  ) {}

  start(): void {
    if (this.timer !== undefined || this.intervalMs <= 0) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    for (const server of this.servers) {
      for (const socket of server.clients as Set<RoomSocket>) {
        if (socket.readyState !== WebSocket.OPEN) continue;
        if (!socket.alive) {
          socket.closeReason ??= 'ping timeout';
          socket.terminate();
          continue;
        }
        socket.alive = false;
        socket.ping();
      }
    }
  }
}
