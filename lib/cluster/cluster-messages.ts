/**
 * What servers say to each other. A message is one JSON header line, optionally followed by a
 * payload: the broadcast's event JSON exactly as the sender serialised it, so receivers frame it
 * without parsing or serialising it again.
 */

import type { RequestKind, Target } from '../broadcast/target.js';

export type { RequestKind } from '../broadcast/target.js';

/**
 * The kinds of message, by name. The wire keeps the short values (every message carries one);
 * the code uses the names.
 */
export const MessageType = {
  /** I am alive (on the shared channel), or, sent to one new peer, "I am here too". */
  Heartbeat: 'hb',
  /** I am leaving the cluster now. */
  Bye: 'bye',
  /** Deliver the payload to the target. */
  Broadcast: 'b',
  /** Deliver the payload, which asks for acks, and report the count and the answers back. */
  AckBroadcast: 'ab',
  /** Run an operation on your sockets and answer with a `Response`. */
  Request: 'req',
  /** `serverSideEmit`, without answers. */
  ServerEvent: 'sse',
  /** The answer to a `Request`. */
  Response: 'res',
  /** For an `AckBroadcast`: how many sockets were sent the event here. */
  AckCount: 'ac',
  /** For an `AckBroadcast`: one socket's answer. */
  AckAnswer: 'aa',
  /** For an `AckBroadcast`: one socket left before answering. */
  AckForget: 'af',
  /** Presence: my entries' change number `s`, the changes `o` in order. */
  PresenceDelta: 'pd',
  /** Presence: all my entries `e` as of change `s`; with `w`, send me yours. */
  PresenceSnapshot: 'ps',
  /** Presence: send me all your entries (I missed a change). */
  PresenceSyncRequest: 'pq',
} as const;

type Types = typeof MessageType;

/** The name of a message type (`Broadcast` for `'b'`), for traces; the value itself when unknown. */
export function messageTypeName(type: unknown): string {
  for (const [name, value] of Object.entries(MessageType)) if (value === type) return name;
  return String(type);
}

/*
 * Field names are one letter on the wire, the same in every message:
 *   t  the message type          n  the sending server's id     q  the origin's request number
 *   r  target rooms              x  except rooms                v  volatile      c  compress
 *   a  ack number (AckBroadcast), arguments (Request, ServerEvent)
 *   i  a broadcast's frame number at its origin (recovery on)
 *   w  the origin's ack timeout in ms         k  the operation of a Request
 *   c  a socket count (AckCount)              d  data            e  an event name, or an error message,
 *   or presence entries (PresenceSnapshot)    s  a presence change number      o  presence changes
 *   p  the latest presence change number (Heartbeat)      w  asks for the receiver's snapshot
 * Handlers rename them as they read them (`const { q: request } = message`).
 */

/** `p`: the number of the sender's latest presence change, once it has made one. */
export interface HeartbeatMessage {
  t: Types['Heartbeat'];
  n: string;
  p?: number;
}

export interface ByeMessage {
  t: Types['Bye'];
  n: string;
}

/** `i`: the frame's number at its origin, when recovery is on there (how a moving session tells frames apart). */
export interface BroadcastMessage extends Target {
  t: Types['Broadcast'];
  n: string;
  v: boolean;
  c: boolean;
  i?: number;
}

/** After `w` ms the sockets here forget the request (cluster/remote-ack.ts). */
export interface AckBroadcastMessage extends Target {
  t: Types['AckBroadcast'];
  n: string;
  q: number;
  a: number;
  w: number;
  v: boolean;
  c: boolean;
}

export interface RequestMessage extends Target {
  t: Types['Request'];
  n: string;
  q: number;
  k: RequestKind;
  a?: unknown;
}

export interface ServerEventMessage {
  t: Types['ServerEvent'];
  n: string;
  e: string;
  a: unknown[];
}

/** Data `d`, or error `e`; `none` when no handler was there to answer. */
export interface ResponseMessage {
  t: Types['Response'];
  n: string;
  q: number;
  d?: unknown;
  e?: string;
  none?: boolean;
}

export interface AckCountMessage {
  t: Types['AckCount'];
  n: string;
  q: number;
  c: number;
}

export interface AckAnswerMessage {
  t: Types['AckAnswer'];
  n: string;
  q: number;
  d: unknown;
}

export interface AckForgetMessage {
  t: Types['AckForget'];
  n: string;
  q: number;
}

/*
 * What an emitter (a process that is no server: nestjs-rooms/emitter, or any program speaking
 * this protocol) sends. It has no `n`: that is how servers know it is no peer, so they never count
 * it, wait for it or answer it. Whatever may be left out is: `r`/`x` absent are empty, `v` absent
 * is false and `c` absent is true (a server's defaults). Servers check these (emitter-input.ts),
 * since they come from outside the cluster.
 */

/**
 * Deliver the payload (`{"event","data"}` JSON) to the target. `i`, a string unique to this
 * message, lets servers with connection recovery tell it apart from others while a session moves.
 */
export interface EmitterBroadcastMessage {
  t: Types['Broadcast'];
  i?: string;
  r?: readonly string[];
  x?: readonly string[];
  v?: boolean;
  c?: boolean;
}

/** The operations an emitter may ask for; none has an answer. */
export type EmitterRequestKind = Extract<RequestKind, 'join' | 'leave' | 'disconnect'>;

/** Apply `k` to the target's sockets: `a` is the rooms of a join or leave, the `close` flag of a disconnect. */
export interface EmitterRequestMessage {
  t: Types['Request'];
  k: EmitterRequestKind;
  a?: unknown;
  r?: readonly string[];
  x?: readonly string[];
}

/** `serverSideEmit` from an emitter: every server's handlers of `e` get the arguments `a`. */
export interface EmitterServerEventMessage {
  t: Types['ServerEvent'];
  e: string;
  a?: unknown[];
}

export type EmitterMessage = EmitterBroadcastMessage | EmitterRequestMessage | EmitterServerEventMessage;

/** A presence entry on the wire: `[socketId, room, key, meta, since]`. */
export type WireEntry = [socketId: string, room: string, key: string, meta: unknown, since: number];

/** One change of a server's presence entries: an entry set (tracked or replaced), or `[socketId, room]` gone. */
export type WireOp = WireEntry | [socketId: string, room: string];

export interface PresenceDeltaMessage {
  t: Types['PresenceDelta'];
  n: string;
  s: number;
  o: WireOp[];
}

export interface PresenceSnapshotMessage {
  t: Types['PresenceSnapshot'];
  n: string;
  s: number;
  e: WireEntry[];
  w?: boolean;
}

export interface PresenceSyncRequestMessage {
  t: Types['PresenceSyncRequest'];
  n: string;
}

export type PresenceMessage = PresenceDeltaMessage | PresenceSnapshotMessage | PresenceSyncRequestMessage;

export type ClusterMessage =
  | HeartbeatMessage
  | ByeMessage
  | BroadcastMessage
  | AckBroadcastMessage
  | RequestMessage
  | ServerEventMessage
  | ResponseMessage
  | AckCountMessage
  | AckAnswerMessage
  | AckForgetMessage
  | PresenceMessage;

const NEWLINE = 0x0a;

export function encodeMessage(message: ClusterMessage | EmitterMessage, payload?: Buffer): Buffer {
  const header = JSON.stringify(message);
  if (payload === undefined) return Buffer.from(header);
  const headerLength = Buffer.byteLength(header);
  const buffer = Buffer.allocUnsafe(headerLength + 1 + payload.length);
  buffer.write(header, 0);
  buffer[headerLength] = NEWLINE;
  payload.copy(buffer, headerLength + 1);
  return buffer;
}

/**
 * JSON never writes a raw newline, so the first one ends the header. Throws for a header that is
 * not an object with a string `t` (and a string `n`, if any): anyone may publish on a channel.
 */
export function decodeMessage(buffer: Buffer): {
  message: ClusterMessage | EmitterMessage;
  payload: Buffer | undefined;
} {
  const end = buffer.indexOf(NEWLINE);
  const header: unknown = JSON.parse((end === -1 ? buffer : buffer.subarray(0, end)).toString());
  if (!isHeader(header)) throw new Error('not a message of this protocol');
  return {
    message: header as ClusterMessage | EmitterMessage,
    payload: end === -1 ? undefined : buffer.subarray(end + 1),
  };
}

function isHeader(header: unknown): header is { t: string; n?: string } {
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return false;
  const { t, n } = header as { t?: unknown; n?: unknown };
  return typeof t === 'string' && (n === undefined || typeof n === 'string');
}
