import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { Controller, Get, Injectable, Module, type Type } from '@nestjs/common';
import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import { WebSocket } from 'ws';
import { NestFactory } from '@nestjs/core';
import { RoomsAdapter, RoomsModule, type RoomSocket } from '../../lib/index.js';
import { INVALID_UPGRADE_TIMEOUT } from '../../lib/rooms.messages.js';
import { freePort, startApp } from '../support/app.js';
import { within } from '../support/timing.js';
import { ChatGateway } from '../support/chat.fixture.js';
import { TestClient } from '../support/client.js';

const UPGRADE_TIMEOUT = 300;
/** Generous: the timeout plus a sweep, on a busy machine. A guard against hanging, not a measurement. */
const GUARD = 10_000;

/** HTTP requests the test answers when it chooses. */
@Injectable()
class Held {
  readonly releases: Array<() => void> = [];
  private arrived: (() => void) | undefined;

  hold(): Promise<void> {
    this.arrived?.();
    return new Promise((resolve) => this.releases.push(resolve));
  }

  /** Resolves once a request is held. */
  waitHeld(): Promise<void> {
    if (this.releases.length > 0) return Promise.resolve();
    return new Promise((resolve) => (this.arrived = resolve));
  }
}

@Controller()
class SlowController {
  constructor(private readonly held: Held) {}

  @Get('slow')
  async slow() {
    await this.held.hold();
    return { served: true };
  }
}

/** The chat gateway on the app's server, a gateway on its own `port`, and a slow HTTP route. */
function idleModule(port: number): Type {
  @WebSocketGateway(port, { path: '/own' })
  class OwnGateway implements OnGatewayConnection {
    handleConnection(socket: RoomSocket): void {
      socket.sendEvent('welcome', { id: socket.id });
    }
  }

  @Module({
    imports: [RoomsModule.forRoot()],
    controllers: [SlowController],
    providers: [Held, ChatGateway, OwnGateway],
  })
  class IdleModule {}
  return IdleModule;
}

/** A raw TCP connection, and its `close` (listened to from the start, so that none is missed). */
async function tcp(port: number): Promise<{ socket: Socket; closed: Promise<unknown> }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  // Not `once()`: that rejects on the `error` a reset may report first.
  const closed = new Promise((resolve) => socket.once('close', resolve));
  await once(socket, 'connect');
  return { socket, closed };
}

describe('upgradeTimeout', () => {
  it('closes connections that never upgrade, on the app server and on a gateway port, and leaves HTTP requests alone', async () => {
    const ownPort = await freePort();
    const app = await startApp(idleModule(ownPort), {
      upgradeTimeout: UPGRADE_TIMEOUT,
      authenticate: (request: IncomingMessage) =>
        // `hang` never answers: its upgrade stays unfinished until the timeout closes it.
        request.headers['x-token'] === 'hang' ? new Promise(() => undefined) : {},
    });
    const held = app.app.get(Held);

    // An ordinary HTTP request that takes longer than the timeout, made before anything else.
    const response = fetch(`http://127.0.0.1:${app.port}/slow`);
    await held.waitHeld();

    const silentOnApp = await tcp(app.port);
    const silentOnOwn = await tcp(ownPort);
    const halfRequest = await tcp(app.port);
    halfRequest.socket.write('GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // headers never finished
    const hanging = new WebSocket(app.url('/chat'), { headers: { 'x-token': 'hang' } });
    hanging.on('error', () => undefined); // `socket hang up`, when it is closed
    const hangingClosed = new Promise((resolve) => hanging.once('close', resolve));
    const upgraded = await TestClient.connect(app.url('/chat'));
    const upgradedOwn = await TestClient.connect(`ws://127.0.0.1:${ownPort}/own`);

    await within(silentOnApp.closed, GUARD, 'silent connection to the app server');
    await within(silentOnOwn.closed, GUARD, 'silent connection to the gateway port');
    await within(halfRequest.closed, GUARD, 'unfinished request');
    await within(hangingClosed, GUARD, 'upgrade with authenticate hanging');

    // The slow request's connection is older than all of these and still serves its answer.
    held.releases[0]();
    assert.deepEqual(await (await response).json(), { served: true });
    // Completed upgrades are not affected.
    assert.deepEqual(await upgraded.request('echo', 1), { event: 'echo', data: 1 });
    assert.equal(upgradedOwn.ws.readyState, WebSocket.OPEN);

    await Promise.all([upgraded.close(), upgradedOwn.close()]);
    await app.close();
  });

  it('closes unfinished connections of a gateway port on app.close()', async () => {
    const ownPort = await freePort();
    // A timeout that cannot fire during the test: only app.close() can end the connection.
    const app = await startApp(idleModule(ownPort), { upgradeTimeout: 10 * 60_000 });
    const silent = await tcp(ownPort);
    const closing = app.close();
    await within(silent.closed, GUARD, 'silent connection at app.close()');
    await within(closing, GUARD, 'app.close()');
  });

  it('refuses a timeout that is not a positive number when the adapter is made', async () => {
    const app = await NestFactory.create(idleModule(await freePort()), { logger: false });
    for (const upgradeTimeout of [0, -1, Number.NaN]) {
      assert.throws(() => new RoomsAdapter(app, { upgradeTimeout }), { message: INVALID_UPGRADE_TIMEOUT });
    }
    await app.close();
  });
});
