import type { IncomingMessage } from 'node:http';
import { INVALID_ALLOWED_ORIGIN } from '../rooms.messages.js';
import type { RoomsAdapterOptions } from '../rooms.options.js';

/** Whether an upgrade's `Origin` may open a socket. */
export type OriginPolicy = (request: IncomingMessage) => boolean;

/**
 * `scheme://host[:port]` as browsers serialise it: lower-case scheme and host, no default port,
 * no path. `undefined` for what is not such an origin (`null`, a path, credentials, garbage).
 */
function canonicalOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  // `new URL('chrome-extension://x').origin` is the opaque "null": such origins are not listable.
  if (url.origin === 'null' || url.username !== '' || url.password !== '') return undefined;
  if (url.pathname !== '/' && url.pathname !== '') return undefined;
  if (url.search !== '' || url.hash !== '') return undefined;
  return url.origin;
}

/**
 * The check of `allowedOrigins`, built once: a list is normalised up front (a bad entry is a
 * startup error, not an origin that silently never matches); a function is asked as it is.
 */
export function originPolicy(allowed: RoomsAdapterOptions['allowedOrigins']): OriginPolicy | undefined {
  if (allowed === undefined) return undefined;
  if (typeof allowed === 'function') {
    return (request) => {
      try {
        // Strictly `true`: a forgotten `await` (a Promise) or a stray truthy value refuses.
        return allowed(request.headers.origin, request) === true;
      } catch {
        return false;
      }
    };
  }
  const origins = new Set<string>();
  for (const entry of allowed) {
    const origin = typeof entry === 'string' ? canonicalOrigin(entry) : undefined;
    if (origin === undefined) throw new Error(INVALID_ALLOWED_ORIGIN(entry));
    origins.add(origin);
  }
  return (request) => {
    const origin = request.headers.origin;
    // Browsers always send one; a client that sends none is not a page of another site.
    if (origin === undefined) return true;
    if (origins.has(origin)) return true;
    const canonical = canonicalOrigin(origin);
    return canonical !== undefined && origins.has(canonical);
  };
}
