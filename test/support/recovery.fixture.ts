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
