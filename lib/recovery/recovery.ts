import { randomBytes } from 'node:crypto';
import type { WireEntry } from '../cluster/cluster-messages.js';
import type { EncodedEvent, WriteFlags } from '../broadcast/frame.js';
import type { FrameRecorder } from '../broadcast/local-delivery.js';
import type { Target } from '../broadcast/target.js';
import { Recovery } from '../metrics/metric-labels.js';
import type { RoomSocket } from '../socket/room-socket.js';
import { writeEvent, writeMessage } from '../socket/write-path.js';
import { HELD_FRAME_OVERHEAD, HeldFrames } from './held-frames.js';
import type { HeldRooms } from './held-rooms.js';
import { sessionQueryOf, TOKEN_BYTES } from './session-query.js';
import { RETRY, type SessionOffer, type WireFrame } from './session-wire.js';

/** Why a reconnect was not recovered (the session frame's `reason`). */
export type RecoveryReason = 'unknown session' | 'too far behind';

/** A frame that came with a session from another server: its offset as the session's client knows it (none: one it never got). */
export interface CarriedFrame {
  readonly seq: number | undefined;
  readonly key: string | undefined;
  /** The event JSON, without an offset: this server gives it its own when it replays it. */
  readonly payload: Buffer;
}

/** What a session that moved here brought, and where this server's own log takes over. */
export interface MovedFrames {
  /** What the server it came from held for it, in order. */
  readonly frames: readonly CarriedFrame[];
  /** This server's last offset once the session's rooms reached it: its frames after this count too. */
  readonly since: number;
  /** Bytes counted for `frames` toward `maxBufferedBytes`. */
  readonly bytes: number;
}

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
  /** Every frame up to this offset that targeted it reached its client (a clean close): none of those is sent again. */
  readonly delivered: number;
  /** `Date.now()` past which it stops waiting. */
  readonly expiresAt: number;
  readonly timer: NodeJS.Timeout;
  /** Set when it moved here from another server (its offsets are that server's). */
  readonly moved?: MovedFrames;
  /** Its frames are gone: it can only be refused, as too far behind. */
  readonly behind?: boolean;
}

/** A session another server asked for (`offer`), held here until it takes the frames (`surrender`). */
interface MovingSession {
  readonly session: WaitingSession;
  /** The offset its frames follow. */
  readonly from: number;
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

/** A session's rooms with its own id room: what its frames targeted. */
function roomsOf(session: WaitingSession): Set<string> {
  return new Set([...session.rooms, session.id]);
}

/**
 * Connection recovery on one server: the sessions of dropped sockets waiting for their clients
 * (one timer each, at most `maxDisconnection`), this server's log of recoverable frames that they
 * refer to by offset, and the restore of a reconnecting socket (id, data, rooms, then the frames
 * it missed). Sessions also move between servers (session-transfer.ts): one is offered and taken
 * out of waiting at once, then surrendered with its frames; the receiver adopts it with what it
 * brought. The registry work (adding the socket, joining its rooms) is the caller's.
 */
export class ConnectionRecovery implements FrameRecorder {
  private readonly waiting = new Map<string, WaitingSession>();
  /** Connected sockets by their token: a reconnect may come before the server noticed the drop. */
  private readonly live = new Map<string, RoomSocket>();
  /** Sessions offered to another server, until it takes their frames. */
  private readonly moving = new Map<string, MovingSession>();
  /** Tokens of sessions on their way here from another server. */
  private readonly arriving = new Set<string>();
  /** Bytes of the frames moved sessions brought. */
  private carriedBytes = 0;
  /** The last offset before `app.close()` started closing sockets: a socket that closed cleanly since had every frame up to it. */
  private shutdownSeq: number | undefined;
  readonly frames: HeldFrames;
  private expiryTimer: NodeJS.Timeout | undefined;
  /** Drops a connection whose client is back elsewhere (the adapter's, which owns the socket's close). */
  dropStale: (socket: RoomSocket) => void = () => undefined;

  constructor(
    private readonly maxDisconnection: number,
    private readonly maxBufferedBytes: number,
    private readonly rooms: HeldRooms,
    firstOffset?: number,
  ) {
    this.frames = new HeldFrames(maxBufferedBytes, maxDisconnection, firstOffset);
  }

  get recordsAll(): boolean {
    return this.waiting.size !== 0 || this.moving.size !== 0 || this.arriving.size !== 0;
  }

  /** How many sessions wait (each with one timer), moving ones included. */
  get waitingCount(): number {
    return this.waiting.size + this.moving.size;
  }

  /** Rooms routed here for waiting sessions alone. */
  get heldRoomCount(): number {
    return this.rooms.heldOnly;
  }

  /** Whether the timer that lets old frames go is set. */
  get expiring(): boolean {
    return this.expiryTimer !== undefined;
  }

  /** Bytes of frames that moved sessions brought here. */
  get carried(): number {
    return this.carriedBytes;
  }

  /** Whether this server has anything for the token: a session waiting, moving or arriving, or a connection that holds it. */
  knows(token: string): boolean {
    return this.waiting.has(token) || this.live.has(token) || this.moving.has(token) || this.arriving.has(token);
  }

  record(target: Target, payload: Buffer, key?: string): EncodedEvent {
    const encoded = this.frames.append(target, payload, Date.now(), key);
    if (this.expiryTimer === undefined) this.scheduleExpiry();
    return encoded;
  }

  /** `app.close()` starts closing sockets: those that close cleanly from here on had every frame so far. */
  shuttingDown(): void {
    this.shutdownSeq ??= this.frames.lastSeq;
  }

  /**
   * A socket dropped (the peer went away or stopped answering, or the server is stopping): its
   * session waits, if it has one. `clean`: its client answered the close, so it read every frame.
   */
  hold(socket: RoomSocket, presence: readonly WireEntry[] = [], clean = false): void {
    const token = socket.recoveryToken;
    if (token === undefined) return;
    socket.recoveryToken = undefined;
    this.live.delete(token);
    const rooms: string[] = [];
    for (const room of socket.rooms) if (room !== socket.id) rooms.push(room);
    const floor = socket.recoveryFloor;
    const delivered = clean && this.shutdownSeq !== undefined ? Math.max(floor, this.shutdownSeq) : floor;
    this.wait({
      token,
      id: socket.id,
      rooms,
      data: socket.data,
      presence,
      floor,
      dropSeq: this.frames.lastSeq,
      delivered,
      left: this.maxDisconnection,
    });
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
    const from = startOf(session, offset);
    if (from === undefined) return { reason: 'unknown session' };
    // Its rooms stay routed here until `welcome` has joined them again: no frame between.
    this.end(session, false);
    if (!this.complete(session, from)) {
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
    socket.recoveryFloor = session === undefined || session.moved !== undefined ? this.frames.lastSeq : claim.offset;
    const reason = session === undefined ? claim.reason : undefined;
    writeMessage(socket, sessionFrame(socket.id, token, session !== undefined, reason));
    const metrics = socket.settings.metrics;
    if (session === undefined) {
      if (reason !== undefined) metrics.recoveries[RESULTS[reason]]++;
      return;
    }
    metrics.recoveries[Recovery.Recovered]++;
    this.rooms.release(session.rooms);
    const write = (encoded: EncodedEvent) => {
      if (!writeEvent(socket, encoded, REPLAY_FLAGS)) return;
      metrics.framesSent++;
      metrics.bytesSent += encoded.payload.length;
    };
    if (session.moved !== undefined) return this.replayMoved(socket, session, claim.offset, write);
    const rooms = socket.rooms;
    this.frames.forEachAfter(Math.max(claim.offset, session.delivered), (frame) => {
      if (targets(frame.target, rooms)) write(frame.encoded);
    });
  }

  // ---- sessions moving between servers -------------------------------------------------------

  /**
   * Another server asks for the session of `token` (its client came back there, with `offset`):
   * the offer, taken out of waiting at once so that nobody else gets it; `RETRY` while its socket
   * is still closing here, or the session is moving away or on its way here; nothing when there is none here or
   * the offset is not one of its own (then it goes on waiting). The offer waits `holdFor` ms for
   * the frames to be asked for.
   */
  offer(
    token: string,
    offset: number | undefined,
    self: string,
    holdFor: number,
  ): SessionOffer | typeof RETRY | undefined {
    const holder = this.live.get(token);
    if (holder !== undefined && !holder.gone) this.dropStale(holder);
    const session = this.waiting.get(token);
    if (session === undefined) return this.knows(token) ? RETRY : undefined;
    const from = startOf(session, offset);
    return from === undefined ? undefined : this.offerSession(session, from, self, holdFor);
  }

  /** Every waiting session, offered (this server stops: `app.close()` hands them to a live peer). */
  offerAll(self: string, holdFor: number): SessionOffer[] {
    return [...this.waiting.values()].map((session) => this.offerSession(session, session.floor, self, holdFor));
  }

  /** The frames of an offered session, for the server it moves to; it is forgotten here. */
  surrender(token: string): WireFrame[] | undefined {
    const moving = this.moving.get(token);
    if (moving === undefined) return undefined;
    this.moving.delete(token);
    clearTimeout(moving.timer);
    const { session, from } = moving;
    const frames: WireFrame[] = [];
    this.replayOf(session, from, roomsOf(session), (seq, key, payload) =>
      frames.push([seq ?? null, key ?? null, payload.toString()]),
    );
    this.release(session);
    return frames;
  }

  /** Sessions are on their way here: their rooms are routed here now, and every frame is kept until they arrive. */
  expect(offers: readonly SessionOffer[]): void {
    for (const offer of offers) {
      this.arriving.add(offer.t);
      if (offer.b !== true) this.rooms.hold(offer.r);
    }
  }

  /**
   * One expected session arrived with `frames` (undefined: it never will), its rooms routed here
   * since this server's offset `since`: it waits here as it waited there.
   */
  adopt(offer: SessionOffer, since: number, frames: readonly WireFrame[] | undefined): void {
    const { t: token } = offer;
    this.arriving.delete(token);
    if (offer.b === true) return this.wait({ ...BEHIND, token, left: offer.l, behind: true });
    if (frames === undefined || this.knows(token)) return this.rooms.release(offer.r);
    const carried: CarriedFrame[] = [];
    let bytes = 0;
    for (const [seq, key, json] of frames) {
      const payload = Buffer.from(json);
      bytes += payload.length + HELD_FRAME_OVERHEAD;
      carried.push({ seq: seq ?? undefined, key: key ?? undefined, payload });
    }
    if (this.carriedBytes + this.frames.bytes + bytes > this.maxBufferedBytes) {
      this.rooms.release(offer.r);
      return this.wait({ ...BEHIND, token, left: offer.l, behind: true });
    }
    this.carriedBytes += bytes;
    this.wait({
      token,
      id: offer.i,
      rooms: offer.r,
      data: offer.d,
      presence: offer.p,
      floor: offer.f,
      dropSeq: offer.s,
      delivered: offer.f,
      left: offer.l,
      moved: { frames: carried, since, bytes },
    });
  }

  /** The server stops: every session and frame goes, and every timer. */
  close(): void {
    for (const session of this.waiting.values()) this.end(session);
    for (const { session, timer } of this.moving.values()) {
      clearTimeout(timer);
      this.release(session);
    }
    this.moving.clear();
    this.arriving.clear();
    this.live.clear();
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.frames.clear();
  }

  // ---- internals -------------------------------------------------------------------------------

  private wait(fields: Omit<WaitingSession, 'timer' | 'expiresAt'> & { readonly left: number }): void {
    const { left, ...rest } = fields;
    const timer = setTimeout(() => this.end(session), Math.max(0, left));
    timer.unref();
    const session: WaitingSession = { ...rest, expiresAt: Date.now() + left, timer };
    this.waiting.set(session.token, session);
  }

  private offerSession(session: WaitingSession, from: number, self: string, holdFor: number): SessionOffer {
    this.end(session, false);
    const left = session.expiresAt - Date.now();
    const { token: t } = session;
    if (!this.complete(session, from)) {
      this.release(session);
      return { h: self, t, b: true, l: left } as SessionOffer;
    }
    const timer = setTimeout(() => {
      if (this.moving.get(t)?.session !== session) return;
      this.moving.delete(t);
      this.release(session);
    }, holdFor);
    timer.unref();
    this.moving.set(t, { session, from, timer });
    const { id: i, rooms: r, data: d, presence: p, floor: f, dropSeq: s } = session;
    return { h: self, t, i, r, d, p, f, s, o: from, l: left };
  }

  /** Whether every frame the session needs after `from` is still here. */
  private complete(session: WaitingSession, from: number): boolean {
    if (session.behind === true) return false;
    if (session.moved !== undefined) return this.frames.holdsAfter(session.moved.since);
    return this.frames.holdsAfter(Math.max(from, session.delivered));
  }

  /**
   * The frames a session missed after `from`, in the order its socket would have had them: for a
   * local one, this server's log; for one that moved here, what it brought, then this server's
   * log since its rooms reached here (what it brought too left out: both had those).
   */
  private replayOf(
    session: WaitingSession,
    from: number,
    rooms: ReadonlySet<string>,
    visit: (seq: number | undefined, key: string | undefined, payload: Buffer) => void,
  ): void {
    const { moved } = session;
    if (moved === undefined) {
      this.frames.forEachAfter(Math.max(from, session.delivered), (frame) => {
        if (targets(frame.target, rooms)) visit(frame.seq, frame.key, HeldFrames.payloadOf(frame));
      });
      return;
    }
    const brought = new Set<string>();
    for (const frame of moved.frames) {
      if (frame.key !== undefined) brought.add(frame.key);
      if (frame.seq === undefined || frame.seq > from) visit(frame.seq, frame.key, frame.payload);
    }
    this.frames.forEachAfter(moved.since, (frame) => {
      if (targets(frame.target, rooms) && (frame.key === undefined || !brought.has(frame.key))) {
        visit(undefined, frame.key, HeldFrames.payloadOf(frame));
      }
    });
  }

  /**
   * A session that moved here is back: what it missed is logged again under this server's offsets
   * (for its id alone), after any it could already name, so that its client's next offsets are
   * this server's, in order.
   */
  private replayMoved(
    socket: RoomSocket,
    session: WaitingSession,
    from: number,
    write: (encoded: EncodedEvent) => void,
  ): void {
    const missed: { key: string | undefined; payload: Buffer }[] = [];
    this.replayOf(session, from, socket.rooms, (_seq, key, payload) => missed.push({ key, payload }));
    const own: Target = { r: [socket.id], x: [] };
    for (const { key, payload } of missed) write(this.record(own, payload, key));
    this.releaseBytes(session);
  }

  /** A session stops waiting: taken, expired, or its server stopping. */
  private end(session: WaitingSession, release = true): void {
    if (this.waiting.get(session.token) !== session) return;
    this.waiting.delete(session.token);
    clearTimeout(session.timer);
    if (release) this.release(session);
  }

  /** What a session held (rooms routed here, bytes it brought) goes. */
  private release(session: WaitingSession): void {
    this.rooms.release(session.rooms);
    this.releaseBytes(session);
  }

  private releaseBytes(session: WaitingSession): void {
    if (session.moved !== undefined) this.carriedBytes -= session.moved.bytes;
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
      let keepAfter = this.arriving.size === 0 ? Infinity : this.frames.lastSeq;
      for (const session of this.waiting.values()) keepAfter = Math.min(keepAfter, needsAfter(session));
      for (const { from } of this.moving.values()) keepAfter = Math.min(keepAfter, from);
      this.frames.expire(Date.now(), keepAfter);
      this.scheduleExpiry();
    }, this.expiryDelay(oldest));
    this.expiryTimer.unref();
  }
}

/** A session that can only be refused: no id, rooms or frames, any offset. */
const BEHIND = { id: '', rooms: [], data: {}, presence: [], floor: 0, dropSeq: Infinity, delivered: 0 } as const;

/** The offset a session's frames follow, from the client's (none: where its connection started); undefined when it is none of its own. */
function startOf(session: WaitingSession, offset: number | undefined): number | undefined {
  const from = offset ?? session.floor;
  return from >= session.floor && from <= session.dropSeq ? from : undefined;
}

/** The offset of this server's log after which a waiting session needs its frames. */
function needsAfter(session: WaitingSession): number {
  return session.moved !== undefined ? session.moved.since : session.floor;
}
