import 'reflect-metadata';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RoomsAdapter, RoomService, type RoomsAdapterOptions, type RoomSocket } from '../../lib/index.js';
import { RoomsServer } from '../../lib/rooms.server.js';

export interface TestApp {
  app: INestApplication;
  rooms: RoomService;
  /** `ws://127.0.0.1:<port><path>` of the app's HTTP server. */
  url(path?: string): string;
  port: number;
  /** The server side of a connected client. */
  socket(id: string): RoomSocket;
  /** This app's registry counters, for leak checks. */
  registrySize(): { rooms: number; sockets: number };
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
    registrySize: () => ({ rooms: server.registry.roomCount, sockets: server.registry.memberCount }),
    close: () => app.close(),
  };
}

/** A port nobody listens on right now, for gateways that listen on their own port. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
