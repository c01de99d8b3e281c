/** Cluster-wide operations a server asks the others to run on their own sockets (and runs on its own). */
export type RequestKind = 'fetch' | 'count' | 'rooms' | 'join' | 'leave' | 'disconnect' | 'server-event' | 'session';

/**
 * Which sockets an operation acts on: the members of any of `r` (every socket when `r` is empty),
 * minus the members of any of `x`. The names are short because a target travels in every cluster
 * message that acts on sockets.
 */
export interface Target {
  /** Target rooms; empty means every socket. */
  readonly r: readonly string[];
  /** Except rooms. */
  readonly x: readonly string[];
}
