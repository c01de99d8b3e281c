import { Logger } from '@nestjs/common';

/** A handler of another server's `serverSideEmit`: the sender's arguments in, the answer out. */
export type ServerEventHandler = (...args: unknown[]) => unknown;

const logger = new Logger('RoomsServerEvents');

/** Handlers of events that other servers send with `serverSideEmit`; the sender never receives its own. */
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

  /**
   * Calls every handler of `event` with exactly the sender's arguments. Returns the first one's
   * (awaited) value, the answer to `serverSideEmitWithAck`, or `undefined` when there is no handler.
   */
  dispatch(event: string, args: unknown[]): Promise<unknown> | undefined {
    const list = this.handlers.get(event);
    if (list === undefined || list.length === 0) return undefined;
    const results = [...list].map((handler) => {
      try {
        return Promise.resolve(handler(...args));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    });
    for (const result of results.slice(1)) result.catch((error: unknown) => logger.error(error));
    return results[0];
  }
}
