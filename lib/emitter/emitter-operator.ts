import type { DefaultEvents, EventArgs, EventName, EventsMap } from '../broadcast/typed-events.js';
import type { Target } from '../broadcast/target.js';
import { ALL_CHANNEL, broadcastChannel } from '../cluster/channels.js';
import { MessageType, type EmitterMessage, type EmitterRequestKind } from '../cluster/cluster-messages.js';
import { toRoomList } from '../registry/room-names.js';
import { EMITTER_ROOM_LIST, INVALID_TARGET_ROOM } from '../rooms.messages.js';
import { emitterMessage, serializeEvent } from './emitter-encoding.js';
import type { EmitterLink } from './emitter-link.js';

const isRoomList = (rooms: unknown): rooms is readonly string[] =>
  Array.isArray(rooms) && rooms.every((room) => typeof room === 'string' && room.length > 0);

function roomsOf(rooms: string | readonly string[], problem: string): readonly string[] {
  const list = toRoomList(rooms);
  if (!isRoomList(list)) throw new TypeError(problem);
  return list;
}

/**
 * Which sockets an emitter acts on, on every server. Immutable: every modifier returns a new
 * operator. No target rooms means every socket. Each operation throws at once for arguments it
 * cannot send, and otherwise returns a promise that resolves once the broker has taken the message
 * (no server answers an emitter, so nothing tells when they have applied it).
 */
export class EmitterOperator<Events extends EventsMap = DefaultEvents> {
  /** @internal `RoomsEmitter` starts operators; users never build one. */
  constructor(
    private readonly link: EmitterLink,
    private readonly rooms: readonly string[],
    private readonly exceptRooms: readonly string[],
  ) {}

  /** Adds target rooms (union: each socket once). */
  to(rooms: string | readonly string[]): EmitterOperator<Events> {
    const added = roomsOf(rooms, INVALID_TARGET_ROOM);
    return new EmitterOperator<Events>(this.link, [...this.rooms, ...added], this.exceptRooms);
  }

  /** The same as {@link to}. */
  in(rooms: string | readonly string[]): EmitterOperator<Events> {
    return this.to(rooms);
  }

  /** Leaves out the members of those rooms; a socket id leaves out that socket. */
  except(rooms: string | readonly string[]): EmitterOperator<Events> {
    const added = roomsOf(rooms, INVALID_TARGET_ROOM);
    return new EmitterOperator<Events>(this.link, this.rooms, [...this.exceptRooms, ...added]);
  }

  /**
   * Sends `{event, data}` to every selected socket of every server, exactly once each. A payload
   * JSON cannot carry throws here, and nothing is published.
   */
  emit<E extends EventName<Events>>(event: E, ...[data]: EventArgs<Events, E>): Promise<void> {
    const payload = serializeEvent(event, data);
    const target = this.target;
    const header: EmitterMessage = { t: MessageType.Broadcast, ...this.wireTarget(), i: this.link.nextBroadcastId() };
    return this.link.publish(broadcastChannel(target), emitterMessage(header, payload));
  }

  /** Makes every selected socket join `rooms`, on every server. */
  socketsJoin(rooms: string | readonly string[]): Promise<void> {
    return this.request('join', roomsOf(rooms, EMITTER_ROOM_LIST));
  }

  /** Makes every selected socket leave `rooms`, on every server. */
  socketsLeave(rooms: string | readonly string[]): Promise<void> {
    return this.request('leave', roomsOf(rooms, EMITTER_ROOM_LIST));
  }

  /** `close = false` sends each socket a close frame (1000); `true` cuts its connection. */
  disconnectSockets(close = false): Promise<void> {
    return this.request('disconnect', close === true);
  }

  private get target(): Target {
    return { r: this.rooms, x: this.exceptRooms };
  }

  /** The target as it travels: empty lists are left out. */
  private wireTarget(): { r?: readonly string[]; x?: readonly string[] } {
    const { rooms: r, exceptRooms: x } = this;
    return r.length === 0 ? (x.length === 0 ? {} : { x }) : x.length === 0 ? { r } : { r, x };
  }

  private request(kind: EmitterRequestKind, args: unknown): Promise<void> {
    const header: EmitterMessage = { t: MessageType.Request, k: kind, a: args, ...this.wireTarget() };
    return this.link.publish(ALL_CHANNEL, emitterMessage(header));
  }
}
