/**
 * The channels of the cluster protocol, shared by the servers (cluster-node.ts) and the emitter,
 * which publishes on the same ones without being a server. Each broker puts its own prefix in
 * front (RedisBroker: `keyPrefix:`).
 */

import type { Target } from '../broadcast/target.js';
import { looksLikeSocketId } from '../registry/room-names.js';

/** Every server listens here: heartbeats, requests, server events, broadcasts to anything but one room. */
export const ALL_CHANNEL = 'all';

/** One server's own channel: answers, and a newcomer's first heartbeat. */
export const nodeChannel = (node: string) => `node:${node}`;

/** Broadcasts to exactly this one room: only servers with members there listen. */
export const roomChannel = (room: string) => `room:${room}`;

/** Rooms named like socket ids go to every server: subscribing one channel per socket would cost more than it saves. */
export const routable = (room: string) => !looksLikeSocketId(room);

/** Where a broadcast to `target` is published: its room's channel when it names one routable room, else every server's. */
export function broadcastChannel(target: Target): string {
  return target.r.length === 1 && routable(target.r[0]) ? roomChannel(target.r[0]) : ALL_CHANNEL;
}
