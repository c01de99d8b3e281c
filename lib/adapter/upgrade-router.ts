import { Server as HttpServer, type IncomingMessage, type Server } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { RoomSocket } from '../socket/room-socket.js';
import { UpgradeDeadline } from './upgrade-deadline.js';

/** `/chat/` and `chat` both mean `/chat`; no path means `/`. */
export function normalizePath(path: string | undefined): string {
  const withSlash = `/${path ?? ''}`.replace(/\/+/g, '/');
  return withSlash.length > 1 && withSlash.endsWith('/') ? withSlash.slice(0, -1) : withSlash;
}

function pathnameOf(request: IncomingMessage): string {
  // Leading slashes are folded first: URL would read `//chat` as the host `chat`, not as a path.
  return normalizePath(new URL((request.url ?? '/').replace(/^\/{2,}/, '/'), 'ws://localhost').pathname);
}

function reject(socket: Duplex, status: string): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Whether an upgrade may become a socket: an HTTP status line to refuse it, or the data the
 * socket starts with.
 */
export type Admission = (request: IncomingMessage, socket: Duplex) => Promise<{ refuse: string } | { data: unknown }>;

function ignoreUpgradeError(): void {
  // Node hands an upgrading socket over with no `error` listener: a client resetting it while
  // `authenticate` runs would otherwise be an uncaught exception. Its `close` follows and is enough.
}

/** How an {@link UpgradeRouter} treats connections that do not upgrade. */
export interface UpgradeRouterOptions {
  /** Milliseconds a connection has, from connecting, to complete its upgrade. */
  upgradeTimeout: number;
  /**
   * The HTTP server is the app's: a connection that makes an ordinary HTTP request is the app's
   * business from then on. Otherwise (a gateway's own port) only upgrades are served.
   */
  shared: boolean;
}

/** Hands each WebSocket upgrade on one HTTP server, once admitted, to the WebSocket server of its path. */
export class UpgradeRouter {
  private readonly routes = new Map<string, WebSocketServer>();
  private readonly deadline: UpgradeDeadline | undefined;
  private readonly connectionEvent: 'connection' | 'secureConnection';

  constructor(
    readonly http: Server,
    private readonly admit: Admission,
    options: UpgradeRouterOptions,
  ) {
    http.on('upgrade', this.onUpgrade);
    // On TLS the upgrade and the request carry the TLS socket, announced by `secureConnection`
    // (a connection that never finishes its TLS handshake is Node's `handshakeTimeout` business).
    // Typed as Node's http.Server, the app's server may be an https.Server or HTTP/2's at run time.
    const actual: object = http;
    this.connectionEvent = actual instanceof HttpsServer ? 'secureConnection' : 'connection';
    // Only servers whose requests are sure to show up as `request` events (not, say, HTTP/2's
    // streams): there, a connection is known to be an ordinary one the moment it asks something.
    const applies = !options.shared || actual instanceof HttpServer || actual instanceof HttpsServer;
    if (applies && options.upgradeTimeout !== Infinity) {
      this.deadline = new UpgradeDeadline(options.upgradeTimeout);
      http.on(this.connectionEvent, this.onConnection);
      if (options.shared) http.on('request', this.onRequest);
    }
  }

  add(path: string | undefined, server: WebSocketServer): void {
    this.routes.set(normalizePath(path), server);
  }

  remove(server: WebSocketServer): void {
    for (const [path, candidate] of this.routes) if (candidate === server) this.routes.delete(path);
  }

  /** Stops serving upgrades and closes connections that have not completed theirs. */
  detach(): void {
    this.http.off('upgrade', this.onUpgrade);
    this.http.off(this.connectionEvent, this.onConnection);
    this.http.off('request', this.onRequest);
    this.deadline?.stop();
  }

  private readonly onConnection = (socket: Duplex): void => {
    this.deadline!.watch(socket);
  };

  private readonly onRequest = (request: IncomingMessage): void => {
    this.deadline!.unwatch(request.socket);
  };

  private readonly onUpgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on('error', ignoreUpgradeError);
    let server: WebSocketServer | undefined;
    try {
      server = this.routes.get(pathnameOf(request));
    } catch {
      return reject(socket, '400 Bad Request');
    }
    if (server === undefined) return reject(socket, '404 Not Found');
    const admission = await this.admit(request, socket);
    if ('refuse' in admission) return reject(socket, admission.refuse);
    if (socket.destroyed) return;
    const target = server;
    target.handleUpgrade(request, socket, head, (client) => {
      this.deadline?.unwatch(socket);
      socket.off('error', ignoreUpgradeError); // the WebSocket has its own now
      if (typeof admission.data === 'object' && admission.data !== null) {
        (client as RoomSocket).data = admission.data as Record<string, unknown>;
      }
      target.emit('connection', client, request);
    });
  };
}
