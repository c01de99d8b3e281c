export { observeRoomsMetrics } from './observe-rooms-metrics.js';
export type { RoomsMetricsSource } from '../metrics/snapshot-source.js';
