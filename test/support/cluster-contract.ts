import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import { RoomsError, RoomsModule, type Broker } from '../../lib/index.js';
import type { TestApp } from './app.js';
import { ChatGateway } from './chat.fixture.js';
import { closeAll, TestClient } from './client.js';
import { closeCluster, nodeIdOf, startCluster } from './cluster.js';
import { untilGone, untilMeshed } from './timing.js';

function clusterModule(broker: Broker) {
  @Module({ imports: [RoomsModule.forRoot({ broker })], providers: [ChatGateway] })
  class ClusterModule {}
  return ClusterModule;
}

/**
 * What every broker must give: the whole contract across three servers. `brokerFor(i)` is the
 * broker of server i (one shared instance, or one per server as separate processes would have).
 */
export function clusterContract(
  name: string,
  brokerFor: (index: number) => Broker,
  setup?: () => Promise<() => Promise<void>>,
) {
  describe(name, () => {
    let apps: TestApp[];
    let clients: TestClient[];
    let teardown: (() => Promise<void>) | undefined;

    before(async () => {
      teardown = await setup?.();
      apps = await startCluster(3, (index) => clusterModule(brokerFor(index)));
      await untilMeshed(apps);
      clients = await Promise.all(apps.map((app) => TestClient.connect(app.url('/chat'))));
    });
    after(async () => {
      await closeAll(clients);
      await closeCluster(apps);
      await teardown?.();
    });

    it('delivers a room broadcast from any server to members on every server, once each', async () => {
      const [a, b, c] = clients;
      await a.request('join', { room: ['r', 's'] });
      await b.request('join', { room: 'r' });
      await c.request('join', { room: 's' });
      apps[2].rooms.to('r').to('s').emit('union', 1);
      for (const client of clients) assert.deepEqual(await client.next(), { event: 'union', data: 1 });
      apps[1].rooms.to('r').emit('one-room', 2);
      assert.deepEqual(await a.next(), { event: 'one-room', data: 2 });
      assert.deepEqual(await b.next(), { event: 'one-room', data: 2 });
      // c is not in r: the next thing it gets is the marker.
      apps[0].rooms.to(c.id).emit('marker');
      assert.deepEqual(await c.next(), { event: 'marker' });
    });

    it('applies except rooms and socket ids on every server', async () => {
      const [a, b, c] = clients;
      apps[0].rooms.to(['r', 's']).except(b.id).emit('not-b');
      assert.deepEqual(await a.next(), { event: 'not-b' });
      assert.deepEqual(await c.next(), { event: 'not-b' });
      apps[0].rooms.except('s').emit('not-s');
      assert.deepEqual(await b.next(), { event: 'not-s' });
      apps[1].rooms.to([a.id, c.id]).emit('marker');
      assert.deepEqual(await a.next(), { event: 'marker' });
      assert.deepEqual(await c.next(), { event: 'marker' });
    });

    it('socket.to() from one server excludes the sender everywhere', async () => {
      const [a, b, c] = clients;
      a.send({ event: 'say', data: { room: 'r', text: 'hi' } });
      assert.deepEqual(await b.next(), { event: 'said', data: { room: 'r', text: 'hi' } });
      apps[2].rooms.to([a.id, c.id]).emit('marker');
      assert.deepEqual(await a.next(), { event: 'marker' });
      assert.deepEqual(await c.next(), { event: 'marker' });
    });

    it('keeps local broadcasts on their server', async () => {
      const [a, b] = clients;
      apps[0].rooms.local.to('r').emit('local-only');
      assert.deepEqual(await a.next(), { event: 'local-only' });
      apps[0].rooms.to(b.id).emit('marker');
      assert.deepEqual(await b.next(), { event: 'marker' });
    });

    it('counts, fetches and lists rooms across the cluster', async () => {
      const [a, b, c] = clients;
      assert.equal(await apps[0].rooms.in('r').count(), 2);
      assert.equal(await apps[0].rooms.count(), 3);
      assert.equal(await apps[0].rooms.local.count(), 1);
      const sockets = await apps[2].rooms.in('s').fetchSockets();
      assert.deepEqual(sockets.map((socket) => socket.id).sort(), [a.id, c.id].sort());
      const remoteA = sockets.find((socket) => socket.id === a.id)!;
      assert.deepEqual([...remoteA.rooms].sort(), [a.id, 'r', 's'].sort());
      assert.equal(remoteA.handshake.url, '/chat');
      const rooms = await apps[1].rooms.allRooms();
      assert.deepEqual([...rooms].sort(), ['r', 's']);
      assert.ok(!rooms.has(b.id));
    });

    it('collects acks from every server', async () => {
      const [a, b, c] = clients;
      const answers = apps[1].rooms.to(['r', 's']).emitWithAck('question', 'q');
      for (const client of [a, b, c]) {
        const frame = await client.next();
        assert.equal(frame.event, 'question');
        client.send({ ack: frame.ack, data: `${client.id}:yes` } as never);
      }
      assert.deepEqual((await answers).sort(), [a, b, c].map((client) => `${client.id}:yes`).sort());
    });

    it('rejects with the partial answers when a remote socket does not answer in time', async () => {
      const [a, b] = clients;
      const pending = apps[2].rooms.to('r').timeout(300).emitWithAck('slow');
      const frameA = await a.next();
      a.send({ ack: frameA.ack, data: 'a' } as never);
      assert.equal((await b.next()).event, 'slow');
      await assert.rejects(pending, (error: RoomsError) => {
        assert.ok(error instanceof RoomsError);
        assert.deepEqual(error.responses, ['a']);
        return true;
      });
    });

    it('joins, leaves and disconnects sockets on other servers, and RemoteSocket acts on the real one', async () => {
      const [a, b, c] = clients;
      await apps[0].rooms.in(b.id).socketsJoin('t');
      assert.deepEqual((await b.request('rooms')).data.sort(), [b.id, 'r', 't'].sort());
      const [remoteC] = await apps[0].rooms.in(c.id).fetchSockets();
      await remoteC.join('t');
      apps[0].rooms.to('t').emit('in-t');
      assert.deepEqual(await b.next(), { event: 'in-t' });
      assert.deepEqual(await c.next(), { event: 'in-t' });
      await apps[1].rooms.in('t').socketsLeave('t');
      assert.equal(await apps[0].rooms.in('t').count(), 0);
      await remoteC.emit('direct', 1);
      assert.deepEqual(await c.next(), { event: 'direct', data: 1 });
      apps[0].rooms.to(a.id).emit('marker');
      assert.deepEqual(await a.next(), { event: 'marker' });
    });

    it('answers serverSideEmitWithAck from every other server, never the sender', async () => {
      const seen: Array<[number, unknown[]]> = [];
      const off = apps.map((app, index) =>
        app.rooms.onServerEvent('ping', (...args) => {
          seen.push([index, args]);
          return `pong from ${index}`;
        }),
      );
      const answers = await apps[0].rooms.serverSideEmitWithAck('ping', 1, { two: 2 });
      assert.deepEqual(answers.sort(), ['pong from 1', 'pong from 2']);
      assert.deepEqual(seen.sort(), [
        [1, [1, { two: 2 }]],
        [2, [1, { two: 2 }]],
      ]);
      for (const unsubscribe of off) unsubscribe();
    });

    it('a server closed gracefully is dropped by the others at once', async () => {
      const extra = (await startCluster(1, () => clusterModule(brokerFor(3))))[0];
      await untilMeshed([...apps, extra]);
      const id = nodeIdOf(extra);
      const gone = untilGone(apps[0], id);
      const started = Date.now();
      await extra.close();
      await gone;
      // heartbeatTimeout is 400 ms: the goodbye makes it much faster than that.
      assert.ok(Date.now() - started < 400, 'dropped before the heartbeat timeout');
      assert.equal(await apps[0].rooms.count(), 3);
    });

    it('disconnects sockets on other servers with disconnectSockets', async () => {
      const [, , c] = clients;
      await apps[0].rooms.in(c.id).disconnectSockets();
      assert.equal((await c.closed).code, 1000);
      const seen = await apps[2].app.get(ChatGateway).disconnected(c.id);
      assert.equal(seen.reason, 'server disconnect');
      clients = clients.slice(0, 2);
    });
  });
}
