/**
 * Where a socket's `EventEmitter` keeps its listeners. Node makes it a null-prototype object,
 * which V8 keeps as a hash table (~280 bytes with the five events every socket listens to);
 * an instance of this constructor has the same lookups (its prototype chain holds no names, so
 * `toString` or `__proto__` are unknown events as before) in fast properties, and sockets that
 * listen to the same events in the same order share one layout: ~80 bytes.
 */
export const ListenerTable = function ListenerTable() {} as unknown as new () => object;
ListenerTable.prototype = Object.create(null) as object;

/** Moves an emitter's listeners (event names of any kind, symbols included) into a fast table. */
export function useListenerTable(emitter: object): void {
  const internals = emitter as { _events?: Record<string | symbol, unknown> };
  const listeners = internals._events;
  if (listeners === undefined || listeners instanceof ListenerTable) return;
  const table = new ListenerTable() as Record<string | symbol, unknown>;
  for (const name of Reflect.ownKeys(listeners)) table[name] = listeners[name];
  internals._events = table;
}
