export { registerRoomsMetrics } from './register-rooms-metrics.js';
export type { RoomsMetricsSource } from '../metrics/snapshot-source.js';
