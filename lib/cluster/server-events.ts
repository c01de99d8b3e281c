export type ServerEventHandler = (...args: unknown[]) => unknown;

/**
 * Handlers of events that other servers send with `serverSideEmit`. The sender never receives its
 * own events, so on a single server these are registered and never called.
 */
export class ServerEvents {
  private readonly handlers = new Map<string, ServerEventHandler[]>();

  /** Registers a handler; returns the function that removes it. */
  on(event: string, handler: ServerEventHandler): () => void {
    const list = this.handlers.get(event) ?? [];
    list.push(handler);
    this.handlers.set(event, list);
    return () => {
      const index = list.indexOf(handler);
      if (index !== -1) list.splice(index, 1);
      if (list.length === 0 && this.handlers.get(event) === list) this.handlers.delete(event);
    };
  }

  /** How many handlers listen for `event` here. */
  listenerCount(event: string): number {
    return this.handlers.get(event)?.length ?? 0;
  }
}
