import type { PresenceMessage } from './cluster-messages.js';

export type { WireEntry, WireOp } from './cluster-messages.js';

/** What the cluster node asks of presence (lib/presence), which speaks through the node's messages. */
export interface PresenceChannel {
  /** The number of this server's latest presence change (0 before the first), carried by heartbeats. */
  readonly latestChange: number;
  /** A presence message from another server. */
  received(message: PresenceMessage): void;
  /** Another server's heartbeat, with its latest change number when it has made one. */
  heartbeat(node: string, latestChange: number | undefined): void;
}
