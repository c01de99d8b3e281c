import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** What the upgrade request said; the request itself is not kept. */
export interface Handshake {
  readonly address: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export function handshakeOf(request: IncomingMessage): Handshake {
  return { address: request.socket.remoteAddress ?? '', url: request.url ?? '', headers: request.headers };
}
