import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** What the upgrade request said; the request itself is not kept. */
export interface Handshake {
  /** The peer's IP address. */
  readonly address: string;
  /** The request URL: path and query string. */
  readonly url: string;
  /** The request headers. */
  readonly headers: IncomingHttpHeaders;
}

export function handshakeOf(request: IncomingMessage): Handshake {
  return { address: request.socket.remoteAddress ?? '', url: request.url ?? '', headers: request.headers };
}
