/** What every benchmarked server implements; `harness.ts` drives it for the orchestrator. */

/** A `ws` WebSocket, as far as stubbing its TCP write goes. */
export interface WsTransport {
  readonly readyState: number;
  _socket: { write: (...args: any[]) => boolean } | null;
}

/** Join and leave on a server's own socket objects, through the peer's public API. */
export interface RoomOps<S = unknown> {
  sockets(): S[];
  join(socket: S, room: string): unknown;
  leave(socket: S, room: string): unknown;
}

export interface Peer {
  /** The WebSocket URL path clients connect to. */
  readonly path: string;
  /** Listens on 127.0.0.1; resolves the port. */
  start(): Promise<number>;
  /** Sockets of this server in `room` (every socket for peers without rooms). */
  members(room: string): number | Promise<number>;
  /** One broadcast of the `tick` event to `room`, synchronous as far as the peer allows. */
  broadcast(room: string, data: unknown): void;
  /** The `ws` sockets under every connection, for replacing the kernel write by a no-op. */
  transports(): Iterable<WsTransport>;
  /** Peers with rooms. */
  readonly roomOps?: RoomOps<any>;
  /** nestjs-rooms: its Prometheus collector, switched on and off in one process (the metrics scenario). */
  readonly collector?: Collector;
}

/** A metrics collector registered on a registry and scraped as Prometheus would, or not at all. */
export interface Collector {
  /** Registers it on a fresh registry and scrapes that once every `intervalMs`. */
  start(intervalMs: number): void;
  /** Stops scraping and unregisters it. */
  stop(): void;
  /** One scrape of a registry it is registered on (the exposition text). */
  scrape(): Promise<string>;
}

/** Which ws client protocol a peer speaks. */
export type Protocol = 'ws' | 'socket.io';

/** The ~100-byte event every broadcast carries (`seq` changes, so nothing can be cached by value). */
export function tick(seq: number): { seq: number; room: string; text: string; ok: boolean } {
  return { seq, room: 'bench', text: 'the quick brown fox jumps over the lazy', ok: true };
}
