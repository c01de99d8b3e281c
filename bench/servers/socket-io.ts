import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server, type Socket } from 'socket.io';
import { TrafficCounter, trafficHandlers } from './broker-traffic.js';
import { runServer } from './harness.js';
import type { Peer, WsTransport } from './peer.js';

/** Socket.IO 4, websocket transport only; in-memory adapter, or `@socket.io/redis-adapter` on ioredis with BENCH_REDIS_URL. */
const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false });
const redisUrl = process.env.BENCH_REDIS_URL;
/** The adapter's broadcast channel: `socket.io#/#`, then `<room>#` for a broadcast to one room. */
const CHANNEL = 'socket.io#/#';
/** With BENCH_COUNT_BROKER=1, what the adapter's subscriber receives is counted by room (./broker-traffic.ts). */
const counter =
  process.env.BENCH_COUNT_BROKER === '1'
    ? new TrafficCounter(
        (channel) =>
          channel.startsWith(CHANNEL) && channel.length > CHANNEL.length
            ? channel.slice(CHANNEL.length, -1)
            : undefined,
        (room) => (io.of('/').adapter.rooms.get(room)?.size ?? 0) > 0,
      )
    : undefined;
if (redisUrl !== undefined) {
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  if (counter !== undefined) {
    sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) =>
      counter.count(channel.toString(), message.length),
    );
  }
  io.adapter(createAdapter(pub, sub));
}

io.on('connection', (socket) => {
  socket.on('join', (rooms: string | string[]) => {
    socket.join(rooms);
    socket.emit('joined', rooms);
  });
  // The chat storm's message: to the sender's room, the sender excluded.
  socket.on('say', (data: { room: string }) => socket.to(data.room).emit('said', data));
});

const peer: Peer = {
  path: '/socket.io/',
  start: () =>
    new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve((http.address() as { port: number }).port))),
  members: (room) => io.of('/').adapter.rooms.get(room)?.size ?? 0,
  broadcast: (room, data) => io.to(room).emit('tick', data),
  *transports() {
    for (const socket of io.of('/').sockets.values()) {
      yield (socket.conn.transport as unknown as { socket: WsTransport }).socket;
    }
  },
  roomOps: {
    sockets: () => [...io.of('/').sockets.values()],
    join: (socket: Socket, room: string) => socket.join(room),
    leave: (socket: Socket, room: string) => socket.leave(room),
  },
};

await runServer(peer, trafficHandlers(counter));
