/**
 * What servers say to each other. A message is one JSON header line, optionally followed by a
 * payload: the broadcast's event JSON exactly as the sender serialised it, so receivers frame it
 * without parsing or serialising it again.
 */

import type { Target } from '../broadcast/target.js';

/** Cluster-wide operations a server asks the others to run on their own sockets. */
export type RequestKind = 'fetch' | 'count' | 'rooms' | 'join' | 'leave' | 'disconnect' | 'server-event';

export type ClusterMessage =
  /** I am alive (on the shared channel), or, sent to one new peer, "I am here too". */
  | { t: 'hb'; n: string }
  /** I am leaving the cluster now. */
  | { t: 'bye'; n: string }
  /** Deliver the payload to the target; `v`: volatile, `c`: compress. */
  | ({ t: 'b'; n: string; v: boolean; c: boolean } & Target)
  /**
   * Deliver the payload (which carries ack number `a`) and report count and answers back to `n`
   * for request `q`; `w`: the origin's timeout in ms, after which the sockets here forget it.
   */
  | ({ t: 'ab'; n: string; q: number; a: number; w: number; v: boolean; c: boolean } & Target)
  /** Run an operation on your sockets and answer `n` with a `res` for request `q`. */
  | ({ t: 'req'; n: string; q: number; k: RequestKind; a?: unknown } & Target)
  /** `serverSideEmit` without answers. */
  | { t: 'sse'; n: string; e: string; a: unknown[] }
  /** The answer to request `q`: data `d`, or error `e`; `none` when no handler was there to answer. */
  | { t: 'res'; n: string; q: number; d?: unknown; e?: string; none?: boolean }
  /** For ack request `q`: `c` sockets were sent the event here. */
  | { t: 'ac'; n: string; q: number; c: number }
  /** For ack request `q`: one socket's answer. */
  | { t: 'aa'; n: string; q: number; d: unknown }
  /** For ack request `q`: one socket left before answering. */
  | { t: 'af'; n: string; q: number };

const NEWLINE = 0x0a;

export function encodeMessage(message: ClusterMessage, payload?: Buffer): Buffer {
  const header = JSON.stringify(message);
  if (payload === undefined) return Buffer.from(header);
  const headerLength = Buffer.byteLength(header);
  const buffer = Buffer.allocUnsafe(headerLength + 1 + payload.length);
  buffer.write(header, 0);
  buffer[headerLength] = NEWLINE;
  payload.copy(buffer, headerLength + 1);
  return buffer;
}

/** JSON never writes a raw newline, so the first one ends the header. */
export function decodeMessage(buffer: Buffer): { message: ClusterMessage; payload: Buffer | undefined } {
  const end = buffer.indexOf(NEWLINE);
  const header = end === -1 ? buffer : buffer.subarray(0, end);
  return {
    message: JSON.parse(header.toString()) as ClusterMessage,
    payload: end === -1 ? undefined : buffer.subarray(end + 1),
  };
}
