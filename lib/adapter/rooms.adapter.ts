import { Logger, type INestApplicationContext, type WebSocketAdapter, type WsMessageHandler } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { createServer, type Server } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import {
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_UPGRADE_TIMEOUT,
  MAX_BUFFERED_CHUNKS,
  MAX_FRAGMENTS,
  SHUTDOWN_GRACE,
} from '../rooms.constants.js';
import { INVALID_COALESCE_WRITES, INVALID_UPGRADE_TIMEOUT, MISSING_MODULE } from '../rooms.messages.js';
import type { MessageParser, RoomsAdapterOptions } from '../rooms.options.js';
import { RoomsServer } from '../rooms.server.js';
import { handshakeOf } from '../socket/handshake.js';
import { useListenerTable } from '../socket/listener-table.js';
import { RoomSocket, type DisconnectCallback, type DisconnectReason } from '../socket/room-socket.js';
import type { SocketSettings } from '../socket/socket-settings.js';
import { answerPing, negotiatedDeflate } from '../socket/write-path.js';
import { BadFrame } from '../metrics/metric-labels.js';
import { socketSettingsOf } from './adapter-settings.js';
import { ConnectionSlots } from './connection-slots.js';
import { bindHandlers } from './handler-table.js';
import { Heartbeat, markAlive } from './heartbeat.js';
import { MessageRouter, type ResultTransform } from './message-router.js';
import { emitWithExceptionFrames, isNest11, supplyDisconnectReason } from './nest11.js';
import { originPolicy, type OriginPolicy } from './origin-policy.js';
import { UpgradeRouter, type Admission } from './upgrade-router.js';

/** `@WebSocketGateway()` options the adapter reads. */
interface GatewayOptions {
  path?: string;
  namespace?: string;
}

/** Port 0 in `@WebSocketGateway()` means the app's own HTTP server. */
const APP_PORT = 0;

const logger = new Logger('RoomsAdapter');

/** `ws`'s codes for the bad-input rows it handles itself, as bad-frame kinds. */
const WS_ERROR_KINDS: Readonly<Record<string, number>> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: BadFrame.TooLarge,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: BadFrame.TooLarge,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: BadFrame.TooManyFragments,
  WS_ERR_INVALID_UTF8: BadFrame.InvalidUtf8,
};

function countSocketError(this: WebSocket, error: Error & { code?: string }): void {
  // `ws` reports a client's protocol errors (bad UTF-8, an oversized frame) here and then closes
  // the connection with the matching code; the close is what the app needs to know about, so
  // they are only counted.
  const kind = error.code === undefined ? undefined : WS_ERROR_KINDS[error.code];
  if (kind !== undefined) (this as RoomSocket).settings.metrics.badFrames[kind]++;
}

/** A socket's `close` listener (`this` is the socket): disconnecting -> leave -> disconnect. */
function onClose(this: WebSocket): void {
  const socket = this as RoomSocket;
  if (socket.openReplies !== undefined) for (const reply of socket.openReplies) reply.unsubscribe();
  // Kept on the socket for Nest 11's `handleDisconnect`, which is not handed the reason (./nest11.ts).
  const reason: DisconnectReason = (socket.closeReason ??= 'transport close');
  socket.settings.metrics.disconnected(reason);
  // Discarded by closeClient before the app served it: no hook of any kind runs.
  if (socket.gone) return;
  const done = () => {
    const callbacks = socket.disconnectCallbacks;
    if (typeof callbacks === 'function') callbacks(reason);
    else if (callbacks !== undefined) for (const callback of callbacks) callback(reason);
  };
  socket.server.closed(socket, reason, done, closedCleanly(socket));
}

/** Whether the client answered this server's close frame: then it read every frame sent before it. */
function closedCleanly(socket: RoomSocket): boolean {
  const state = socket as unknown as { _closeFrameSent?: boolean; _closeFrameReceived?: boolean };
  return state._closeFrameSent === true && state._closeFrameReceived === true;
}

/**
 * A connection whose client has come back on a new one (with its recovery token) is dead, though
 * its TCP connection has not said so yet: it is dropped now, as a transport close, so that its
 * session waits for the new connection to take it. One the server is already closing is not a drop.
 */
function dropStale(socket: RoomSocket): void {
  if (socket.closeReason !== undefined) return;
  socket.closeReason = 'transport close';
  onClose.call(socket);
  socket.terminate();
}

/**
 * Nest's WebSocket adapter on `ws`, with rooms: gateways share the app's HTTP server (routed by
 * path) or listen on their own port; every client is a `RoomSocket` in the app's rooms.
 */
export class RoomsAdapter implements WebSocketAdapter<WebSocketServer, RoomSocket, GatewayOptions> {
  private readonly options: Required<Pick<RoomsAdapterOptions, 'maxPayload' | 'heartbeatInterval'>> &
    RoomsAdapterOptions;
  private readonly servers = new Set<WebSocketServer>();
  private readonly routers = new Map<number, UpgradeRouter>();
  private readonly heartbeat: Heartbeat;
  private readonly slots: ConnectionSlots | undefined;
  private readonly originAllowed: OriginPolicy | undefined;
  /** What every socket of this adapter is held to (watermarks, pending frames, bad-frame budget), once the app's rooms are known. */
  private settings: SocketSettings | undefined;
  private readonly messages: MessageRouter;
  private rooms: RoomsServer | undefined;

  constructor(
    private readonly app: INestApplicationContext,
    options: RoomsAdapterOptions = {},
  ) {
    this.options = {
      ...options,
      maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      heartbeatInterval: options.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL,
    };
    this.messages = new MessageRouter(options.messageParser);
    this.heartbeat = new Heartbeat(this.options.heartbeatInterval, this.servers);
    if (options.maxConnections !== undefined) this.slots = new ConnectionSlots(options.maxConnections);
    this.originAllowed = originPolicy(options.allowedOrigins);
    const { upgradeTimeout } = options;
    if (upgradeTimeout !== undefined && !(upgradeTimeout > 0)) throw new Error(INVALID_UPGRADE_TIMEOUT);
    const { coalesceWrites } = options;
    if (coalesceWrites !== undefined && typeof coalesceWrites !== 'boolean') throw new Error(INVALID_COALESCE_WRITES);
  }

  /** Nest's call for each gateway `{port, path}`: a `ws` server routed by path on the app's HTTP server (port 0) or its own port. */
  create(port: number, options: GatewayOptions = {}): WebSocketServer {
    const rooms = this.resolveRooms();
    if (rooms.recovery !== undefined) rooms.recovery.dropStale = dropStale;
    this.settings ??= socketSettingsOf(this.options, rooms.counters);
    if (options.namespace !== undefined) throw new Error('RoomsAdapter does not support namespaces; use paths.');
    // Nest subscribes a gateway's handleDisconnect right after its server is created: the first
    // create() is the moment to give Nest 11 gateways the reason too.
    if (this.servers.size === 0) supplyDisconnectReason(this.app);
    const server = new WebSocketServer({
      noServer: true,
      WebSocket: RoomSocket,
      maxPayload: this.options.maxPayload,
      perMessageDeflate: this.options.perMessageDeflate ?? false,
      // Pongs go through the write path (answerPing), under the watermark like every other frame.
      autoPong: false,
      maxFragments: MAX_FRAGMENTS,
      maxBufferedChunks: MAX_BUFFERED_CHUNKS,
    });
    server.on('connection', (socket: RoomSocket, request: IncomingMessage) => this.accept(rooms, socket, request));
    server.on('error', (error) => logger.error(error));
    this.routerFor(port).add(options.path, server);
    this.servers.add(server);
    this.heartbeat.start();
    return server;
  }

  /**
   * Reads inbound frames with `parser` from now on, as Nest's `WsAdapter.setMessageParser` does:
   * before `listen()` for every frame, after it for every frame that arrives later.
   */
  setMessageParser(parser: MessageParser): void {
    this.messages.parser = parser;
  }

  /** Nest's connection callback (`handleConnection`), run after the socket is in its own room. */
  bindClientConnect(server: WebSocketServer, callback: (...args: unknown[]) => void): void {
    server.on('connection', callback);
  }

  /** Nest's `handleDisconnect` callback, run after the disconnect hooks, when the socket is in no room. */
  bindClientDisconnect(client: RoomSocket, callback: DisconnectCallback): void {
    // One gateway's callback is kept as is; more make an exactly sized array (a pushed-to one
    // would reserve room for 16 more on every socket).
    const callbacks = client.disconnectCallbacks;
    if (callbacks === undefined) client.disconnectCallbacks = callback;
    else
      client.disconnectCallbacks = typeof callbacks === 'function' ? [callbacks, callback] : [...callbacks, callback];
  }

  /** Nest's `@SubscribeMessage` handlers for this client. */
  bindMessageHandlers(client: RoomSocket, handlers: WsMessageHandler[], transform: ResultTransform): void {
    bindHandlers(client, handlers);
    this.messages.resultTransform ??= transform;
  }

  /** Drops a client that connected before the app was ready: no hooks, it was never served. */
  closeClient(client: RoomSocket): void {
    client.closeReason ??= 'server disconnect';
    client.server.dropUnserved(client);
    client.close(1013, 'server starting');
  }

  /**
   * Stops the server taking upgrades (one completing from now on gets 503), closes every client
   * with 1001 (cut off after a grace period), and resolves once the last is gone. Refusing first
   * matters: a client that joined while the others were closing would never be closed, and the
   * server would wait for it for ever.
   */
  async close(server: WebSocketServer): Promise<void> {
    this.rooms?.recovery?.shuttingDown();
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    const closed: Promise<void>[] = [];
    for (const client of server.clients as Set<RoomSocket>) {
      if (client.readyState === WebSocket.CLOSED) continue;
      closed.push(new Promise((resolve) => client.once('close', () => resolve())));
      client.closeReason ??= 'server shutting down';
      client.close(1001);
    }
    const grace = setTimeout(() => {
      for (const client of server.clients) client.terminate();
    }, SHUTDOWN_GRACE);
    await Promise.all(closed);
    clearTimeout(grace);
    await serverClosed;
    for (const router of this.routers.values()) router.remove(server);
    this.servers.delete(server);
  }

  /** Stops the heartbeat and closes the HTTP servers the adapter opened for gateways on their own port. */
  async dispose(): Promise<void> {
    this.heartbeat.stop();
    const ownServers: Promise<void>[] = [];
    for (const [port, router] of this.routers) {
      router.detach();
      if (port !== APP_PORT) ownServers.push(new Promise((resolve) => router.http.close(() => resolve())));
    }
    this.routers.clear();
    await Promise.all(ownServers);
  }

  /**
   * Before any socket exists, in this order: an `Origin` that `allowedOrigins` does not allow gets
   * 403; past `maxConnections` (upgrades in progress included) 503; `authenticate` refusing (or
   * failing) 401 and nothing else happens; what it returns becomes `socket.data`. The place taken
   * in `maxConnections` is the TCP socket's until it closes, or until the upgrade is refused.
   */
  private readonly admit: Admission = async (request, socket) => {
    if (this.originAllowed !== undefined && !this.originAllowed(request)) return { refuse: '403 Forbidden' };
    const { slots } = this;
    if (slots !== undefined && !slots.take(socket)) return { refuse: '503 Service Unavailable' };
    const { authenticate } = this.options;
    let data: unknown;
    try {
      data = authenticate === undefined ? undefined : await authenticate(request);
    } catch {
      data = false;
    }
    if (data === false) {
      slots?.release(socket);
      return { refuse: '401 Unauthorized' };
    }
    // Only an admitted client may move its session here: a refusal leaves it waiting where it is.
    await this.rooms?.beforeConnect(request.url ?? '');
    return { data };
  };

  private accept(rooms: RoomsServer, socket: RoomSocket, request: IncomingMessage): void {
    socket.handshake = handshakeOf(request);
    const settings = (socket.settings = this.settings!);
    settings.metrics.connectionsTotal++;
    socket.deflate = negotiatedDeflate(socket);
    // Nest 11's exception filter answers through `emit`, which ws only dispatches locally (./nest11.ts).
    if (isNest11()) socket.emit = emitWithExceptionFrames;
    useListenerTable(socket);
    socket.on('message', this.messages.listener);
    socket.on('ping', answerPing);
    socket.on('pong', markAlive);
    socket.on('error', countSocketError);
    socket.on('close', onClose); // ws emits it once; `once` would add a wrapper per socket
    const stale = rooms.recovery?.staleHolderFor(socket);
    if (stale !== undefined) dropStale(stale);
    rooms.connected(socket);
  }

  private resolveRooms(): RoomsServer {
    if (this.rooms !== undefined) return this.rooms;
    try {
      // Through ModuleRef, not `this.app.get`: the app is Nest's exception proxy, which (with the
      // default abortOnError) exits the process on a failed lookup before we can name the fix.
      this.rooms = this.app.get(ModuleRef).get(RoomsServer, { strict: false }) ?? undefined;
    } catch {
      // Nest's own "could not find" names no fix; ours below does.
    }
    if (this.rooms === undefined) throw new Error(MISSING_MODULE);
    return this.rooms;
  }

  private routerFor(port: number): UpgradeRouter {
    let router = this.routers.get(port);
    if (router === undefined) {
      const shared = port === APP_PORT;
      router = new UpgradeRouter(shared ? this.appHttpServer() : this.listenOn(port), this.admit, {
        shared,
        upgradeTimeout: this.options.upgradeTimeout ?? DEFAULT_UPGRADE_TIMEOUT,
      });
      this.routers.set(port, router);
    }
    return router;
  }

  private appHttpServer(): Server {
    const http = (this.app as { getHttpServer?: () => Server }).getHttpServer?.();
    if (http === undefined) throw new Error('RoomsAdapter: this app has no HTTP server; give the gateway a port.');
    return http;
  }

  private listenOn(port: number): Server {
    const http = createServer((_request, response) => response.writeHead(426).end());
    http.on('error', (error) => logger.error(error));
    http.listen(port);
    return http;
  }
}
