import { Module, type Type } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import {
  OnDisconnecting,
  RoomService,
  RoomsModule,
  type Broker,
  type PresenceDiff,
  type PresenceEntries,
  type PresenceMeta,
  type RoomSocket,
} from '../../lib/index.js';
import { ChatGateway } from './chat.fixture.js';
import type { TestApp } from './app.js';
import { within } from './timing.js';

/** What a client asks the presence gateway to track. */
export interface TrackRequest {
  room: string;
  key: unknown;
  meta?: unknown;
}

/**
 * The chat gateway's path with presence handlers: `track` and `untrack` pass the client's data to
 * `socket.track`/`untrack` as they are (a refusal comes back as an exception frame), and `@OnDisconnecting`
 * records what presence showed while the socket was still tracked.
 */
@WebSocketGateway({ path: '/chat' })
export class PresenceGateway {
  /** `rooms.presence(room)` of every room the socket was in, as `@OnDisconnecting` saw it. */
  readonly atDisconnecting = new Map<string, Record<string, PresenceEntries>>();

  constructor(private readonly rooms: RoomService) {}

  @SubscribeMessage('track')
  async track(@MessageBody() data: TrackRequest, @ConnectedSocket() socket: RoomSocket) {
    await socket.track(data.room, data.key as string, data.meta);
    return { event: 'tracked', data: data.room };
  }

  @SubscribeMessage('untrack')
  async untrack(@MessageBody() data: { room: string }, @ConnectedSocket() socket: RoomSocket) {
    await socket.untrack(data.room);
    return { event: 'untracked', data: data.room };
  }

  @OnDisconnecting()
  disconnecting(socket: RoomSocket, rooms: ReadonlySet<string>) {
    const seen: Record<string, PresenceEntries> = {};
    for (const room of rooms) if (room !== socket.id) seen[room] = this.rooms.presence(room);
    this.atDisconnecting.set(socket.id, seen);
  }
}

/** The chat gateway (welcome, join, leave) and the presence handlers, on `broker` (in memory by default). */
export function presenceModule(options: { broker?: Broker; maxMetaBytes?: number } = {}): Type {
  const { broker, maxMetaBytes } = options;
  @Module({
    imports: [RoomsModule.forRoot({ broker, presence: maxMetaBytes === undefined ? undefined : { maxMetaBytes } })],
    providers: [ChatGateway, PresenceGateway],
  })
  class PresenceModule {}
  return PresenceModule;
}

/** One `'presence'` event as a listener got it. */
export interface PresenceEvent {
  room: string;
  diff: PresenceDiff;
}

/**
 * Every `'presence'` event of one app, in order; `next()` returns exactly the next one (none is
 * ever skipped), so that tests see each diff and their order.
 */
export class PresenceLog {
  readonly events: PresenceEvent[] = [];
  private read = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly app: TestApp) {
    app.rooms.on('presence', (room, diff) => {
      this.events.push({ room, diff });
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  /** The next event not read yet, waiting up to `ms` for it. */
  async next(ms = 3000): Promise<PresenceEvent> {
    while (this.read >= this.events.length) await within(this.changed(), ms, 'a presence event');
    return this.events[this.read++];
  }

  /** Events not read yet. */
  get unread(): number {
    return this.events.length - this.read;
  }

  /** Resolves at the next event (any room). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves once `predicate` holds of this app's presence, checking again at each event. */
  async until(predicate: () => boolean, ms = 5000, what = 'presence to settle'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not within ${ms} ms`);
      await within(this.changed(), left, what).catch(() => undefined);
    }
  }
}

/**
 * A presence result as plain data, keys sorted and sockets sorted within each key, so that two
 * servers' views compare with `deepEqual` (pairs, not an object: a key may be `__proto__`).
 */
export function canonical(entries: PresenceEntries): Array<[string, PresenceMeta[]]> {
  return Object.keys(entries)
    .sort()
    .map((key) => [
      key,
      [...entries[key]].sort((a, b) => a.socketId.localeCompare(b.socketId)).map((meta) => ({ ...meta })),
    ]);
}
