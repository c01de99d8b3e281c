import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import { InMemoryBroker, RoomsModule, type BrokerConnection } from '../../lib/index.js';
import { RoomsEmitter } from '../../lib/emitter/index.js';
import type { TestApp } from '../support/app.js';
import { ChatGateway } from '../support/chat.fixture.js';
import { TestClient } from '../support/client.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { emitterContract } from '../support/emitter-contract.js';
import { untilMeshed } from '../support/timing.js';

let shared: InMemoryBroker;

emitterContract(
  'an emitter on the in-memory broker three servers share',
  (index) => {
    if (index === 0) shared = new InMemoryBroker();
    return shared;
  },
  () => shared,
);

describe('an emitter refuses what it cannot send, at once', () => {
  let broker: InMemoryBroker;
  let apps: TestApp[];
  let client: TestClient;
  let emitter: RoomsEmitter;

  before(async () => {
    broker = new InMemoryBroker();
    @Module({ imports: [RoomsModule.forRoot({ broker })], providers: [ChatGateway] })
    class ServerModule {}
    apps = await startCluster(1, () => ServerModule);
    client = await TestClient.connect(apps[0].url('/chat'));
    emitter = new RoomsEmitter({ broker });
  });
  after(async () => {
    await emitter.close();
    await client.close();
    await closeCluster(apps);
  });

  it('throws a TypeError for bad events, payloads, rooms and callbacks, and publishes nothing', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const refusals: Array<[() => unknown, RegExp]> = [
      [() => emitter.emit('cyclic', circular), /payload of "cyclic" cannot be serialised/],
      [() => emitter.to(client.id).emit('big', 10n), /cannot be serialised/],
      [() => emitter.emit(''), /event name must be a non-empty string/],
      [() => emitter.emit(42 as never), /event name must be a non-empty string/],
      [() => emitter.to(''), /Target rooms must be non-empty strings/],
      [() => emitter.except([client.id, 7 as never]), /Target rooms must be non-empty strings/],
      [() => emitter.to(client.id).socketsJoin(['ok', '']), /Rooms to join or leave must be non-empty strings/],
      [() => emitter.socketsLeave(null as never), /Rooms to join or leave/],
      [() => emitter.serverSideEmit('x', circular), /payload of "x" cannot be serialised/],
      [() => emitter.serverSideEmit('x', 1, () => undefined), /takes no callback/],
      [() => emitter.serverSideEmit(''), /event name must be a non-empty string/],
    ];
    for (const [act, message] of refusals)
      assert.throws(act, (error: Error) => error instanceof TypeError && message.test(error.message));
    await emitter.to(client.id).emit('marker');
    assert.deepEqual(await client.next(), { event: 'marker' });
    assert.deepEqual((await client.request('rooms')).data, [client.id]);
  });

  it('reaches a room of a server that was alone on its broker until the emitter came', async () => {
    const alone = new InMemoryBroker();
    @Module({ imports: [RoomsModule.forRoot({ broker: alone })], providers: [ChatGateway] })
    class AloneModule {}
    const [app] = await startCluster(1, () => AloneModule);
    const member = await TestClient.connect(app!.url('/chat'));
    await member.request('join', { room: 'jobs' });
    const late = new RoomsEmitter({ broker: alone });
    await late.to('jobs').emit('done', 1);
    assert.deepEqual(await member.next(), { event: 'done', data: 1 });
    await late.close();
    await member.close();
    await app!.close();
  });

  it('a closed emitter throws, after what it had taken was published', async () => {
    const last = new RoomsEmitter({ broker });
    const sent = last.to(client.id).emit('before close');
    await last.close();
    await sent;
    assert.deepEqual(await client.next(), { event: 'before close' });
    assert.throws(() => last.emit('after close'), /The emitter is closed/);
    await last.close();
  });
});

describe('what servers do with malformed emitter messages', () => {
  let broker: InMemoryBroker;
  let apps: TestApp[];
  let clients: TestClient[];
  let raw: BrokerConnection;

  before(async () => {
    broker = new InMemoryBroker({ requestTimeout: 30_000, heartbeatTimeout: 60_000 });
    @Module({ imports: [RoomsModule.forRoot({ broker })], providers: [ChatGateway] })
    class ServerModule {}
    apps = await startCluster(2, () => ServerModule);
    await untilMeshed(apps);
    clients = await Promise.all(apps.map((app) => TestClient.connect(app.url('/chat'))));
    raw = broker.connect({ message: () => undefined, status: () => undefined, peersPossible: () => undefined });
  });
  after(async () => {
    await raw.close();
    await Promise.all(clients.map((client) => client.close()));
    await closeCluster(apps);
  });

  it('ignores each one, sends no socket anything, and goes on with the next good one', async () => {
    const [a, b] = clients;
    const room = JSON.stringify([a.id, b.id]);
    const bad = [
      'null',
      '[1]',
      'not json',
      '{"n":3,"t":"b"}',
      `{"t":"b","r":${room}}`,
      `{"t":"b","r":${room}}\nnot json`,
      `{"t":"b","r":${room}}\n"just a string"`,
      `{"t":"b","r":${room}}\n{"data":1}`,
      `{"t":"b","r":${room}}\n{"event":"asks","ack":1}`,
      `{"t":"b","r":"a room"}\n{"event":"x"}`,
      `{"t":"b","x":[""]}\n{"event":"x"}`,
      `{"t":"req","k":"fetch","r":${room}}`,
      `{"t":"req","k":"join","a":"lobby","r":${room}}`,
      `{"t":"req","k":"join","a":["${'x'.repeat(300)}"],"r":${room}}`,
      `{"t":"req","k":"disconnect","a":"yes","r":${room}}`,
      '{"t":"sse","e":""}',
      '{"t":"sse","e":"x","a":{}}',
      '{"t":"hb"}',
      '{"t":"res","q":1}',
    ];
    for (const message of bad) await raw.publish('all', Buffer.from(message));
    // Invalid UTF-8 in a payload: it would reach the sockets as a text frame no client accepts.
    await raw.publish(
      'all',
      Buffer.concat([Buffer.from(`{"t":"b","r":${room}}\n{"event":"`), Buffer.from([0xff]), Buffer.from('"}')]),
    );
    await raw.publish('all', Buffer.from(`{"t":"b","r":${room}}\n{"event":"good","data":1}`));
    for (const client of clients) assert.deepEqual(await client.next(), { event: 'good', data: 1 });
    for (const client of clients) assert.deepEqual((await client.request('rooms')).data, [client.id]);
    for (const app of apps) assert.equal(app.cluster().peerIds.length, 1);
    assert.equal(await apps[0].rooms.count(), 2);
  });

  it('fills in what a hand-written message leaves out: no target is every socket', async () => {
    await raw.publish('all', Buffer.from('{"t":"b"}\n{"event":"to all"}'));
    for (const client of clients) assert.deepEqual(await client.next(), { event: 'to all' });
  });
});
