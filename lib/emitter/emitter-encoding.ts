/**
 * An emitter's messages as the servers read them (cluster-messages.ts): the JSON header line and,
 * for a broadcast, the event's JSON behind a newline, exactly what every socket will get.
 */

import type { EmitterMessage } from '../cluster/cluster-messages.js';
import { INVALID_EVENT_NAME, UNSERIALISABLE } from '../rooms.messages.js';

/** @internal `{"event","data"}` as every socket gets it; throws a `TypeError` for what JSON cannot carry. */
export function serializeEvent(event: unknown, data: unknown): string {
  if (typeof event !== 'string' || event.length === 0) throw new TypeError(INVALID_EVENT_NAME);
  try {
    return JSON.stringify({ event, data });
  } catch (cause) {
    throw new TypeError(UNSERIALISABLE(event, cause), { cause });
  }
}

/** @internal A message as the servers read it: the JSON header, and the payload behind a newline. */
export function emitterMessage(header: EmitterMessage, payload?: string): Buffer {
  const json = JSON.stringify(header);
  return Buffer.from(payload === undefined ? json : `${json}\n${payload}`);
}
