import type { WsMessageHandler } from '@nestjs/common';
import type { BoundHandler, RoomSocket } from '../socket/room-socket.js';

/**
 * Every client of a path has the same event names in the same order: one shared array per list.
 * Keyed by the names themselves, so it holds one entry per distinct set of gateways.
 */
const sharedEventLists = new Map<string, readonly string[]>();

function sharedEvents(events: string[]): readonly string[] {
  const key = events.join('\0');
  let shared = sharedEventLists.get(key);
  if (shared === undefined) sharedEventLists.set(key, (shared = events));
  return shared;
}

/**
 * Keeps Nest's handlers for a client as a shared list of event names and the client's own list
 * of bound callbacks, rather than Nest's object per handler per client (~50 bytes each). Called
 * once per gateway on the client's path: their handlers form one list, so that an unknown event
 * is only answered as such when no gateway has it.
 */
export function bindHandlers(client: RoomSocket, handlers: readonly WsMessageHandler[]): void {
  const events = handlers.map((handler) => handler.message as string);
  const callbacks = handlers.map((handler) => handler.callback);
  client.handlerEvents = sharedEvents(
    client.handlerEvents === undefined ? events : [...client.handlerEvents, ...events],
  );
  client.handlerCallbacks =
    client.handlerCallbacks === undefined ? callbacks : [...client.handlerCallbacks, ...callbacks];
}

/** The client's handler for `event`; with handlers of several gateways for one event, the first bound. */
export function handlerFor(client: RoomSocket, event: string): BoundHandler | undefined {
  const index = client.handlerEvents?.indexOf(event) ?? -1;
  return index < 0 ? undefined : client.handlerCallbacks![index];
}
