import { once } from 'node:events';
import type { Socket } from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';

export interface Frame {
  event?: string;
  data?: any;
  id?: string | number;
  ack?: number;
}

const WAIT_MS = 3000;

/**
 * A real `ws` client that queues what it receives, so a test can await frames in order. Nothing
 * is ever skipped: `next()` returns exactly the next frame, which keeps ordering bugs visible.
 */
export class TestClient {
  private readonly frames: Frame[] = [];
  private readonly waiters: Array<(frame: Frame) => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** The socket id the test gateway announced on connect (when it does). */
  id = '';

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw, isBinary) => {
      const frame = JSON.parse(isBinary ? '{}' : raw.toString()) as Frame;
      const waiter = this.waiters.shift();
      if (waiter) waiter(frame);
      else this.frames.push(frame);
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** Opens a connection; with `welcome`, waits for the gateway's `welcome` frame and keeps the id. */
  static async connect(url: string, options: ClientOptions & { welcome?: boolean } = {}): Promise<TestClient> {
    const { welcome = true, ...wsOptions } = options;
    const ws = new WebSocket(url, wsOptions);
    const client = new TestClient(ws);
    await once(ws, 'open');
    if (welcome) {
      let frame = await client.next();
      // A server with connection recovery on says the session first.
      if ('session' in frame && frame.event === undefined) frame = await client.next();
      if (frame.event !== 'welcome') throw new Error(`expected welcome, got ${JSON.stringify(frame)}`);
      client.id = frame.data.id;
    }
    return client;
  }

  send(frame: Frame | string | Buffer, options?: { binary?: boolean }): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame), options ?? {});
  }

  /** Sends `{event, data, id}` and returns the next frame (the reply, when the server answers). */
  async request(event: string, data?: unknown, id?: string | number): Promise<Frame> {
    this.send(id === undefined ? { event, data } : { event, data, id });
    return this.next();
  }

  next(timeoutMs = WAIT_MS): Promise<Frame> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (frame: Frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.waiters.push(waiter);
    });
  }

  /** The TCP socket under the connection (ws keeps it unexported), to pause reading or count bytes. */
  get tcp(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }

  /** Frames received and not yet read. */
  get pending(): readonly Frame[] {
    return this.frames;
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }
}

export async function closeAll(clients: TestClient[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close()));
}
