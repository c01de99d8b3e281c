import type { WriteLimits } from '../broadcast/frame.js';
import { UNCOUNTED, type RoomsMetrics } from '../metrics/rooms-metrics.js';
import {
  DEFAULT_BAD_FRAME_WINDOW,
  DEFAULT_HIGH_WATERMARK,
  DEFAULT_LOW_WATERMARK,
  DEFAULT_MAX_BAD_FRAMES,
  DEFAULT_MAX_PENDING_FRAMES,
} from '../rooms.constants.js';

/** How many frames no handler can take one socket may send in a window. */
export interface BadFrameBudget {
  readonly max: number;
  readonly windowMs: number;
}

/**
 * What the adapter decided for the sockets it accepts, from its options: one frozen object, built
 * once, which every socket points to and which the write path and the message router read.
 */
export interface SocketSettings {
  /** Unsent bytes above which volatile events are dropped (`low`) and the socket is shed (`high`). */
  readonly writeLimits: WriteLimits;
  /** Frames of one socket whose handlers may run at once. */
  readonly maxPendingFrames: number;
  readonly badFrames: BadFrameBudget;
  /** Frames written to one socket within one turn of the event loop leave in one write (./write-path.ts). */
  readonly coalesceWrites: boolean;
  /** The app's counters (the one mutable thing reached from here, never frozen). */
  readonly metrics: RoomsMetrics;
}

/** Freezes settings all the way down: nothing may change them once sockets share them. */
export function frozenSettings(settings: SocketSettings): SocketSettings {
  Object.freeze(settings.writeLimits);
  Object.freeze(settings.badFrames);
  return Object.freeze(settings);
}

/** The defaults, for a socket no adapter has accepted (yet). */
export const DEFAULT_SOCKET_SETTINGS: SocketSettings = frozenSettings({
  writeLimits: { low: DEFAULT_LOW_WATERMARK, high: DEFAULT_HIGH_WATERMARK },
  maxPendingFrames: DEFAULT_MAX_PENDING_FRAMES,
  badFrames: { max: DEFAULT_MAX_BAD_FRAMES, windowMs: DEFAULT_BAD_FRAME_WINDOW },
  coalesceWrites: true,
  metrics: UNCOUNTED,
});
