import type { Protocol } from './servers/peer.js';

/** A benchmarked server: which file runs it and how clients talk to it. */
export interface PeerInfo {
  name: string;
  /** `build/bench/servers/<script>.js` */
  script: string;
  protocol: Protocol;
  /** It answers joins (clients wait for the answer). */
  reply: boolean;
  /** It has rooms (registry scenario). */
  rooms: boolean;
  /** It can run two servers over Redis. */
  redis: boolean;
  /** It takes part in the write-coalescing scenarios (burst, chat storm, low load). */
  coalescing?: boolean;
}

export const PEERS: readonly PeerInfo[] = [
  { name: 'raw-send', script: 'raw-send', protocol: 'ws', reply: false, rooms: false, redis: false },
  { name: 'raw-send-joined', script: 'raw-send-joined', protocol: 'ws', reply: true, rooms: false, redis: false },
  {
    name: 'raw-frame',
    script: 'raw-frame',
    protocol: 'ws',
    reply: true,
    rooms: false,
    redis: false,
    coalescing: true,
  },
  {
    name: 'socket.io',
    script: 'socket-io',
    protocol: 'socket.io',
    reply: true,
    rooms: true,
    redis: true,
    coalescing: true,
  },
  { name: 'nest-ws', script: 'nest-ws', protocol: 'ws', reply: true, rooms: false, redis: false },
  {
    name: 'nestjs-rooms',
    script: 'nestjs-rooms',
    protocol: 'ws',
    reply: true,
    rooms: true,
    redis: true,
    coalescing: true,
  },
  // The same server with `coalesceWrites: false`: every frame its own write, as before coalescing.
  {
    name: 'nestjs-rooms-uncoalesced',
    script: 'nestjs-rooms-uncoalesced',
    protocol: 'ws',
    reply: true,
    rooms: false,
    redis: false,
    coalescing: true,
  },
  // The same server with connection recovery on: what offsets and the held-frames log cost.
  {
    name: 'nestjs-rooms-recovery',
    script: 'nestjs-rooms-recovery',
    protocol: 'ws',
    reply: true,
    rooms: true,
    redis: false,
  },
  // The same server with the Prometheus collector registered and scraped once a second: fan-out only.
  {
    name: 'nestjs-rooms-metrics',
    script: 'nestjs-rooms-metrics',
    protocol: 'ws',
    reply: true,
    rooms: false,
    redis: false,
  },
];

export const SUBJECT = 'nestjs-rooms';
