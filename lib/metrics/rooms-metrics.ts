import type { RequestKind } from '../broadcast/target.js';
import type { DisconnectReason } from '../socket/disconnect-reason.js';
import {
  BAD_FRAME_KINDS,
  BROADCAST_ORIGINS,
  DISCONNECT_REASONS,
  DROP_REASONS,
  RECOVERY_RESULTS,
  REQUEST_BUCKETS,
  REQUEST_KINDS,
  type BadFrameKind,
  type BroadcastOriginLabel,
  type DisconnectReasonLabel,
  type DropReasonLabel,
  type RecoveryResultLabel,
  type RequestKindLabel,
} from './metric-labels.js';

/** One histogram of `rooms.metrics()`: what Prometheus calls `_bucket`, `_sum` and `_count`. */
export interface HistogramSnapshot {
  /** Upper bounds of the buckets, in seconds. */
  readonly bounds: readonly number[];
  /** Cumulative: `buckets[i]` counts observations of at most `bounds[i]`. */
  readonly buckets: number[];
  /** Sum of every observation, in seconds. */
  readonly sum: number;
  /** Number of observations (the `+Inf` bucket). */
  readonly count: number;
}

/**
 * What `rooms.metrics()` returns: plain numbers, this server's own (except `clusterServers`).
 * Counters only grow; labelled ones are objects keyed by every value of their fixed set.
 */
export interface RoomsMetricsSnapshot {
  /** Sockets open now. */
  readonly connections: number;
  /** Sockets accepted since start. */
  readonly connectionsTotal: number;
  /** Sockets that went away, by why. */
  readonly disconnections: Record<DisconnectReasonLabel, number>;
  /** Rooms with a member here, the sockets' own id rooms left out. */
  readonly rooms: number;
  /** Messages received from clients (text or binary; control frames not counted). */
  readonly framesReceived: number;
  /** Messages written to clients (events, replies, exception frames, `socket.send`; not pings or pongs). */
  readonly framesSent: number;
  /** Payload bytes of the messages received. */
  readonly bytesReceived: number;
  /** Payload bytes of the messages written. */
  readonly bytesSent: number;
  /** Broadcasts emitted here (`local`) and received from other servers (`remote`). */
  readonly broadcasts: Record<BroadcastOriginLabel, number>;
  /** Messages not written to a socket, by why. */
  readonly dropped: Record<DropReasonLabel, number>;
  /** Bad input from clients, by row of the bad-input table. */
  readonly badFrames: Record<BadFrameKind, number>;
  /** Reconnects that asked for their session (connection recovery), by what they got. */
  readonly recoveries: Record<RecoveryResultLabel, number>;
  /** Live servers of the cluster, this one included. */
  readonly clusterServers: number;
  /** 1 while the broker is connected, else 0. */
  readonly brokerUp: number;
  /** Presence entries this server's sockets hold (`socket.track`), every room counted. */
  readonly presenceEntries: number;
  /** How long cluster requests took, by kind. */
  readonly clusterRequestSeconds: Record<RequestKindLabel, HistogramSnapshot>;
}

/** What the counters cannot know and the snapshot reads elsewhere (the registry, the cluster node). */
export interface MetricsGauges {
  rooms: number;
  clusterServers: number;
  brokerUp: boolean;
  presenceEntries: number;
}

const DISCONNECT_INDEX: Record<DisconnectReason, number> = {
  'transport close': 0,
  'server disconnect': 1,
  'server shutting down': 2,
  'ping timeout': 3,
};

const REQUEST_INDEX: Record<RequestKind, number> = {
  fetch: 0,
  count: 1,
  rooms: 2,
  join: 3,
  leave: 4,
  disconnect: 5,
  'server-event': 6,
  session: 7,
};

const zeros = (length: number): number[] => Array.from({ length }, () => 0);

function keyed<L extends string>(labels: readonly L[], values: readonly number[]): Record<L, number> {
  const record = {} as Record<L, number>;
  labels.forEach((label, i) => (record[label] = values[i]));
  return record;
}

/**
 * One app's counters: plain numbers the paths that already run increment (labelled ones
 * are arrays indexed as in `metric-labels.ts`). Nothing here is called per frame on the broadcast
 * path; reading them all is `snapshot()`, at scrape time.
 */
export class RoomsMetrics {
  connectionsTotal = 0;
  readonly disconnections = zeros(DISCONNECT_REASONS.length);
  framesReceived = 0;
  bytesReceived = 0;
  framesSent = 0;
  bytesSent = 0;
  readonly broadcasts = zeros(BROADCAST_ORIGINS.length);
  readonly dropped = zeros(DROP_REASONS.length);
  readonly badFrames = zeros(BAD_FRAME_KINDS.length);
  readonly recoveries = zeros(RECOVERY_RESULTS.length);
  /** Per request kind, observations per bucket (not cumulative), the last slot past every bound. */
  private readonly requestBuckets = REQUEST_KINDS.map(() => zeros(REQUEST_BUCKETS.length + 1));
  private readonly requestSums = zeros(REQUEST_KINDS.length);

  disconnected(reason: DisconnectReason): void {
    this.disconnections[DISCONNECT_INDEX[reason]]++;
  }

  /** A cluster request of `kind` finished (answered, failed or timed out) after `seconds`. */
  requestFinished(kind: RequestKind, seconds: number): void {
    const index = REQUEST_INDEX[kind];
    let bucket = 0;
    while (bucket < REQUEST_BUCKETS.length && seconds > REQUEST_BUCKETS[bucket]) bucket++;
    this.requestBuckets[index][bucket]++;
    this.requestSums[index] += seconds;
  }

  snapshot(gauges: MetricsGauges): RoomsMetricsSnapshot {
    const disconnected = this.disconnections.reduce((sum, count) => sum + count, 0);
    const histograms = {} as Record<RequestKindLabel, HistogramSnapshot>;
    REQUEST_KINDS.forEach((kind, i) => {
      const counts = this.requestBuckets[i];
      const buckets: number[] = [];
      let cumulative = 0;
      for (let bucket = 0; bucket < REQUEST_BUCKETS.length; bucket++) buckets.push((cumulative += counts[bucket]));
      const count = cumulative + counts[REQUEST_BUCKETS.length];
      histograms[kind] = { bounds: REQUEST_BUCKETS, buckets, sum: this.requestSums[i], count };
    });
    return {
      connections: this.connectionsTotal - disconnected,
      connectionsTotal: this.connectionsTotal,
      disconnections: keyed(DISCONNECT_REASONS, this.disconnections),
      rooms: gauges.rooms,
      framesReceived: this.framesReceived,
      framesSent: this.framesSent,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      broadcasts: keyed(BROADCAST_ORIGINS, this.broadcasts),
      dropped: keyed(DROP_REASONS, this.dropped),
      badFrames: keyed(BAD_FRAME_KINDS, this.badFrames),
      recoveries: keyed(RECOVERY_RESULTS, this.recoveries),
      clusterServers: gauges.clusterServers,
      brokerUp: gauges.brokerUp ? 1 : 0,
      presenceEntries: gauges.presenceEntries,
      clusterRequestSeconds: histograms,
    };
  }
}

/** Counters nobody reads: those of a socket no adapter has accepted (yet). */
export const UNCOUNTED = new RoomsMetrics();
