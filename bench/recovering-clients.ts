import { WebSocket, type RawData } from 'ws';
import { nowNs, serve } from './ipc.js';

/**
 * A load-client process for connection recovery (bench/scenarios/recovery.ts), the counterpart of
 * ./clients.ts: each socket reads its session frame, joins one room, keeps the last offset it
 * received and checks that its room's `seq` goes up by one each frame (counting gaps and
 * duplicates). `drop` cuts every connection's TCP socket at once (no close frame) and, unless told
 * not to, reconnects each at a random moment within `spreadMs` with `session` and `offset`, as a
 * client app does; a recovered socket's replay is what it reads between its session frame and the
 * server's `mark` frame.
 */

interface Tick {
  event?: string;
  data?: { seq: number; room: string; t: number };
  offset?: string;
  session?: { token: string; recovered: boolean; reason?: string };
}

interface Tracked {
  index: number;
  room: string;
  ws: WebSocket;
  token: string;
  offset: string | undefined;
  /** The last `seq` of its room it received (-1: none yet). */
  seq: number;
  /** Replayed frames of the current connection, counted until the mark (-1: not replaying). */
  replaying: number;
  /** When its reconnect started (monotonic ns): its first attempt. */
  reconnectAt: number;
  /** Reconnect attempts of the current storm. */
  attempts: number;
  phase: 'connected' | 'dropped' | 'handshake' | 'replaying' | 'recovered' | 'failed';
}

/** A reconnect whose handshake failed (refused, reset, timed out) tries again, as a client app does, this often. */
const ATTEMPTS = 5;
const RETRY_MS = 250;
const HANDSHAKE_TIMEOUT = 10_000;

let url = '';
let record = false;
/** A room every socket joins besides its own `s<n>` (none: only that). */
let extraRoom: string | undefined;
const sockets: Tracked[] = [];
let gaps = 0;
let duplicates = 0;
let received = 0;
/** Latency samples of every delivery, when recording: arrival (ns) and arrival minus send time (ns). */
let arrivals: number[] = [];
let latencies: number[] = [];

/** The storm in progress: how many reconnects are still out, and what they gave. */
interface Storm {
  left: number;
  recovered: number;
  failed: Record<string, number>;
  /** Handshakes tried again after one failed. */
  retries: number;
  replayed: number;
  /** Per reconnect: from its start to the mark (all its replay read), in ms. */
  recoverMs: number[];
  firstStart: number;
  lastStart: number;
  lastRecovered: number;
  done?: () => void;
}
let storm: Storm | undefined;

function onTick(socket: Tracked, frame: Tick): void {
  received++;
  if (frame.offset !== undefined) socket.offset = frame.offset;
  if (socket.replaying >= 0) socket.replaying++;
  const { seq, t } = frame.data!;
  if (record) {
    const at = nowNs();
    arrivals.push(at);
    latencies.push(at - t);
  }
  if (socket.seq >= 0) {
    if (seq <= socket.seq) duplicates++;
    else if (seq > socket.seq + 1) gaps += seq - socket.seq - 1;
  }
  if (seq > socket.seq) socket.seq = seq;
}

function settle(): void {
  if (storm === undefined) return;
  storm.left--;
  if (storm.left === 0) storm.done?.();
}

function recoveredOne(socket: Tracked): void {
  const s = storm!;
  const at = nowNs();
  s.recovered++;
  s.replayed += socket.replaying;
  s.recoverMs.push((at - socket.reconnectAt) / 1e6);
  if (at > s.lastRecovered) s.lastRecovered = at;
  socket.replaying = -1;
  socket.phase = 'recovered';
  settle();
}

function failedOne(socket: Tracked, reason: string): void {
  socket.phase = 'failed';
  storm!.failed[reason] = (storm!.failed[reason] ?? 0) + 1;
  settle();
}

/** One connection of `socket`: fresh (joins its room) or resuming its session. */
function attach(socket: Tracked, ws: WebSocket, resuming: boolean): Promise<void> {
  socket.ws = ws;
  return new Promise<void>((resolve, reject) => {
    let first = true;
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      if (error === undefined) resolve();
      else reject(error);
    };
    ws.on('error', (error) => {
      if (resuming && !settled) retryOrFail(socket, `error: ${error.message}`);
      finish(error);
    });
    ws.once('close', () => {
      if (!settled && resuming) retryOrFail(socket, 'closed before its session frame');
      else if (resuming && socket.ws === ws && socket.replaying >= 0) {
        socket.replaying = -1;
        failedOne(socket, 'closed during its replay');
      }
      finish(new Error(`socket ${socket.index} closed`));
    });
    ws.on('message', (data: RawData) => {
      const frame = JSON.parse(String(data)) as Tick;
      if (first) {
        first = false;
        if (frame.session === undefined) {
          if (resuming) failedOne(socket, 'no session frame first');
          return finish(new Error('no session frame'));
        }
        socket.token = frame.session.token;
        if (!resuming) {
          const rooms = extraRoom === undefined ? socket.room : [socket.room, extraRoom];
          return void ws.send(JSON.stringify({ event: 'join', data: rooms }));
        }
        if (frame.session.recovered) {
          socket.replaying = 0;
          socket.phase = 'replaying';
        } else failedOne(socket, frame.session.reason ?? 'not recovered');
        return finish();
      }
      if (frame.event === 'tick') return onTick(socket, frame);
      if (frame.event === 'joined') return finish();
      if (frame.event === 'mark' && socket.replaying >= 0) return recoveredOne(socket);
    });
  });
}

function open(index: number, room: string): Promise<void> {
  const socket: Tracked = {
    index,
    room,
    ws: undefined!,
    token: '',
    offset: undefined,
    seq: -1,
    replaying: -1,
    reconnectAt: 0,
    attempts: 0,
    phase: 'connected',
  };
  sockets.push(socket);
  return attach(socket, new WebSocket(url, { perMessageDeflate: false }), false);
}

/** One reconnect attempt with the socket's token and last offset (the session frame's token is new on every connection). */
function reconnect(socket: Tracked): void {
  const query = new URLSearchParams({ session: socket.token });
  if (socket.offset !== undefined) query.set('offset', socket.offset);
  const s = storm!;
  if (socket.attempts++ === 0) {
    socket.reconnectAt = nowNs();
    if (s.firstStart === 0) s.firstStart = socket.reconnectAt;
    s.lastStart = socket.reconnectAt;
  }
  socket.phase = 'handshake';
  const ws = new WebSocket(`${url}?${query}`, { perMessageDeflate: false, handshakeTimeout: HANDSHAKE_TIMEOUT });
  attach(socket, ws, true).catch(() => undefined);
}

/** A reconnect that got no session frame: again a moment later, or given up after `ATTEMPTS`. */
function retryOrFail(socket: Tracked, reason: string): void {
  if (socket.attempts >= ATTEMPTS) return failedOne(socket, reason);
  storm!.retries++;
  socket.phase = 'dropped';
  setTimeout(() => reconnect(socket), RETRY_MS);
}

serve({
  /**
   * Opens `count` sockets to `url`, socket `i` joining `s{(first + i) % roomCount}`, at most 200
   * handshakes at a time (and `extraRoom` too, if given). `record`: keep every delivery's latency.
   */
  async connect(args: {
    url: string;
    count: number;
    first: number;
    roomCount: number;
    extraRoom?: string;
    record?: boolean;
  }) {
    url = args.url;
    record = args.record === true;
    extraRoom = args.extraRoom;
    let next = 0;
    const worker = async () => {
      while (next < args.count) {
        const i = next++;
        await open(args.first + i, `s${(args.first + i) % args.roomCount}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(200, args.count) }, worker));
    return sockets.length;
  },
  /** Cuts every socket's TCP connection at once; reconnects each within `spreadMs` unless `reconnect` is false. */
  drop({ spreadMs, reconnect: again = true }: { spreadMs: number; reconnect?: boolean }) {
    storm = {
      left: sockets.length,
      recovered: 0,
      failed: {},
      retries: 0,
      replayed: 0,
      recoverMs: [],
      firstStart: 0,
      lastStart: 0,
      lastRecovered: 0,
    };
    const at = nowNs();
    for (const socket of sockets) {
      socket.phase = 'dropped';
      socket.attempts = 0;
      socket.ws.removeAllListeners('message');
      (socket.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
    }
    if (again) for (const socket of sockets) setTimeout(() => reconnect(socket), Math.random() * spreadMs);
    return at;
  },
  /**
   * Resolves when every reconnect of the last `drop` has its answer (recovered and replayed, or
   * refused), or after `timeoutMs` with those still out counted by what they were doing.
   */
  settled({ timeoutMs }: { timeoutMs: number }) {
    const s = storm!;
    const result = () => {
      const out: Record<string, number> = {};
      for (const socket of sockets) {
        if (socket.phase === 'recovered' || socket.phase === 'failed') continue;
        const key = `${socket.phase}, readyState ${socket.ws.readyState}`;
        out[key] = (out[key] ?? 0) + 1;
      }
      return {
        left: s.left,
        out,
        retries: s.retries,
        recovered: s.recovered,
        failed: s.failed,
        replayed: s.replayed,
        recoverMs: s.recoverMs,
        firstStart: s.firstStart,
        lastStart: s.lastStart,
        lastRecovered: s.lastRecovered,
      };
    };
    if (s.left === 0) return result();
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(result()), timeoutMs);
      s.done = () => {
        clearTimeout(timer);
        resolve(result());
      };
    });
  },
  /** How many sockets have not yet received `finals[room]`, their room's last `seq`; gaps and duplicates so far. */
  check({ finals }: { finals: number[] }) {
    let behind = 0;
    for (const socket of sockets) if (socket.seq !== finals[Number(socket.room.slice(1))]) behind++;
    return { behind, gaps, duplicates, received };
  },
  /** The latency samples recorded so far (and forgets them). */
  latencies() {
    const result = { arrivals, latencies };
    arrivals = [];
    latencies = [];
    return result;
  },
  /** Closes every socket cleanly. */
  close() {
    for (const socket of sockets) socket.ws.close();
    sockets.length = 0;
  },
});
