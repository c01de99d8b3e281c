/*
 * The fixed label values of every metric: cardinality is bounded by these lists, never by room
 * names, socket ids or anything a client chose. Each counter with a label is an array indexed by
 * the position of its value here, so that counting is one increment of an array slot.
 */

/** `reason` of `disconnections`: a socket's `DisconnectReason`, snake_case. */
export const DISCONNECT_REASONS = [
  'transport_close',
  'server_disconnect',
  'server_shutting_down',
  'ping_timeout',
] as const;

/** `origin` of `broadcasts`: emitted on this server, or received from another one. */
export const BROADCAST_ORIGINS = ['local', 'remote'] as const;

/** `reason` of `dropped`. */
export const DROP_REASONS = ['volatile', 'slow_consumer', 'not_open'] as const;

/** @internal Positions in {@link DROP_REASONS}. */
export const Drop = { Volatile: 0, SlowConsumer: 1, NotOpen: 2 } as const;

/** @internal Positions in {@link BROADCAST_ORIGINS}. */
export const Origin = { Local: 0, Remote: 1 } as const;

/** `kind` of `bad_frames`: one per row of the README's bad-input table that a frame can reach. */
export const BAD_FRAME_KINDS = [
  'binary',
  'not_json',
  'not_an_object',
  'bad_id',
  'no_event',
  'unknown_event',
  'stray_ack',
  'too_many_pending',
  'unserialisable_reply',
  'parser_failed',
  'parser_empty',
  'parser_not_an_event',
  'too_many_bad_frames',
  'too_large',
  'too_many_fragments',
  'invalid_utf8',
] as const;

/** @internal Positions in {@link BAD_FRAME_KINDS}. */
export const BadFrame = {
  Binary: 0,
  NotJson: 1,
  NotAnObject: 2,
  BadId: 3,
  NoEvent: 4,
  UnknownEvent: 5,
  StrayAck: 6,
  TooManyPending: 7,
  UnserialisableReply: 8,
  ParserFailed: 9,
  ParserEmpty: 10,
  ParserNotAnEvent: 11,
  TooManyBadFrames: 12,
  TooLarge: 13,
  TooManyFragments: 14,
  InvalidUtf8: 15,
} as const;

/** `result` of `recoveries`: a reconnect that asked for its session, by what it got. */
export const RECOVERY_RESULTS = ['recovered', 'unknown_session', 'too_far_behind'] as const;

/** @internal Positions in {@link RECOVERY_RESULTS}. */
export const Recovery = { Recovered: 0, UnknownSession: 1, TooFarBehind: 2 } as const;

/** `kind` of `cluster_request_seconds`: the cluster-wide operations, snake_case. */
export const REQUEST_KINDS = [
  'fetch',
  'count',
  'rooms',
  'join',
  'leave',
  'disconnect',
  'server_event',
  'session',
] as const;

/** Upper bounds (seconds) of the `cluster_request_seconds` buckets: 1 ms to 10 s; `+Inf` is the count. */
export const REQUEST_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** Why a socket went away, as a label value: `'transport_close'`, `'server_disconnect'`, `'server_shutting_down'`, `'ping_timeout'`. */
export type DisconnectReasonLabel = (typeof DISCONNECT_REASONS)[number];
/** Where a broadcast came from: `'local'` (emitted here) or `'remote'` (another server's). */
export type BroadcastOriginLabel = (typeof BROADCAST_ORIGINS)[number];
/** Why a message was not written: `'volatile'`, `'slow_consumer'`, `'not_open'`. */
export type DropReasonLabel = (typeof DROP_REASONS)[number];
/** Which row of the bad-input table a client's input was (`'not_json'`, `'unknown_event'`, ...). */
export type BadFrameKind = (typeof BAD_FRAME_KINDS)[number];
/** What a reconnect asking for its session got: `'recovered'`, `'unknown_session'`, `'too_far_behind'`. */
export type RecoveryResultLabel = (typeof RECOVERY_RESULTS)[number];
/** A cluster request's kind: `'fetch'`, `'count'`, `'rooms'`, `'join'`, `'leave'`, `'disconnect'`, `'server_event'`. */
export type RequestKindLabel = (typeof REQUEST_KINDS)[number];
