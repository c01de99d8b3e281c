import {
  DEFAULT_BAD_FRAME_WINDOW,
  DEFAULT_HIGH_WATERMARK,
  DEFAULT_LOW_WATERMARK,
  DEFAULT_MAX_BAD_FRAMES,
  DEFAULT_MAX_PENDING_FRAMES,
} from '../rooms.constants.js';
import type { RoomsMetrics } from '../metrics/rooms-metrics.js';
import type { RoomsAdapterOptions } from '../rooms.options.js';
import { frozenSettings, type SocketSettings } from '../socket/socket-settings.js';

/** The settings of every socket an adapter accepts, read from its options once, counting into the app's `metrics`. */
export function socketSettingsOf(options: RoomsAdapterOptions, metrics: RoomsMetrics): SocketSettings {
  return frozenSettings({
    writeLimits: {
      low: options.lowWatermark ?? DEFAULT_LOW_WATERMARK,
      high: options.highWatermark ?? DEFAULT_HIGH_WATERMARK,
    },
    maxPendingFrames: options.maxPendingFrames ?? DEFAULT_MAX_PENDING_FRAMES,
    badFrames: {
      max: options.maxBadFrames ?? DEFAULT_MAX_BAD_FRAMES,
      windowMs: options.badFrameWindow ?? DEFAULT_BAD_FRAME_WINDOW,
    },
    coalesceWrites: options.coalesceWrites ?? true,
    metrics,
  });
}
