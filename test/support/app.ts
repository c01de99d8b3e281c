import 'reflect-metadata';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RoomsAdapter, RoomService, type RoomsAdapterOptions, type RoomSocket } from '../../lib/index.js';
import type { ClusterNode } from '../../lib/cluster/cluster-node.js';
import type { ServerEvents } from '../../lib/cluster/server-events.js';
import type { RoomRegistry } from '../../lib/registry/room-registry.js';
import { RoomsServer } from '../../lib/rooms.server.js';

/*
 * Tests reach the library's insides only through this file (the TestApp accessors and
 * `clusterOf`), so that moving a module of lib/ changes the tests in one place.
 */

export interface TestApp {
  app: INestApplication;
  rooms: RoomService;
  /** `ws://127.0.0.1:<port><path>` of the app's HTTP server. */
  url(path?: string): string;
  port: number;
  /** The server side of a connected client. */
  socket(id: string): RoomSocket;
  /** The server side of a client, or undefined once the server has let go of it. */
  findSocket(id: string): RoomSocket | undefined;
  /** The `emitWithAck` entries the server side of a client holds, by ack id; undefined when none. */
  pendingAcks(id: string): ReadonlyMap<number, unknown> | undefined;
  /** This app's registry counters, for leak checks. */
  registrySize(): { rooms: number; sockets: number };
  /** This app's room registry itself, for tests that compare it with a model. */
  registry(): RoomRegistry<RoomSocket>;
  /** This app's server of the cluster (its node id, its peers, its broker status events). */
  cluster(): ClusterNode;
  /** The handlers of server-side events (`serverSideEmit`) on this app. */
  serverEvents(): ServerEvents;
  /** What connection recovery holds on this app (all 0 / false when it is off): for leak checks. */
  recoveryState(): {
    waiting: number;
    frames: number;
    bytes: number;
    expiring: boolean;
    heldRooms: number;
    carried: number;
  };
  close(): Promise<void>;
}

/** Boots a Nest app on 127.0.0.1, port 0, with the rooms adapter. */
export async function startApp(module: Type, adapterOptions: RoomsAdapterOptions = {}): Promise<TestApp> {
  const app = await NestFactory.create(module, { logger: false });
  return listenWith(app, new RoomsAdapter(app, adapterOptions));
}

/** Makes `adapter` the app's WebSocket adapter and listens on 127.0.0.1, port 0. */
export async function listenWith(app: INestApplication, adapter: RoomsAdapter): Promise<TestApp> {
  app.useWebSocketAdapter(adapter);
  await app.listen(0, '127.0.0.1');
  return testAppOf(app);
}

/** The TestApp of an app that already listens (one built by other code than `listenWith`). */
export function testAppOf(app: INestApplication): TestApp {
  const { port } = app.getHttpServer().address() as { port: number };
  const server = app.get(RoomsServer);
  return {
    app,
    rooms: app.get(RoomService),
    port,
    url: (path = '/') => `ws://127.0.0.1:${port}${path}`,
    socket: (id) => {
      const socket = server.registry.getMember(id);
      if (socket === undefined) throw new Error(`no socket ${id} on this app`);
      return socket;
    },
    findSocket: (id) => server.registry.getMember(id),
    pendingAcks(id) {
      return this.socket(id).pendingAcks;
    },
    registrySize: () => ({ rooms: server.registry.roomCount, sockets: server.registry.memberCount }),
    registry: () => server.registry,
    cluster: () => server.cluster,
    serverEvents: () => server.serverEvents,
    recoveryState: () => {
      const recovery = server.recovery;
      if (recovery === undefined) return { waiting: 0, frames: 0, bytes: 0, expiring: false, heldRooms: 0, carried: 0 };
      return {
        waiting: recovery.waitingCount,
        frames: recovery.frames.size,
        bytes: recovery.frames.bytes,
        expiring: recovery.expiring,
        heldRooms: recovery.heldRoomCount,
        carried: recovery.carried,
      };
    },
    close: () => app.close(),
  };
}

/** The server of the cluster of a Nest app, for code that runs an app without a TestApp (child processes). */
export function clusterOf(app: INestApplication): ClusterNode {
  return app.get(RoomsServer).cluster;
}

export { freePort } from './free-port.js';
