import type { IncomingMessage } from 'node:http';
import type { RawData } from 'ws';
import type { Broker } from './cluster/broker.js';
import type { PresenceOptions } from './presence/presence.types.js';
import type { RoomSocket } from './socket/room-socket.js';

/** Options of `RoomsModule.forRoot()`; the same for every gateway of the app. */
export interface RoomsModuleOptions {
  /** Carries rooms across servers. Default: in-process, this server alone. */
  broker?: Broker;
  /** Asked for every room of every decorator-driven join (`@JoinRoom`); all must agree. */
  canJoin?: (socket: RoomSocket, room: string) => boolean | Promise<boolean>;
  /** Rooms a socket may be in, its own id room aside. Default 1000. */
  maxRoomsPerSocket?: number;
  /** Longest room name, in characters. Default 256. */
  maxRoomNameLength?: number;
  /**
   * Connection recovery: a socket whose connection drops comes back, within `maxDisconnection`,
   * with its id, rooms, data and every frame it missed. Off unless given (`{}` for the defaults).
   */
  recovery?: RecoveryOptions;
  /** Limits of `socket.track` (see {@link PresenceOptions}). */
  presence?: PresenceOptions;
}

/** Options of connection recovery (`RoomsModuleOptions.recovery`). */
export interface RecoveryOptions {
  /** Milliseconds a dropped socket's session waits for its client. Default 120000. */
  maxDisconnection?: number;
  /** Frame bytes this server holds for recovery; past it the oldest go. Default 64 MiB. */
  maxBufferedBytes?: number;
}

/** What `useClass` / `useExisting` of `RoomsModule.forRootAsync()` implement. */
export interface RoomsOptionsFactory {
  /** The module's options, possibly after async work. */
  createRoomsOptions(): RoomsModuleOptions | Promise<RoomsModuleOptions>;
}

/** What a {@link MessageParser} makes of an inbound frame: an event for a handler, or the answer to an `emitWithAck`. */
export type ParsedFrame =
  | {
      /** The event a `@SubscribeMessage` handler takes. */
      event: string;
      /** The handler's message body. */
      data?: unknown;
      /** Echoed on every frame that answers this one. */
      id?: string | number;
    }
  | {
      /** The `ack` of the `emitWithAck` frame this answers. */
      ack: number;
      /** The answer `emitWithAck` resolves with. */
      data?: unknown;
    };

/**
 * Turns one inbound frame into a {@link ParsedFrame}, or nothing when the frame is for no handler.
 * As with Nest's `WsAdapter`, a text frame arrives as a string and a binary frame as one `Buffer`;
 * `isBinary` says the same for a parser that prefers a flag. It runs synchronously for every frame.
 * Throwing `new WsException('reason')` answers the client with that reason; any other throw, or a
 * result that is nothing or not an object, is answered with a fixed message (the README's bad-input
 * table). What the parser returns goes through the same checks as a JSON frame (`id`, `event`, `ack`).
 */
export type MessageParser = {
  // Typed as WsAdapter types its parser's argument (`string | RawData`), in method syntax so that
  // the check is bivariant: a parser typed for WsAdapter, for what really arrives (`string | Buffer`)
  // or as the wire contract writes it (`RawData`) fits.
  /** One inbound frame (a string for text, a `Buffer` for binary) in; the frame for the router out. */
  parse(data: string | RawData, isBinary: boolean): ParsedFrame | void;
}['parse'];

/** Options of `new RoomsAdapter(app, options)`: the WebSocket transport. */
export interface RoomsAdapterOptions {
  /** Largest inbound frame in bytes; a larger one closes that connection with 1009. Default 1 MiB. */
  maxPayload?: number;
  /** Milliseconds between pings; a peer that has not answered when the next is due is dropped. Default 25000. */
  heartbeatInterval?: number;
  /** Negotiate permessage-deflate (`true` or `ws`'s deflate options). Default off. */
  perMessageDeflate?: boolean | Record<string, unknown>;
  /**
   * Decides each upgrade before any socket exists: `false` (or a throw or rejection) answers HTTP
   * 401; anything else admits the client, and an object becomes its `socket.data`.
   */
  authenticate?: (request: IncomingMessage) => unknown;
  /**
   * Connections the app serves at once, upgrades still in progress (`authenticate` running)
   * included; past it, upgrades are answered with HTTP 503. Default unlimited.
   */
  maxConnections?: number;
  /**
   * Pages allowed to open a socket, checked before `authenticate`; any other `Origin` gets HTTP
   * 403. A list of origins (`scheme://host[:port]`, matched after the browser's normalisation:
   * case-insensitive scheme and host, default port implied) also admits upgrades without an
   * `Origin` (not from a browser). A function decides for itself, gets `undefined` when there is
   * no `Origin`, and admits only by returning `true` (a throw refuses). Default: any origin.
   */
  allowedOrigins?: readonly string[] | ((origin: string | undefined, request: IncomingMessage) => boolean);
  /**
   * Milliseconds a connection has, from connecting, to complete its WebSocket upgrade
   * (`authenticate` included); past it, it is closed. On the app's HTTP server a connection that
   * makes an ordinary HTTP request is left to the server. `Infinity` turns it off. Default 10000.
   */
  upgradeTimeout?: number;
  /** Bytes waiting to be written to a socket above which `volatile` events to it are dropped. Default 16 KiB. */
  lowWatermark?: number;
  /** Bytes waiting to be written to a socket above which it is closed (1013, `slow consumer`). Default 8 MiB. */
  highWatermark?: number;
  /**
   * Frames written to one socket within one turn of the event loop (replies, `sendEvent`,
   * broadcasts, whatever wrote them) leave in one write at the end of the turn, in order, with no
   * timer: one system call per socket per turn instead of one per frame. `false` writes each frame
   * as it comes. Default true.
   */
  coalesceWrites?: boolean;
  /** Frames of one socket whose handlers may run at once; more are answered with an exception frame. Default 64. */
  maxPendingFrames?: number;
  /** Reads the app's own frame format instead of the JSON of the wire protocol (see {@link MessageParser}). Default: JSON. */
  messageParser?: MessageParser;
  /**
   * Frames no handler can take (not JSON, not an object, a bad `id`, no or an unknown event, a
   * stray ack, binary, a `messageParser` refusal) that one socket may send within `badFrameWindow`; each is answered with an
   * exception frame, and the next one closes the connection with 1008. `Infinity` turns it off.
   * Default 100.
   */
  maxBadFrames?: number;
  /** Milliseconds of the window `maxBadFrames` counts in; a window starts at the first bad frame after the last one ended. Default 10000. */
  badFrameWindow?: number;
}
