import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { RoomSocket } from '../socket/room-socket.js';

/** `/chat/` and `chat` both mean `/chat`; no path means `/`. */
export function normalizePath(path: string | undefined): string {
  const withSlash = `/${path ?? ''}`.replace(/\/+/g, '/');
  return withSlash.length > 1 && withSlash.endsWith('/') ? withSlash.slice(0, -1) : withSlash;
}

function pathnameOf(request: IncomingMessage): string {
  return normalizePath(new URL(request.url ?? '/', 'ws://localhost').pathname);
}

function reject(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Whether an upgrade may become a socket: an HTTP status line to refuse it, or the data the
 * socket starts with.
 */
export type Admission = (request: IncomingMessage) => Promise<{ refuse: string } | { data: unknown }>;

/** Hands each WebSocket upgrade on one HTTP server, once admitted, to the WebSocket server of its path. */
export class UpgradeRouter {
  private readonly routes = new Map<string, WebSocketServer>();

  constructor(
    readonly http: Server,
    private readonly admit: Admission,
  ) {
    http.on('upgrade', this.onUpgrade);
  }

  add(path: string | undefined, server: WebSocketServer): void {
    this.routes.set(normalizePath(path), server);
  }

  remove(server: WebSocketServer): void {
    for (const [path, candidate] of this.routes) if (candidate === server) this.routes.delete(path);
  }

  detach(): void {
    this.http.off('upgrade', this.onUpgrade);
  }

  private readonly onUpgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    let server: WebSocketServer | undefined;
    try {
      server = this.routes.get(pathnameOf(request));
    } catch {
      return reject(socket, '400 Bad Request');
    }
    if (server === undefined) return reject(socket, '404 Not Found');
    const admission = await this.admit(request);
    if ('refuse' in admission) return reject(socket, admission.refuse);
    if (socket.destroyed) return;
    const target = server;
    target.handleUpgrade(request, socket, head, (client) => {
      if (typeof admission.data === 'object' && admission.data !== null) {
        (client as RoomSocket).data = admission.data as Record<string, unknown>;
      }
      target.emit('connection', client, request);
    });
  };
}
