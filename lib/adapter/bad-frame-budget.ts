import { performance } from 'node:perf_hooks';
import { BadFrame } from '../metrics/metric-labels.js';
import { TOO_MANY_BAD_FRAMES } from '../rooms.messages.js';
import type { RoomSocket } from '../socket/room-socket.js';
import { closeWithGrace } from '../socket/write-path.js';

/**
 * Counts a frame no handler can take against the socket's budget (`maxBadFrames` per
 * `badFrameWindow`). Returns whether it is still within it; the first frame past it closes the
 * connection with 1008. Two numbers per socket that sent one, and no timer: a window starts at the first bad
 * frame after the previous window ended.
 */
export function withinBadFrameBudget(socket: RoomSocket): boolean {
  const { max, windowMs } = socket.settings.badFrames;
  const now = performance.now();
  // Made at the first bad frame: the socket's layout keeps no counters for the many that send none.
  const window = (socket.badFrameWindow ??= { count: 0, since: now });
  if (now - window.since >= windowMs) {
    window.since = now;
    window.count = 0;
  }
  if (++window.count <= max) return true;
  socket.settings.metrics.badFrames[BadFrame.TooManyBadFrames]++;
  closeWithGrace(socket, 1008, TOO_MANY_BAD_FRAMES);
  return false;
}
