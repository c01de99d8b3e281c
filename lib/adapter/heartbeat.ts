import { randomBytes } from 'node:crypto';
import { WebSocket, type WebSocketServer } from 'ws';
import { PING_PAYLOAD_BYTES } from '../rooms.constants.js';
import type { RoomSocket } from '../socket/room-socket.js';
import { writePing } from '../socket/write-path.js';

/**
 * A `pong` listener shared by every socket (`this` is the socket). Only the pong that echoes the
 * last ping's payload counts: a peer that sends pongs of its own without reading proves nothing.
 */
export function markAlive(this: WebSocket, data: Buffer): void {
  const socket = this as RoomSocket;
  const expected = socket.pingPayload;
  if (expected === undefined || !expected.equals(data)) return;
  socket.pingPayload = undefined;
}

/**
 * One timer for all of an adapter's sockets: each tick pings every socket with a fresh random
 * payload and drops those that did not echo the previous one, with reason `'ping timeout'`.
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
    let count = 0;
    for (const server of this.servers) count += server.clients.size;
    // One draw from the CSPRNG per tick, a slice of it per socket.
    const payloads = randomBytes(count * PING_PAYLOAD_BYTES);
    let offset = 0;
    for (const server of this.servers) {
      for (const socket of server.clients as Set<RoomSocket>) {
        if (socket.readyState !== WebSocket.OPEN) continue;
        // Still holding the last ping's payload: its pong never came.
        if (socket.pingPayload !== undefined) {
          socket.closeReason ??= 'ping timeout';
          socket.terminate();
          continue;
        }
        socket.pingPayload = payloads.subarray(offset, (offset += PING_PAYLOAD_BYTES));
        writePing(socket, socket.pingPayload);
      }
    }
  }
}
