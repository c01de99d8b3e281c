/**
 * `RoomsClient` (nestjs-rooms/client) against a real app: requests and their answers, exception
 * frames, timeouts, acks, the queue while away, which close codes bring it back, and recovery.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import {
  reconnectDelay,
  RoomsClient,
  RoomsClientError,
  type RoomsClientOptions,
  type WebSocketConstructor,
} from '../../lib/client/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { ClientGateway, clientModule, next } from '../support/client-app.fixture.js';
import { rejectionOf } from '../support/rejection.js';
import { eventually } from '../support/timing.js';

const WS = WebSocket as unknown as WebSocketConstructor;

function connect(url: string, options: RoomsClientOptions = {}): RoomsClient {
  return new RoomsClient(url, { WebSocket: WS, reconnect: { initialDelay: 10, maxDelay: 50 }, ...options });
}

describe('RoomsClient', () => {
  let app: TestApp;
  let url: string;
  let gateway: ClientGateway;

  before(async () => {
    app = await startApp(clientModule());
    url = app.url('/client');
    gateway = app.app.get(ClientGateway);
  });
  after(() => app.close());

  it('resolves a request with the data of the frame with its id, and rejects on an exception frame', async () => {
    const client = connect(url);
    assert.equal(client.status, 'connecting');
    const [echo, other] = await Promise.all([client.request('echo', { n: 1 }), client.request('echo', 'two')]);
    assert.deepEqual([echo, other], [{ n: 1 }, 'two']);
    assert.equal(client.status, 'open');
    const refusal = await rejectionOf(client.request('fail'), RoomsClientError);
    assert.deepEqual([refusal.status, refusal.message], ['error', 'nope']);
    client.close();
    assert.equal(client.status, 'closed');
  });

  it('rejects a request that gets no answer in time, and one whose connection closes first', async () => {
    const client = connect(url, { timeout: 5000 });
    const late = await rejectionOf(client.request('silent', undefined, { timeout: 50 }), RoomsClientError);
    assert.equal(late.status, 'timeout');
    const id = (await client.request('whoami')) as string;
    const waiting = client.request('silent');
    const closing = next(client, 'close');
    gateway.sockets.get(id)!.terminate();
    assert.equal((await rejectionOf(waiting, RoomsClientError)).status, 'disconnected');
    await closing;
    await next(client, 'open');
    client.close();
    assert.equal((await rejectionOf(client.request('echo'), RoomsClientError)).status, 'closed');
    assert.throws(() => client.send('echo'), { name: 'RoomsClientError' });
  });

  it("answers the server's emitWithAck with what its first listener returns, sync or async", async () => {
    const client = connect(url);
    const errors: Error[] = [];
    client.on('error', (error) => void errors.push(error));
    const off = client.on('question', (data: number) => data * 2);
    assert.deepEqual(await client.request('ask', 21), [42]);
    off();
    const offAsync = client.on('question', async (data: number) => data + 1);
    assert.deepEqual(await client.request('ask', 1), [2]);
    offAsync();
    // A throwing listener answers nothing (the server times out) and is reported, not thrown.
    client.on('question', () => {
      throw new Error('cannot answer');
    });
    assert.equal(await client.request('ask', 1), 'timed out');
    assert.deepEqual(
      errors.map((error) => error.message),
      ['cannot answer'],
    );
    client.close();
  });

  it('queues send and request while not open and sends them in order once open; past queueLimit they throw and reject', async () => {
    const client = connect(url, { queueLimit: 3 });
    client.send('join', { room: 'queued' });
    const echoed = client.request('echo', 'after the join');
    const third = client.request('echo', 'third');
    assert.throws(
      () => client.send('echo', 'fourth'),
      (error: RoomsClientError) => error.status === 'queue full',
    );
    assert.equal((await rejectionOf(client.request('echo', 'fifth'), RoomsClientError)).status, 'queue full');
    assert.deepEqual([await echoed, await third], ['after the join', 'third']);
    const said = new Promise((resolve) => client.on('said', resolve));
    app.rooms.to('queued').emit('said', 'to the room');
    assert.equal(await said, 'to the room');
    client.close();
  });

  it('comes back after an abnormal close, 1001 and 1013, and stays closed after 1000, 1008 and 4xxx', async () => {
    for (const code of [1001, 1013]) {
      const client = connect(url);
      await next(client, 'open');
      const closed = next(client, 'close');
      const reconnecting = next(client, 'reconnecting');
      client.send('close-with', code);
      assert.equal((await closed).code, code);
      assert.equal((await reconnecting).attempt, 1);
      assert.equal(client.status, 'reconnecting');
      await next(client, 'open');
      assert.equal(client.status, 'open');
      client.close();
    }
    for (const code of [1000, 1008, 4001]) {
      const client = connect(url);
      await next(client, 'open');
      let reconnected = false;
      client.on('reconnecting', () => void (reconnected = true));
      const closed = next(client, 'close');
      client.send('close-with', code);
      assert.equal((await closed).code, code);
      assert.equal(client.status, 'closed');
      assert.equal(reconnected, false, `no reconnect after ${code}`);
    }
  });

  it('waits the contract delays between reconnects in a row, and a connection that opens starts them again', async () => {
    // The arithmetic, with the random part given.
    const options = { initialDelay: 500, maxDelay: 10_000, factor: 2, jitter: 0.5 };
    assert.deepEqual(
      [1, 2, 3, 6, 7].map((n) => reconnectDelay(n, options, 0)),
      [500, 1000, 2000, 10_000, 10_000],
    );
    assert.equal(reconnectDelay(2, options, 0.5), 750);
    assert.equal(reconnectDelay(1, {}, 0.999), 500 * (1 - 0.5 * 0.999));
    // The reconnects themselves are real: to a port where nobody listens, then to the app.
    const spare = createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    const { port } = spare.address() as AddressInfo;
    await new Promise((resolve) => spare.close(resolve));
    const client = connect(`ws://127.0.0.1:${port}/client`, {
      reconnect: { initialDelay: 5, factor: 2, maxDelay: 20, jitter: 0 },
    });
    const waits: { attempt: number; delay: number }[] = [];
    client.on('reconnecting', (wait) => void waits.push(wait));
    await eventually(async () => waits.length >= 4, true);
    client.close();
    assert.deepEqual(waits.slice(0, 4), [
      { attempt: 1, delay: 5 },
      { attempt: 2, delay: 10 },
      { attempt: 3, delay: 20 },
      { attempt: 4, delay: 20 },
    ]);
    const back = connect(url, { reconnect: { initialDelay: 5, jitter: 0 } });
    await next(back, 'open');
    const id = (await back.request('whoami')) as string;
    const again = next(back, 'reconnecting');
    gateway.sockets.get(id)!.terminate();
    assert.deepEqual(await again, { attempt: 1, delay: 5 });
    back.close();
  });

  it('never throws for what a server sends: bad frames are ignored and reported on error', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    server.on('connection', (socket) => {
      socket.send('{"session":{"id":5,"token":null}}');
      socket.send('not json');
      socket.send('[1,2]');
      socket.send(Buffer.from([1, 2, 3]), { binary: true });
      socket.send('{"event":"nobody listens","data":1}');
      socket.send('{"event":"echoed","data":1,"id":99}');
      socket.send('{"event":"exception","data":{"status":"error","message":"bad"}}');
      socket.send('{"event":"fine","data":"still here"}');
    });
    const client = connect(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const errors: string[] = [];
    client.on('error', (error) => void errors.push(error.message));
    const fine = await new Promise((resolve) => client.on('fine', resolve));
    assert.equal(fine, 'still here');
    assert.equal(errors.length, 7, errors.join(' | '));
    assert.equal(client.id, undefined);
    client.close();
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('RoomsClient with recovery on the server', () => {
  let app: TestApp;

  before(async () => {
    app = await startApp(clientModule({ recovery: true }));
  });
  after(() => app.close());

  it('resumes its session after its TCP connection is cut: every frame exactly once, in order, recovered: true', async () => {
    const client = connect(app.url('/client'));
    await next(client, 'open');
    await client.request('join', { room: 'flow' });
    const id = client.id!;
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    const ticks: number[] = [];
    client.on('tick', (n: number) => void ticks.push(n));
    let sent = 0;
    const timer = setInterval(() => app.rooms.to('flow').emit('tick', sent++), 1);
    await eventually(async () => ticks.length > 20, true);
    const resumed = next(client, 'open');
    // Cut from the server's side, without a close frame.
    (app.socket(id) as unknown as { _socket: { destroy(): void } })._socket.destroy();
    assert.deepEqual(await resumed, { recovered: true });
    assert.equal(client.id, id);
    const target = sent + 20;
    await eventually(async () => ticks.at(-1)! >= target, true);
    clearInterval(timer);
    assert.deepEqual(
      ticks,
      ticks.map((_, index) => index),
      'every tick exactly once, in order',
    );
    client.close();
  });
});
