import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ClientRequest, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { normalizePath, UpgradeRouter, type Admission } from '../../lib/adapter/upgrade-router.js';
import type { RoomSocket } from '../../lib/index.js';

/*
 * Path routing of WebSocket upgrades (lib/adapter/upgrade-router.ts) on a real HTTP server with
 * real `ws` clients: each path's upgrades reach its WebSocket server only, an unknown path gets
 * 404, a request target that is no URL gets 400, and admission can refuse or hand data on.
 */

describe('normalizePath', () => {
  it('gives every spelling of a path one form: a leading slash, no trailing one, no doubled ones', () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, '/'],
      ['', '/'],
      ['/', '/'],
      ['//', '/'],
      ['chat', '/chat'],
      ['/chat', '/chat'],
      ['/chat/', '/chat'],
      ['chat/', '/chat'],
      ['//chat//room//', '/chat/room'],
      ['/a/b', '/a/b'],
    ];
    assert.deepEqual(
      cases.map(([path]) => [path, normalizePath(path)]),
      cases,
    );
  });
});

/** The first response line to a raw HTTP upgrade request for `target`, sent as is. */
async function rawUpgradeStatus(port: number, target: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  await once(socket, 'close');
  return text.split('\r\n')[0];
}

/** Admits every upgrade, with no data of its own. */
const admitAll: Admission = async () => ({ data: {} });

/** The HTTP status a `ws` client gets when its upgrade is refused. */
async function refusedStatus(url: string): Promise<number> {
  const client = new WebSocket(url);
  const [request, response] = (await once(client, 'unexpected-response')) as [ClientRequest, IncomingMessage];
  request.destroy();
  return response.statusCode!;
}

describe('UpgradeRouter', () => {
  let http: Server;
  let port: number;
  let router: UpgradeRouter;
  /** What admission answers, for the test running now. */
  let admission = admitAll;
  const servers: WebSocketServer[] = [];

  /** A WebSocket server without a server of its own, that names itself to each client it gets. */
  function wsServer(name: string): WebSocketServer {
    const server = new WebSocketServer({ noServer: true });
    server.on('connection', (socket: RoomSocket) => socket.send(JSON.stringify({ name, data: socket.data })));
    servers.push(server);
    return server;
  }

  /** Connects to `path` and resolves with the first message: which server took it, and its data. */
  async function reach(path: string): Promise<{ name: string; data: unknown }> {
    const client = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    const [message] = (await once(client, 'message')) as [Buffer];
    client.terminate();
    return JSON.parse(message.toString()) as { name: string; data: unknown };
  }

  before(async () => {
    http = createServer((_request, response) => response.end('plain http'));
    // No upgrade deadline: connections that never upgrade are another test's subject.
    router = new UpgradeRouter(http, (request, socket) => admission(request, socket), {
      upgradeTimeout: Infinity,
      shared: true,
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    port = (http.address() as { port: number }).port;
  });
  afterEach(() => {
    admission = admitAll;
  });
  after(async () => {
    for (const server of servers) for (const client of server.clients) client.terminate();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });

  it('hands each upgrade to the WebSocket server of its path, whatever way the path is spelled', async () => {
    router.add('chat', wsServer('chat'));
    router.add('/news/', wsServer('news'));
    router.add(undefined, wsServer('root'));
    assert.equal((await reach('/chat')).name, 'chat');
    assert.equal((await reach('/chat/')).name, 'chat');
    assert.equal((await reach('/news')).name, 'news');
    assert.equal((await reach('/news/?x=/chat')).name, 'news');
    // A request target starting with `//` is still a path, not a host.
    assert.equal((await reach('//chat')).name, 'chat');
    assert.equal((await reach('//news//?x=1')).name, 'news');
    assert.equal((await reach('/')).name, 'root');
    assert.equal((await reach('/?q=1')).name, 'root');
  });

  it('answers an upgrade on an unknown path with 404, without asking admission', async () => {
    let asked = 0;
    admission = async () => {
      asked++;
      return { data: {} };
    };
    assert.equal(await refusedStatus(`ws://127.0.0.1:${port}/nowhere`), 404);
    assert.equal(await refusedStatus(`ws://127.0.0.1:${port}/chat/more`), 404);
    assert.equal(asked, 0);
  });

  it('answers a request target that is no URL with 400 and keeps routing the others', async () => {
    assert.equal(await rawUpgradeStatus(port, 'http://['), 'HTTP/1.1 400 Bad Request');
    assert.equal(await rawUpgradeStatus(port, '/nowhere'), 'HTTP/1.1 404 Not Found');
    assert.equal((await reach('/chat')).name, 'chat');
  });

  it('refuses with the status line admission gives, and hands the data it gives to the socket', async () => {
    admission = async (request) =>
      request.url === '/chat?deny' ? { refuse: '401 Unauthorized' } : { data: { user: 'ada' } };
    assert.equal(await refusedStatus(`ws://127.0.0.1:${port}/chat?deny`), 401);
    assert.deepEqual(await reach('/chat?ok'), { name: 'chat', data: { user: 'ada' } });
  });

  it('a path removed or re-added goes where the routes now say', async () => {
    const extra = wsServer('extra');
    router.add('/extra', extra);
    assert.equal((await reach('/extra')).name, 'extra');
    router.remove(extra);
    assert.equal(await refusedStatus(`ws://127.0.0.1:${port}/extra`), 404);
    router.add('/chat', wsServer('chat-2'));
    assert.equal((await reach('/chat')).name, 'chat-2', 'the later server of a path wins');
  });

  it('once detached, it no longer answers upgrades; plain HTTP is never its business', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/chat`);
    assert.equal(await response.text(), 'plain http');
    router.detach();
    assert.equal(http.listenerCount('upgrade'), 0);
  });
});
