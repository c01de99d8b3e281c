import {
  BAD_FRAME_KINDS,
  BROADCAST_ORIGINS,
  DISCONNECT_REASONS,
  DROP_REASONS,
  RECOVERY_RESULTS,
  REQUEST_KINDS,
} from './metric-labels.js';
import type { HistogramSnapshot, RoomsMetricsSnapshot } from './rooms-metrics.js';

/** A figure of the snapshot that is one number, or one number per label value. */
export interface ScalarMetric {
  /** The Prometheus name. */
  readonly name: string;
  /** The OpenTelemetry name: a dot after the prefix, no `_total`. */
  readonly otelName: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  /** The label and its fixed values, for a labelled metric. */
  readonly label?: { readonly name: string; readonly values: readonly string[] };
  readonly read: (snapshot: RoomsMetricsSnapshot) => number | Readonly<Record<string, number>>;
}

/** The one histogram, which only Prometheus gets (OpenTelemetry has no observable histogram). */
export interface HistogramMetric {
  readonly name: string;
  readonly help: string;
  readonly label: { readonly name: string; readonly values: readonly string[] };
  readonly read: (snapshot: RoomsMetricsSnapshot) => Readonly<Record<string, HistogramSnapshot>>;
}

const PREFIX = 'nestjs_rooms';

function scalar(
  base: string,
  type: ScalarMetric['type'],
  help: string,
  read: ScalarMetric['read'],
  label?: ScalarMetric['label'],
  otelBase = base.replace(/_total$/, ''),
): ScalarMetric {
  return { name: `${PREFIX}_${base}`, otelName: `${PREFIX}.${otelBase}`, help, type, label, read };
}

/**
 * Every metric of the contract, read from one snapshot: both exporters walk this table, so their
 * names, help texts and label sets cannot drift apart.
 */
export const SCALAR_METRICS: readonly ScalarMetric[] = [
  scalar('connections', 'gauge', 'Sockets open on this server now.', (s) => s.connections),
  // `connections` and `connections_total` would both be `nestjs_rooms.connections` in OpenTelemetry.
  scalar(
    'connections_total',
    'counter',
    'Sockets this server has accepted.',
    (s) => s.connectionsTotal,
    undefined,
    'connections_opened',
  ),
  scalar('disconnections_total', 'counter', 'Sockets that went away, by why.', (s) => s.disconnections, {
    name: 'reason',
    values: DISCONNECT_REASONS,
  }),
  scalar('rooms', 'gauge', 'Rooms with a member on this server, socket id rooms left out.', (s) => s.rooms),
  scalar('frames_received_total', 'counter', 'Messages received from clients.', (s) => s.framesReceived),
  scalar('frames_sent_total', 'counter', 'Messages written to clients.', (s) => s.framesSent),
  scalar('bytes_received_total', 'counter', 'Payload bytes of the messages received.', (s) => s.bytesReceived),
  scalar('bytes_sent_total', 'counter', 'Payload bytes of the messages written.', (s) => s.bytesSent),
  scalar(
    'broadcasts_total',
    'counter',
    'Broadcasts emitted here or received from other servers.',
    (s) => s.broadcasts,
    {
      name: 'origin',
      values: BROADCAST_ORIGINS,
    },
  ),
  scalar('dropped_total', 'counter', 'Messages not written to a socket, by why.', (s) => s.dropped, {
    name: 'reason',
    values: DROP_REASONS,
  }),
  scalar('bad_frames_total', 'counter', 'Bad input from clients, by kind.', (s) => s.badFrames, {
    name: 'kind',
    values: BAD_FRAME_KINDS,
  }),
  scalar(
    'recoveries_total',
    'counter',
    'Reconnects that asked for their session, by what they got.',
    (s) => s.recoveries,
    {
      name: 'result',
      values: RECOVERY_RESULTS,
    },
  ),
  scalar('cluster_servers', 'gauge', 'Live servers of the cluster, this one included.', (s) => s.clusterServers),
  scalar('broker_up', 'gauge', '1 while the broker is connected, else 0.', (s) => s.brokerUp),
  scalar(
    'presence_entries',
    'gauge',
    'Presence entries this server tracks, every room counted.',
    (s) => s.presenceEntries,
  ),
];

export const REQUEST_HISTOGRAM: HistogramMetric = {
  name: `${PREFIX}_cluster_request_seconds`,
  help: 'How long cluster requests took, by kind.',
  label: { name: 'kind', values: REQUEST_KINDS },
  read: (s) => s.clusterRequestSeconds,
};
