/**
 * Typed events, in the spirit of Socket.IO's: a map from event name to the type of its `data`.
 *
 * ```ts
 * interface ServerEvents { said: { text: string }; 'user left': { id: string }; ping: void }
 * constructor(private readonly rooms: RoomService<ServerEvents>) {}
 * this.rooms.to(room).emit('said', { text });      // checked: name and payload
 * ```
 */
export type EventsMap = Record<string, any>;

/** What an untyped `RoomService` / `BroadcastOperator` accepts: any event, any data. */
export interface DefaultEvents {
  [event: string]: any;
}

/** The event names of a map. */
export type EventName<Events extends EventsMap> = keyof Events & string;

/** `data` is optional where the event's type admits `undefined` (`void`, `T | undefined`, `any`). */
export type EventArgs<Events extends EventsMap, E extends EventName<Events>> = undefined extends Events[E]
  ? [data?: Events[E]]
  : [data: Events[E]];
