import { WebSocket, type RawData } from 'ws';
import { nowNs, serve } from './ipc.js';
import type { Protocol } from './servers/peer.js';

/**
 * A load-client process: opens WebSocket connections, joins rooms and counts deliveries. Every
 * peer is spoken to with the same `ws` client (Socket.IO's protocol is spoken by hand: open,
 * connect, `42["join",...]`, pongs), so the clients cost the same for every server.
 */

export interface ConnectArgs {
  /** `ws://host:port/path` (for Socket.IO, the engine's path). */
  url: string;
  count: number;
  protocol: Protocol;
  /** The room(s) every socket joins, or one entry per socket. */
  joins: string | Array<string | string[]>;
  /** Wait for each join's answer (peers that answer joins). */
  reply: boolean;
  /** Keep the arrival time of every delivery of these sockets (latency probes). */
  record?: boolean;
}

export interface StormArgs {
  /** The room of each socket, in the order they were opened. */
  rooms: string[];
  messages: number;
  window: number;
  fanout: number;
  protocol: Protocol;
}

let received = 0;
let waiter: { total: number; resolve(value: { at: number; received: number }): void } | undefined;
const sockets: WebSocket[] = [];
const recordings: number[][] = [];

/**
 * The chat storm under way: every socket says something to its room in turn, with `window`
 * messages in flight at most (a message is done when all its deliveries are in), so that the
 * server always has work queued and never an unbounded backlog.
 */
interface Storm {
  frames: Array<string>;
  sent: number;
  total: number;
  /** Deliveries each message makes (its room's size, the sender excluded). */
  fanout: number;
  window: number;
}

let storm: Storm | undefined;

/** Sends the storm's next messages while fewer than `window` are in flight. */
function pump(current: Storm): void {
  const done = Math.floor(received / current.fanout);
  const until = Math.min(current.total, done + current.window);
  while (current.sent < until) {
    const i = current.sent++ % sockets.length;
    sockets[i].send(current.frames[i]);
  }
}

function delivered(recording: number[] | undefined): void {
  received++;
  if (recording !== undefined) recording.push(nowNs());
  // A batch at a time: once a tenth of the window has been delivered.
  if (storm !== undefined && received % (storm.fanout * Math.ceil(storm.window / 10)) === 0) pump(storm);
  if (waiter !== undefined && received >= waiter.total) {
    const { resolve } = waiter;
    waiter = undefined;
    resolve({ at: nowNs(), received });
  }
}

/** One connection: resolves once it has joined (and been answered, where the peer answers). */
const SESSION_FRAME = Buffer.from('{"session":');

function isSessionFrame(frame: Buffer): boolean {
  return frame.subarray(0, SESSION_FRAME.length).equals(SESSION_FRAME);
}

function open(args: ConnectArgs, index: number): Promise<void> {
  const rooms = typeof args.joins === 'string' ? args.joins : args.joins[index];
  const recording = args.record ? [] : undefined;
  if (recording !== undefined) recordings.push(recording);
  const url = args.protocol === 'socket.io' ? `${args.url}?EIO=4&transport=websocket` : args.url;
  const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
  sockets.push(ws);
  return new Promise<void>((resolve, reject) => {
    let joined = false;
    const done = () => {
      joined = true;
      resolve();
    };
    /** The join is sent: done, unless the peer answers joins. */
    const sent = () => {
      if (!args.reply) done();
    };
    ws.once('error', reject);
    ws.once('close', () => (joined ? undefined : reject(new Error(`socket ${index} closed before joining`))));
    if (args.protocol === 'ws') {
      ws.once('open', () => {
        ws.send(JSON.stringify({ event: 'join', data: rooms }));
        sent();
      });
      ws.on('message', (data: RawData) => {
        if (joined) return delivered(recording);
        // With connection recovery on, the session frame comes before the join's answer.
        if (!isSessionFrame(data as Buffer)) done();
      });
      return;
    }
    ws.on('message', (data: RawData) => {
      const frame = data as Buffer;
      // engine.io ping ("2"): answer with a pong ("3").
      if (frame.length === 1 && frame[0] === 0x32) return ws.send('3');
      if (joined) return delivered(recording);
      if (frame[0] === 0x30) return ws.send('40'); // engine.io open -> connect to the main namespace
      if (frame[0] === 0x34 && frame[1] === 0x30) {
        ws.send(`42${JSON.stringify(['join', rooms])}`);
        return sent();
      }
      if (frame[0] === 0x34 && frame[1] === 0x32) done(); // 42["joined",...]
    });
  });
}

serve({
  /** Opens `count` connections, at most 200 handshakes at a time. */
  async connect(args: ConnectArgs) {
    let next = 0;
    const worker = async () => {
      while (next < args.count) await open(args, next++);
    };
    await Promise.all(Array.from({ length: Math.min(200, args.count) }, worker));
    return sockets.length;
  },
  /** Counts deliveries, and records arrivals, from zero. */
  reset() {
    received = 0;
    for (const recording of recordings) recording.length = 0;
  },
  /** Resolves when `total` deliveries have arrived since the last reset: the monotonic time of the last one. */
  expect({ total }: { total: number }) {
    if (received >= total) return { at: nowNs(), received };
    return new Promise((resolve) => (waiter = { total, resolve }));
  },
  /**
   * Starts the chat storm on every socket opened so far (socket i in `rooms[i]`, as it joined):
   * `messages` in all, `window` in flight at most. Deliveries are counted as for a broadcast.
   */
  storm({ rooms, messages, window, fanout, protocol }: StormArgs) {
    const frames = rooms.map((room, i) => {
      const data = { room, from: i, text: 'the quick brown fox jumps over the lazy dog' };
      return protocol === 'socket.io' ? `42${JSON.stringify(['say', data])}` : JSON.stringify({ event: 'say', data });
    });
    received = 0;
    storm = { frames, sent: 0, total: messages, fanout, window };
    const start = nowNs();
    pump(storm);
    return { start };
  },
  received: () => received,
  recorded: () => recordings,
});
