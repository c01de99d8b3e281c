import type { WireEntry } from '../cluster/cluster-messages.js';

/*
 * What servers say to each other to move a waiting session (the `a` of a `session` request):
 *   find    {op, t: token, o: the client's offset, null for none, -1 when malformed}: the holder
 *           answers a `SessionOffer` (and stops offering it), `RETRY` while it cannot yet, nothing
 *           otherwise.
 *   frames  {op, t: [tokens]}: the holder answers, for each, the frames it held for the session
 *           after the offer's offset (`WireFrame[]`), or null, and forgets the session.
 *   adopt   {op, h: holder, s: offers}: a server that stops hands its sessions over; the receiver
 *           takes them as from `find`, then answers true.
 */

/** What a holder answers a `find` it cannot answer yet (the socket is still closing, or its session is moving). */
export const RETRY = 'retry';

/** One waiting session as it moves: everything but its frames. */
export interface SessionOffer {
  /** The server that holds it (and answers `frames`). */
  readonly h: string;
  readonly t: string;
  /** Its frames are gone: it can only be refused, as too far behind. The fields below are absent then. */
  readonly b?: true;
  readonly i: string;
  readonly r: readonly string[];
  readonly d: Record<string, unknown>;
  readonly p: readonly WireEntry[];
  /** The offsets its client may name: `f` (where its connection started) to `s` (the last before the drop). */
  readonly f: number;
  readonly s: number;
  /** The offset its frames follow (the client's, or `f` when it named none). */
  readonly o: number;
  /** Milliseconds it may still wait. */
  readonly l: number;
}

/** A frame as it moves: its offset as the session's client knows it (null: one it never got), its key, its event JSON. */
export type WireFrame = [seq: number | null, key: string | null, json: string];

export type SessionRequest =
  | { readonly op: 'find'; readonly t: string; readonly o: number | null }
  | { readonly op: 'frames'; readonly t: readonly string[] }
  | { readonly op: 'adopt'; readonly h: string; readonly s: readonly SessionOffer[] };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The request, or undefined for one that is not of this shape (anyone may publish on the broker). */
export function readSessionRequest(args: unknown): SessionRequest | undefined {
  if (!isObject(args)) return undefined;
  switch (args.op) {
    case 'find':
      return typeof args.t === 'string' && (args.o === null || isCount(args.o)) ? (args as SessionRequest) : undefined;
    case 'frames':
      return isStringList(args.t) ? (args as SessionRequest) : undefined;
    case 'adopt':
      return typeof args.h === 'string' && Array.isArray(args.s) && args.s.every((offer) => readOffer(offer))
        ? (args as SessionRequest)
        : undefined;
    default:
      return undefined;
  }
}

/** An offer, checked. */
export function readOffer(value: unknown): SessionOffer | undefined {
  if (!isObject(value) || typeof value.h !== 'string' || typeof value.t !== 'string' || !isCount(value.l)) {
    return undefined;
  }
  if (value.b === true) return value as unknown as SessionOffer;
  const { i, r, d, p, f, s, o } = value;
  const shaped =
    typeof i === 'string' &&
    isStringList(r) &&
    isObject(d) &&
    Array.isArray(p) &&
    isCount(f) &&
    isCount(s) &&
    isCount(o);
  return shaped ? (value as unknown as SessionOffer) : undefined;
}

/** A holder's frames for one session, checked; undefined when it had none to give. */
export function readFrames(value: unknown): WireFrame[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const shaped = value.every(
    (frame) =>
      Array.isArray(frame) &&
      frame.length === 3 &&
      (frame[0] === null || isCount(frame[0])) &&
      (frame[1] === null || typeof frame[1] === 'string') &&
      typeof frame[2] === 'string',
  );
  return shaped ? (value as WireFrame[]) : undefined;
}
