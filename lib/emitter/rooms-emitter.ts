import type { DefaultEvents, EventArgs, EventName, EventsMap } from '../broadcast/typed-events.js';
import type { Broker } from '../cluster/broker.js';
import { ALL_CHANNEL } from '../cluster/channels.js';
import { MessageType } from '../cluster/cluster-messages.js';
import { EMITTER_CALLBACK, INVALID_EVENT_NAME, UNSERIALISABLE } from '../rooms.messages.js';
import { EmitterLink } from './emitter-link.js';
import { emitterMessage } from './emitter-encoding.js';
import { EmitterOperator } from './emitter-operator.js';

/** Options of {@link RoomsEmitter}. */
export interface RoomsEmitterOptions {
  /** The broker the servers use (e.g. a `RedisBroker` on the same Redis and `keyPrefix`). */
  broker: Broker;
}

/**
 * Reaches the sockets of every server from a process that is not one (a worker, a cron job, a
 * script): it publishes the cluster protocol's messages on the servers' broker and is never a
 * server itself, so nobody counts it, waits for it or sends it anything. It needs neither Nest
 * nor `rxjs`: it loads, with its broker, in a plain Node.js process.
 *
 * ```ts
 * const emitter = new RoomsEmitter({ broker: new RedisBroker({ url }) });
 * emitter.to('project:42').emit('project updated', { id: 42 });
 * await emitter.close();
 * ```
 */
export class RoomsEmitter<Events extends EventsMap = DefaultEvents> {
  private readonly link: EmitterLink;
  private readonly everyone: EmitterOperator<Events>;

  constructor(options: RoomsEmitterOptions) {
    this.link = new EmitterLink(options.broker);
    this.everyone = new EmitterOperator<Events>(this.link, [], []);
  }

  /** Selects the members of `rooms` (an operator: chain more `to`, `except`, then act). */
  to(rooms: string | readonly string[]): EmitterOperator<Events> {
    return this.everyone.to(rooms);
  }

  /** The same as {@link to}. */
  in(rooms: string | readonly string[]): EmitterOperator<Events> {
    return this.everyone.to(rooms);
  }

  /** Every socket but the members of `rooms` (a socket id leaves out that socket). */
  except(rooms: string | readonly string[]): EmitterOperator<Events> {
    return this.everyone.except(rooms);
  }

  /** Sends `{event, data}` to every socket of every server; see {@link EmitterOperator.emit}. */
  emit<E extends EventName<Events>>(event: E, ...args: EventArgs<Events, E>): Promise<void> {
    return this.everyone.emit(event, ...args);
  }

  /** Makes every socket join `rooms`. */
  socketsJoin(rooms: string | readonly string[]): Promise<void> {
    return this.everyone.socketsJoin(rooms);
  }

  /** Makes every socket leave `rooms`. */
  socketsLeave(rooms: string | readonly string[]): Promise<void> {
    return this.everyone.socketsLeave(rooms);
  }

  /** Disconnects every socket; see {@link EmitterOperator.disconnectSockets}. */
  disconnectSockets(close = false): Promise<void> {
    return this.everyone.disconnectSockets(close);
  }

  /**
   * Calls the `@OnServerEvent(event)` handlers of every server with `args`. Nobody answers an
   * emitter, so there is no callback and no `serverSideEmitWithAck`.
   */
  serverSideEmit(event: string, ...args: unknown[]): Promise<void> {
    if (typeof event !== 'string' || event.length === 0) throw new TypeError(INVALID_EVENT_NAME);
    if (typeof args.at(-1) === 'function') throw new TypeError(EMITTER_CALLBACK);
    let message: Buffer;
    try {
      message = emitterMessage({ t: MessageType.ServerEvent, e: event, a: args });
    } catch (cause) {
      throw new TypeError(UNSERIALISABLE(event, cause), { cause });
    }
    return this.link.publish(ALL_CHANNEL, message);
  }

  /** Waits until the broker has taken everything already emitted, then lets go of it. */
  close(): Promise<void> {
    return this.link.close();
  }
}
