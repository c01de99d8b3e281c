import { Module, type Type } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import { JoinRoom, RoomsModule, type Broker, type RecoveryOptions, type RoomSocket } from '../../lib/index.js';
import { HookRecorder, RecordingDisconnectHooks } from './hook-recorder.js';
import { TestClient, type Frame } from './client.js';

/**
 * The gateway of the recovery tests. Its `welcome` is written with `socket.send`, so that it is
 * not a recoverable frame and carries no offset: only the test's broadcasts do.
 */
@WebSocketGateway({ path: '/recovery' })
export class RecoveryGateway implements OnGatewayConnection, OnGatewayDisconnect {
  constructor(private readonly recorder: HookRecorder) {}

  handleConnection(socket: RoomSocket): void {
    this.recorder.record('handleConnection', socket);
    const welcome = { id: socket.id, recovered: socket.recovered, rooms: [...socket.rooms], data: socket.data };
    socket.send(JSON.stringify({ event: 'welcome', data: welcome }));
  }

  handleDisconnect(socket: RoomSocket): void {
    this.recorder.record('handleDisconnect', socket);
  }

  @SubscribeMessage('join')
  @JoinRoom((data: { room: string }) => data.room)
  join(@MessageBody() data: { room: string }) {
    return { event: 'joined', data: data.room };
  }

  @SubscribeMessage('remember')
  remember(@MessageBody() data: Record<string, unknown>, @ConnectedSocket() socket: RoomSocket) {
    Object.assign(socket.data, data);
    return { event: 'remembered', data: socket.data };
  }
}

/** An app with that gateway, recording hooks; `recovery` undefined leaves recovery off. */
export function recoveryModule(recovery: RecoveryOptions | undefined, broker?: Broker): Type {
  @Module({
    imports: [RoomsModule.forRoot({ ...(recovery === undefined ? {} : { recovery }), ...(broker ? { broker } : {}) })],
    providers: [HookRecorder, RecordingDisconnectHooks, RecoveryGateway],
  })
  class RecoveryModule {}
  return RecoveryModule;
}

/** The session frame's contents. */
export interface SessionInfo {
  id: string;
  token: string;
  recovered: boolean;
  reason?: string;
}

/** A frame as the recovery tests read it: offsets and session frames included. */
export type RecoveryFrame = Frame & { offset?: string; session?: SessionInfo };

/**
 * A client of a server with recovery on: it reads the session frame first, remembers the last
 * offset it received, and can drop its TCP connection (no close frame) or reconnect with its token.
 */
export class RecoveringClient {
  lastOffset: string | undefined;

  private constructor(
    readonly client: TestClient,
    readonly session: SessionInfo,
  ) {}

  /** Connects; `resume` adds `session` (and `offset`) query parameters as a reconnecting client sends them. */
  static async connect(
    url: string,
    resume?: { token: string; offset?: string | undefined },
    headers?: Record<string, string>,
  ): Promise<RecoveringClient> {
    let target = url;
    if (resume !== undefined) {
      const query = new URLSearchParams({ session: resume.token });
      if (resume.offset !== undefined) query.set('offset', resume.offset);
      target = `${url}?${query}`;
    }
    const client = await TestClient.connect(target, { welcome: false, headers });
    const first = (await client.next()) as RecoveryFrame;
    if (first.session === undefined) throw new Error(`expected a session frame, got ${JSON.stringify(first)}`);
    return new RecoveringClient(client, first.session);
  }

  /** The next frame, remembering its offset. */
  async next(): Promise<RecoveryFrame> {
    const frame = (await this.client.next()) as RecoveryFrame;
    if (frame.offset !== undefined) this.lastOffset = frame.offset;
    return frame;
  }

  /** The next frame with that event, remembering the offsets of those before it; returns the skipped ones too. */
  async until(event: string): Promise<{ frame: RecoveryFrame; before: RecoveryFrame[] }> {
    const before: RecoveryFrame[] = [];
    for (;;) {
      const frame = await this.next();
      if (frame.event === event) return { frame, before };
      before.push(frame);
    }
  }

  /** Cuts the TCP connection: the server sees the transport close, with no close frame. */
  drop(): void {
    this.client.tcp.destroy();
  }

  /** Reconnects with this connection's token and the last offset received. */
  reconnect(url: string): Promise<RecoveringClient> {
    return RecoveringClient.connect(url, { token: this.session.token, offset: this.lastOffset });
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/**
 * A client that comes back by itself, as a real app's client does: whenever its connection
 * closes (a drop, or 1001 from a stopping server) it reconnects, to the URL `next()` picks, with
 * its token and the last offset of the connection that closed. It keeps every frame of every
 * connection, and every session frame.
 */
export class ResumingClient {
  readonly frames: RecoveryFrame[] = [];
  readonly sessions: SessionInfo[] = [];
  private current: RecoveringClient | undefined;
  private stopped = false;
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly next: () => string) {}

  static async connect(next: () => string): Promise<ResumingClient> {
    const client = new ResumingClient(next);
    await client.open(undefined);
    return client;
  }

  get id(): string {
    return this.sessions[0].id;
  }

  /** Whether its current connection is open (not closed, nor on its way back). */
  get connected(): boolean {
    return this.current !== undefined && this.current.client.ws.readyState === this.current.client.ws.OPEN;
  }

  /** The port of the server it is connected to now. */
  get port(): number {
    return this.current === undefined ? 0 : Number(new URL(this.current.client.ws.url).port);
  }

  /** The first frame with that event (received already, or within `timeoutMs`). */
  until(predicate: (frame: RecoveryFrame) => boolean, timeoutMs = 10_000): Promise<RecoveryFrame> {
    const found = this.frames.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`client ${this.id}: no such frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = () => {
        const frame = this.frames.find(predicate);
        if (frame === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(frame);
      };
      this.listeners.add(listener);
    });
  }

  /** Sends a request on the current connection and waits for its reply (by `id`). */
  async request(event: string, data: unknown, id: number): Promise<RecoveryFrame> {
    this.current!.client.send({ event, data, id });
    return this.until((frame) => frame.id === id);
  }

  /** Cuts the current TCP connection (no close frame): it comes back by itself. */
  drop(): void {
    this.current?.drop();
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.current?.close();
  }

  private async open(resume: { token: string; offset: string | undefined } | undefined): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const connection = await RecoveringClient.connect(this.next(), resume);
        this.attach(connection);
        return;
      } catch (error) {
        // A server that stops refuses new upgrades for a moment: another is picked.
        if (attempt === 20 || this.stopped) throw error;
      }
    }
  }

  private attach(connection: RecoveringClient): void {
    this.current = connection;
    this.sessions.push(connection.session);
    // Frames that arrived with the session frame are in the client's queue already.
    for (const frame of (connection.client.pending as RecoveryFrame[]).splice(0)) {
      if (frame.offset !== undefined) connection.lastOffset = frame.offset;
      this.frames.push(frame);
    }
    const { ws } = connection.client;
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as RecoveryFrame;
      if (frame.offset !== undefined) connection.lastOffset = frame.offset;
      this.frames.push(frame);
      for (const listener of [...this.listeners]) listener();
    });
    ws.once('close', () => {
      this.current = undefined;
      if (this.stopped) return;
      void this.open({ token: connection.session.token, offset: connection.lastOffset });
    });
  }
}
