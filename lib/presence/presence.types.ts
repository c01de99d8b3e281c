/** One socket's entry in a room's presence. */
export interface PresenceMeta {
  /** The tracked socket. */
  readonly socketId: string;
  /** The JSON value given to `track` (a copy of it), or `null` when none was given. */
  readonly meta: unknown;
  /** When it was tracked, in ms since the epoch. */
  readonly since: number;
}

/** A room's presence, or one side of a diff: each key with its sockets' entries (a null-prototype object). */
export type PresenceEntries = Record<string, PresenceMeta[]>;

/** What the `'presence'` event carries: the entries that changed, each side `{}` when none. */
export interface PresenceDiff {
  /** Entries that appeared. */
  joins: PresenceEntries;
  /** Entries that went away. */
  leaves: PresenceEntries;
}

/** Options of presence, the `presence` field of `RoomsModule.forRoot()`. */
export interface PresenceOptions {
  /** Largest `meta` a socket may be tracked with, in UTF-8 bytes of `JSON.stringify(meta)`. Default 1024. */
  maxMetaBytes?: number;
}
