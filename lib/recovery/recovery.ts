import { randomBytes } from 'node:crypto';
import type { WireEntry } from '../cluster/cluster-messages.js';
import type { EncodedEvent, WriteFlags } from '../broadcast/frame.js';
import type { FrameRecorder } from '../broadcast/local-delivery.js';
import type { Target } from '../broadcast/target.js';
import { Recovery } from '../metrics/metric-labels.js';
import type { RoomSocket } from '../socket/room-socket.js';
import { writeEvent, writeMessage } from '../socket/write-path.js';
import { HeldFrames } from './held-frames.js';
import type { HeldRooms } from './held-rooms.js';
import { sessionQueryOf, TOKEN_BYTES } from './session-query.js';

/** Why a reconnect was not recovered (the session frame's `reason`). */
export type RecoveryReason = 'unknown session' | 'too far behind';

/** A dropped socket's state while it waits for its client to come back. */
export interface WaitingSession {
  readonly token: string;
  readonly id: string;
  /** Its rooms at the drop, its own id room aside. */
  readonly rooms: readonly string[];
  readonly data: Record<string, unknown>;
  /** Its presence entries at the drop, tracked again when it comes back. */
  readonly presence: readonly WireEntry[];
  /** Offsets its client may name: at least the offset its connection started from, at most the last before the drop. */
  readonly floor: number;
  readonly dropSeq: number;
  readonly timer: NodeJS.Timeout;
}

/** What a new connection gets: a session to restore (and the offset to replay after), or a reason it gets none. */
export type Claim =
  | { readonly session: WaitingSession; readonly offset: number }
  | { readonly session?: undefined; readonly reason?: RecoveryReason };

/** A refusal's `recoveries` result (`Recovery` in metrics/metric-labels.ts). */
const RESULTS: Record<RecoveryReason, number> = {
  'unknown session': Recovery.UnknownSession,
  'too far behind': Recovery.TooFarBehind,
};

/** How replayed frames are written: never dropped (volatile frames are not held). */
const REPLAY_FLAGS: WriteFlags = { volatile: false, compress: true };

/** What the session frame says. */
function sessionFrame(id: string, token: string, recovered: boolean, reason?: RecoveryReason): string {
  return JSON.stringify({
    session: reason === undefined ? { id, token, recovered } : { id, token, recovered, reason },
  });
}

/** Whether a held frame's target selected a socket in `rooms` (its own id room included). */
function targets(target: Target, rooms: ReadonlySet<string>): boolean {
  for (const room of target.x) if (rooms.has(room)) return false;
  if (target.r.length === 0) return true;
  for (const room of target.r) if (rooms.has(room)) return true;
  return false;
}

/**
 * Connection recovery on one server: the sessions of dropped sockets waiting for their clients
 * (one timer each, at most `maxDisconnection`), this server's log of recoverable frames that they
 * refer to by offset, and the restore of a reconnecting socket (id, data, rooms, then the frames
 * it missed). The registry work (adding the socket, joining its rooms) is the caller's.
 */
export class ConnectionRecovery implements FrameRecorder {
  private readonly waiting = new Map<string, WaitingSession>();
  /** Connected sockets by their token: a reconnect may come before the server noticed the drop. */
  private readonly live = new Map<string, RoomSocket>();
  readonly frames: HeldFrames;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly maxDisconnection: number,
    maxBufferedBytes: number,
    private readonly rooms: HeldRooms,
  ) {
    this.frames = new HeldFrames(maxBufferedBytes, maxDisconnection);
  }

  get recordsAll(): boolean {
    return this.waiting.size !== 0;
  }

  /** How many sessions wait (each with one timer). */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** Rooms routed here for waiting sessions alone. */
  get heldRoomCount(): number {
    return this.rooms.heldOnly;
  }

  /** Whether the timer that lets old frames go is set. */
  get expiring(): boolean {
    return this.expiryTimer !== undefined;
  }

  record(target: Target, payload: Buffer): EncodedEvent {
    const encoded = this.frames.append(target, payload, Date.now());
    if (this.expiryTimer === undefined) this.scheduleExpiry();
    return encoded;
  }

  /** A socket dropped (the peer went away or stopped answering): its session waits, if it has one. */
  hold(socket: RoomSocket, presence: readonly WireEntry[] = []): void {
    const token = socket.recoveryToken;
    if (token === undefined) return;
    socket.recoveryToken = undefined;
    this.live.delete(token);
    const rooms: string[] = [];
    for (const room of socket.roomSet) if (room !== socket.id) rooms.push(room);
    const timer = setTimeout(() => this.end(session), this.maxDisconnection);
    timer.unref();
    const session: WaitingSession = {
      token,
      id: socket.id,
      rooms,
      data: socket.data,
      presence,
      floor: socket.recoveryFloor,
      dropSeq: this.frames.lastSeq,
      timer,
    };
    this.waiting.set(token, session);
    this.rooms.hold(rooms);
  }

  /** A socket closed for good (the server closed it): its token recovers nothing any more. */
  forget(socket: RoomSocket): void {
    const token = socket.recoveryToken;
    if (token === undefined) return;
    socket.recoveryToken = undefined;
    this.live.delete(token);
  }

  /**
   * The still-connected socket whose token a new connection brings: its client came back before
   * the server saw the old connection go. The caller drops it first, so that its session waits.
   */
  staleHolderFor(socket: RoomSocket): RoomSocket | undefined {
    const { token } = sessionQueryOf(socket.handshake.url);
    return token === null || token === '' ? undefined : this.live.get(token);
  }

  /**
   * What a new connection restores, read from its `session` and `offset` query parameters. A
   * session is taken (once: the map entry goes at once) only with a well-formed offset in its
   * range; then the socket gets its id and data (what `authenticate` returned assigned over it).
   * A malformed or out-of-range offset leaves the session waiting; every refusal reads the same.
   */
  claim(socket: RoomSocket): Claim {
    const { token, offset } = sessionQueryOf(socket.handshake.url);
    if (token === null) return {};
    const session = token === '' ? undefined : this.waiting.get(token);
    if (session === undefined) return { reason: 'unknown session' };
    const from = offset ?? session.floor;
    if (!(from >= session.floor && from <= session.dropSeq)) return { reason: 'unknown session' };
    // Its rooms stay routed here until `welcome` has joined them again: no frame between.
    this.end(session, false);
    if (!this.frames.holdsAfter(from)) {
      this.rooms.release(session.rooms);
      return { reason: 'too far behind' };
    }
    // The id is the socket's identity for the registry; nothing has seen the new one yet.
    (socket as { id: string }).id = session.id;
    socket.data = Object.assign(session.data, socket.data);
    socket.recovered = true;
    return { session, offset: from };
  }

  /**
   * The socket is in the registry (and in its restored rooms): it gets a new token, its session
   * frame first, then every held frame after the offset that targeted it, in order.
   */
  welcome(socket: RoomSocket, claim: Claim): void {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    socket.recoveryToken = token;
    this.live.set(token, socket);
    const { session } = claim;
    socket.recoveryFloor = session === undefined ? this.frames.lastSeq : claim.offset;
    const reason = session === undefined ? claim.reason : undefined;
    writeMessage(socket, sessionFrame(socket.id, token, session !== undefined, reason));
    const metrics = socket.settings.metrics;
    if (session === undefined) {
      if (reason !== undefined) metrics.recoveries[RESULTS[reason]]++;
      return;
    }
    metrics.recoveries[Recovery.Recovered]++;
    this.rooms.release(session.rooms);
    const rooms = socket.roomSet;
    this.frames.forEachAfter(claim.offset, (frame) => {
      if (!targets(frame.target, rooms) || !writeEvent(socket, frame.encoded, REPLAY_FLAGS)) return;
      metrics.framesSent++;
      metrics.bytesSent += frame.encoded.payload.length;
    });
  }

  /** The server stops: every session and frame goes, and every timer. */
  close(): void {
    for (const session of this.waiting.values()) this.end(session);
    this.live.clear();
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.frames.clear();
  }

  /** A session stops waiting: taken, expired, or its server stopping. */
  private end(session: WaitingSession, release = true): void {
    if (this.waiting.get(session.token) !== session) return;
    this.waiting.delete(session.token);
    clearTimeout(session.timer);
    if (release) this.rooms.release(session.rooms);
  }

  /**
   * Until the oldest frame is past `maxDisconnection`; when it already is (a waiting session
   * keeps it), a quarter of that, since every session ends within `maxDisconnection`.
   */
  private expiryDelay(oldest: number): number {
    const due = oldest + this.maxDisconnection - Date.now();
    return due > 0 ? due + 1 : Math.max(10, this.maxDisconnection / 4);
  }

  /** Lets frames go that are older than `maxDisconnection` and after no waiting session's floor. */
  private scheduleExpiry(): void {
    const oldest = this.frames.oldestAt;
    if (oldest === undefined) return;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      let keepAfter = Infinity;
      for (const session of this.waiting.values()) keepAfter = Math.min(keepAfter, session.floor);
      this.frames.expire(Date.now(), keepAfter);
      this.scheduleExpiry();
    }, this.expiryDelay(oldest));
    this.expiryTimer.unref();
  }
}
