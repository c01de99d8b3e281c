/**
 * `nestjs-rooms/client`: one dependency-free ES module for browsers and Node.js. It reconnects
 * with backoff, resumes a session when the server has connection recovery on, matches requests
 * to their answers by `id`, answers the server's `emitWithAck`, and queues what is sent while it
 * is not connected. It imports nothing at run time (the types below are erased).
 */
import type { DefaultEvents, EventArgs, EventName, EventsMap } from '../broadcast/typed-events.js';

export type { DefaultEvents, EventsMap } from '../broadcast/typed-events.js';

/** The little of a WebSocket the client uses: the browser's, Node 22's global one, and `ws` all have it. */
export interface WebSocketLike {
  /** 1 when open. */
  readonly readyState: number;
  /** Set by the client. */
  onopen: ((event: unknown) => void) | null;
  /** Set by the client: `data` is a string for a text frame. */
  onmessage: ((event: { data: unknown }) => void) | null;
  /** Set by the client. */
  onclose: ((event: { code: number; reason: string }) => void) | null;
  /** Set by the client. */
  onerror: ((event: unknown) => void) | null;
  /** Sends a text frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
}

/** A WebSocket class: `new WebSocket(url, protocols)`. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** How the delays between reconnects grow (see `reconnectDelay`). */
export interface ReconnectOptions {
  /** The first delay, ms (default 500). */
  initialDelay?: number;
  /** The longest delay, ms (default 10000). */
  maxDelay?: number;
  /** Each delay in a row is this many times the one before (default 2). */
  factor?: number;
  /** Up to this share of a delay is taken off at random (default 0.5). */
  jitter?: number;
}

/** The options of `new RoomsClient(url, options)`. */
export interface RoomsClientOptions {
  /** How to come back after a connection is lost; `false`: never. */
  reconnect?: ReconnectOptions | false;
  /** How long a `request` waits for its answer, ms (default 5000). */
  timeout?: number;
  /** How many frames `send` and `request` may queue while not connected (default 1000). */
  queueLimit?: number;
  /** The WebSocket class; default `globalThis.WebSocket` (pass `ws`'s on Node 20). */
  WebSocket?: WebSocketConstructor;
  /** Subprotocols to ask for. */
  protocols?: string | string[];
}

/** Where the client is: connecting the first time, open, waiting to reconnect, or closed for good. */
export type RoomsClientStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The client's own events; their names are not available to server events. */
export interface LifecycleEvents {
  /** A connection opened; with recovery on the server, whether it resumed the session (and if not, why). */
  open: {
    /** The session came back: same id, rooms, data, and every frame missed. */
    recovered: boolean;
    /** Why not: the session frame's `reason`. */
    reason?: string;
  };
  /** A connection closed (every one does, once). */
  close: {
    /** The close code. */
    code: number;
    /** The close reason. */
    reason: string;
  };
  /** Waiting before the next connection. */
  reconnecting: {
    /** How many reconnects in a row, from 1. */
    attempt: number;
    /** The wait, ms. */
    delay: number;
  };
  /** Something the server sent could not be used, or a listener threw. */
  error: Error;
}

/**
 * A request that did not get its answer: `status` is the exception frame's (`'error'`), or the
 * client's own: `'timeout'`, `'disconnected'` (its connection closed first), `'closed'`
 * (`close()` was called), `'queue full'`.
 */
export class RoomsClientError extends Error {
  constructor(
    /** What failed: `'error'` (the server's) or the client's own reason. */
    readonly status: string,
    message: string,
  ) {
    super(message);
    this.name = 'RoomsClientError';
  }
}

/** The delay before the `attempt`-th reconnect in a row (from 1), with `random` in [0, 1). */
export function reconnectDelay(attempt: number, options: ReconnectOptions = {}, random = Math.random()): number {
  const { initialDelay = 500, maxDelay = 10_000, factor = 2, jitter = 0.5 } = options;
  const delay = Math.min(maxDelay, initialDelay * factor ** (attempt - 1));
  return delay * (1 - jitter * random);
}

/** Close codes after which the client comes back: an abnormal close (no close frame), going away, try again later, and server trouble. */
const RETRIED = new Set([1001, 1005, 1006, 1011, 1012, 1013, 1014]);

const LIFECYCLE = new Set(['open', 'close', 'reconnecting', 'error']);
const OPEN = 1;

type Listener = (data: any) => unknown;
interface Pending {
  resolve(data: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

type Handler<Map, E extends keyof Map> = (data: Map[E]) => unknown;

/**
 * A client of a nestjs-rooms gateway. `ServerEvents` maps what the server emits to its `data`,
 * `ClientEvents` what the client sends; both as `RoomService<Events>` maps.
 */
export class RoomsClient<
  ServerEvents extends EventsMap = DefaultEvents,
  ClientEvents extends EventsMap = DefaultEvents,
> {
  /** The socket id, from the session frame of a server with connection recovery on. */
  id: string | undefined;
  private state: RoomsClientStatus = 'connecting';
  private ws: WebSocketLike | undefined;
  private readonly listeners = new Map<string, Listener[]>();
  private readonly pending = new Map<number, Pending>();
  private queue: string[] = [];
  private requests = 0;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The session to resume: its token and the last offset of the connection that had it. */
  private token: string | undefined;
  private offset: string | undefined;
  /** Whether the server sends session frames (learned from the first connection). */
  private recovers = false;
  private first = true;
  private readonly WebSocket: WebSocketConstructor;

  constructor(
    private readonly url: string,
    private readonly options: RoomsClientOptions = {},
  ) {
    const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (WebSocket === undefined) throw new TypeError('No WebSocket: pass the WebSocket option (e.g. ws on Node 20).');
    this.WebSocket = WebSocket;
    this.connect();
  }

  /** Where the client is now. */
  get status(): RoomsClientStatus {
    return this.state;
  }

  /** Listens to a server event or a lifecycle event; a server event's listener may answer its `emitWithAck`. */
  on<E extends keyof LifecycleEvents>(event: E, listener: Handler<LifecycleEvents, E>): () => void;
  /** Listens to a server event; what the first listener returns (or resolves to) answers an `emitWithAck`. */
  on<E extends EventName<ServerEvents>>(event: E, listener: Handler<ServerEvents, E>): () => void;
  on(event: string, listener: Listener): () => void {
    const list = this.listeners.get(event);
    if (list === undefined) this.listeners.set(event, [listener]);
    else list.push(listener);
    return () => this.off(event as never, listener);
  }

  /** As `on`, for the next time only. */
  once<E extends keyof LifecycleEvents>(event: E, listener: Handler<LifecycleEvents, E>): () => void;
  /** As `on`, for the next time only. */
  once<E extends EventName<ServerEvents>>(event: E, listener: Handler<ServerEvents, E>): () => void;
  once(event: string, listener: Listener): () => void {
    const off = this.on(event as never, (data: unknown) => {
      off();
      return listener(data);
    });
    return off;
  }

  /** Stops a listener. */
  off<E extends keyof LifecycleEvents>(event: E, listener: Handler<LifecycleEvents, E>): void;
  /** Stops a listener. */
  off<E extends EventName<ServerEvents>>(event: E, listener: Handler<ServerEvents, E>): void;
  off(event: string, listener: Listener): void {
    const list = this.listeners.get(event);
    const index = list === undefined ? -1 : list.indexOf(listener);
    if (index !== -1) list!.splice(index, 1);
  }

  /** Sends `{event, data}`: now when open, else once open (queued, in order). Throws when the queue is full or the client closed. */
  send<E extends EventName<ClientEvents>>(event: E, ...[data]: EventArgs<ClientEvents, E>): void {
    this.write(JSON.stringify({ event, data }));
  }

  /** Sends `{event, data, id}` and resolves with the `data` of the frame that answers it. */
  request<E extends EventName<ClientEvents>, R = unknown>(
    event: E,
    data?: ClientEvents[E],
    options: { timeout?: number } = {},
  ): Promise<R> {
    const id = ++this.requests;
    return new Promise<R>((resolve, reject) => {
      try {
        this.write(JSON.stringify({ event, data, id }));
      } catch (error) {
        return reject(error as Error);
      }
      const ms = options.timeout ?? this.options.timeout ?? 5000;
      const timer = setTimeout(
        () => this.settle(id, new RoomsClientError('timeout', `No answer within ${ms} ms.`)),
        ms,
      );
      this.pending.set(id, { resolve: resolve as (data: unknown) => void, reject, timer });
    });
  }

  /** Closes the connection (1000) for good: nothing reconnects, pending requests reject. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    this.queue = [];
    this.failPending('closed', 'The client was closed.');
    this.ws?.close(1000);
  }

  private connect(): void {
    let url = this.url;
    if (this.token !== undefined) {
      const target = new URL(url);
      target.searchParams.set('session', this.token);
      if (this.offset !== undefined) target.searchParams.set('offset', this.offset);
      url = target.href;
    }
    this.offset = undefined;
    this.first = true;
    const ws = (this.ws = new this.WebSocket(url, this.options.protocols));
    ws.onopen = () => {
      this.state = 'open';
      this.attempt = 0;
      for (const frame of this.queue.splice(0)) ws.send(frame);
      if (!this.recovers) this.emit('open', { recovered: false });
    };
    ws.onmessage = ({ data }) => this.received(data);
    ws.onerror = () => undefined; // the close that follows says what happened
    ws.onclose = ({ code, reason }) => {
      this.ws = undefined;
      this.failPending('disconnected', 'The connection closed before the answer came.');
      this.emit('close', { code, reason });
      const { reconnect = {} } = this.options;
      if (this.state === 'closed' || reconnect === false || !RETRIED.has(code)) {
        this.state = 'closed';
        return;
      }
      this.state = 'reconnecting';
      const delay = reconnectDelay(++this.attempt, reconnect);
      this.emit('reconnecting', { attempt: this.attempt, delay });
      this.timer = setTimeout(() => this.state !== 'closed' && this.connect(), delay);
    };
  }

  private write(frame: string): void {
    if (this.state === 'closed') throw new RoomsClientError('closed', 'The client was closed.');
    if (this.ws?.readyState === OPEN && this.state === 'open') return this.ws.send(frame);
    const limit = this.options.queueLimit ?? 1000;
    if (this.queue.length >= limit) throw new RoomsClientError('queue full', `More than ${limit} frames queued.`);
    this.queue.push(frame);
  }

  private received(raw: unknown): void {
    let frame: { event?: unknown; data?: unknown; id?: unknown; ack?: unknown; offset?: unknown; session?: unknown };
    try {
      if (typeof raw !== 'string') throw 0;
      frame = JSON.parse(raw) as typeof frame;
      if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) throw 0;
    } catch {
      return this.fail('A frame that is not a JSON object was ignored.');
    }
    const first = this.first;
    this.first = false;
    if (first && 'session' in frame && !('event' in frame)) return this.session(frame.session);
    if (typeof frame.offset === 'string') this.offset = frame.offset;
    const { event, data, id, ack } = frame;
    if (id !== undefined) {
      if (!this.pending.has(id as number))
        return this.fail(`An answer to no pending request (id ${String(id)}) was ignored.`);
      const exception = event === 'exception' ? (data as { status?: unknown; message?: unknown }) : undefined;
      return this.settle(
        id as number,
        exception === undefined
          ? undefined
          : new RoomsClientError(String(exception?.status ?? 'error'), String(exception?.message ?? '')),
        data,
      );
    }
    if (event === 'exception') {
      const { status, message } = (data ?? {}) as { status?: unknown; message?: unknown };
      return this.emit('error', new RoomsClientError(String(status ?? 'error'), String(message ?? '')));
    }
    if (typeof event !== 'string' || LIFECYCLE.has(event))
      return this.fail('A frame with no usable event was ignored.');
    const listeners = this.listeners.get(event);
    if (listeners === undefined || listeners.length === 0) return this.fail(`No listener for "${event}".`);
    let answer: unknown;
    listeners.slice().forEach((listener, index) => {
      const result = this.call(listener, data);
      if (index === 0) answer = result;
    });
    if (typeof ack === 'number') void this.answer(ack, answer);
  }

  /** The first listener's result answers an `emitWithAck`; one that throws or rejects answers nothing. */
  private async answer(ack: number, result: unknown): Promise<void> {
    try {
      const data = await result;
      if (data !== FAILED) this.ws?.send(JSON.stringify({ ack, data }));
    } catch (error) {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  private call(listener: Listener, data: unknown): unknown {
    try {
      return listener(data);
    } catch (error) {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
      return FAILED;
    }
  }

  private session(session: unknown): void {
    const { id, token, recovered, reason } = (session ?? {}) as Record<string, unknown>;
    if (typeof id !== 'string' || typeof token !== 'string' || typeof recovered !== 'boolean') {
      return this.fail('A session frame with bad fields was ignored.');
    }
    this.id = id;
    this.token = token;
    const resumed = this.recovers;
    this.recovers = true;
    if (resumed) this.emit('open', typeof reason === 'string' ? { recovered, reason } : { recovered });
  }

  private settle(id: number, error: Error | undefined, data?: unknown): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (error === undefined) pending.resolve(data);
    else pending.reject(error);
  }

  private failPending(status: string, message: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id, new RoomsClientError(status, message));
  }

  private fail(message: string): void {
    this.emit('error', new Error(message));
  }

  private emit(event: string, data: unknown): void {
    for (const listener of this.listeners.get(event)?.slice() ?? []) {
      // A throwing 'error' listener is not reported to itself again.
      if (event === 'error') {
        try {
          listener(data);
        } catch {
          // nothing left to tell
        }
      } else this.call(listener, data);
    }
  }
}

/** What a listener that threw returns, so that it answers nothing. */
const FAILED = Symbol('failed');
