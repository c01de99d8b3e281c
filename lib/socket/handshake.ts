import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** What the upgrade request said; the request itself is not kept. */
export interface Handshake {
  /** The peer's IP address. */
  readonly address: string;
  /** The request URL: path and query string. */
  readonly url: string;
  /** The request headers. */
  readonly headers: IncomingHttpHeaders;
}

/**
 * Most of what a handshake holds repeats from one connection to the next (host, origin,
 * user-agent, upgrade, the path, the address behind a proxy) yet arrives as fresh strings each
 * time: equal values are kept as one string. Bounded, so that values that never repeat cannot
 * grow it without end; headers that differ per connection are not offered.
 */
const shared = new Map<string, string>();
const MAX_SHARED = 1024;
const MAX_SHARED_LENGTH = 512;
const PER_CONNECTION = new Set([
  'sec-websocket-key',
  'cookie',
  'authorization',
  'x-request-id',
  'x-correlation-id',
  'traceparent',
  'tracestate',
  'x-amzn-trace-id',
  'cf-ray',
]);

function share(value: string): string {
  if (value.length > MAX_SHARED_LENGTH) return value;
  const known = shared.get(value);
  if (known !== undefined) return known;
  if (shared.size < MAX_SHARED) shared.set(value, value);
  return value;
}

/**
 * The handshake's own copy of the headers, one per socket. Node's headers object is an object
 * literal's: four fields in the object and the rest (an upgrade has at least five headers) in a
 * property array of their own. An instance of this constructor, still an ordinary object (its
 * prototype is `Object.prototype`), keeps in the object as many as the first requests had (up to
 * ten), which every request with the same headers in the same order shares.
 */
const HeaderTable = function HeaderTable() {} as unknown as new () => IncomingHttpHeaders;
HeaderTable.prototype = Object.prototype;

/**
 * The peer's address, without Node's cache of it: reading `remoteAddress` leaves the socket an
 * object `{address, family, port}` with an address string of its own for the life of the
 * connection (about 90 bytes), where the handshake keeps a shared string. Node looks it up again
 * from the connection if anything asks later.
 */
function remoteAddressOf(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  (socket as { _peername?: unknown })._peername = undefined;
  return address;
}

/** @internal */
export function handshakeOf(request: IncomingMessage): Handshake {
  const headers = new HeaderTable();
  const received = request.headers;
  for (const name in received) {
    const value = received[name];
    headers[name] = typeof value === 'string' && !PER_CONNECTION.has(name) ? share(value) : value;
  }
  const url = request.url ?? '';
  return {
    address: share(remoteAddressOf(request.socket)),
    url: url.includes('?') ? url : share(url),
    headers,
  };
}
