import type { RoomsMetricsSnapshot } from './rooms-metrics.js';

/** What the exporters read: `RoomService` (its `metrics()`). */
export interface RoomsMetricsSource {
  /** This server's figures now. */
  metrics(): RoomsMetricsSnapshot;
}

/**
 * One snapshot per scrape: a registry reads every metric in one synchronous turn, so the first
 * read of a turn takes the snapshot and the others of that turn share it.
 */
export function snapshotPerTurn(source: RoomsMetricsSource): () => RoomsMetricsSnapshot {
  let current: RoomsMetricsSnapshot | undefined;
  return () => {
    if (current === undefined) {
      current = source.metrics();
      queueMicrotask(() => (current = undefined));
    }
    return current;
  };
}
