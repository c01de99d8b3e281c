import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import { RoomsModule, type Broker } from '../../lib/index.js';
import { RoomsEmitter } from '../../lib/emitter/index.js';
import type { TestApp } from './app.js';
import { ChatGateway } from './chat.fixture.js';
import { closeAll, TestClient } from './client.js';
import { closeCluster, startCluster } from './cluster.js';
import { untilMeshed, within } from './timing.js';

function clusterModule(broker: Broker) {
  @Module({ imports: [RoomsModule.forRoot({ broker })], providers: [ChatGateway] })
  class ClusterModule {}
  return ClusterModule;
}

/**
 * What an emitter must do over every broker: each operation reaches the sockets of three servers,
 * and the servers never take it for one of them. `brokerFor(i)` is server i's broker, and
 * `emitterBroker()` the emitter's (the same instance for the in-memory broker, a new one for Redis,
 * as a separate process would have).
 */
export function emitterContract(
  name: string,
  brokerFor: (index: number) => Broker,
  emitterBroker: () => Broker,
  setup?: () => Promise<() => Promise<void>>,
) {
  describe(name, () => {
    let apps: TestApp[];
    let clients: TestClient[];
    let emitter: RoomsEmitter;
    let teardown: (() => Promise<void>) | undefined;
    const peersSeen: string[] = [];

    before(async () => {
      teardown = await setup?.();
      apps = await startCluster(3, (index) => clusterModule(brokerFor(index)));
      await untilMeshed(apps);
      // From here on, no server may learn of a new peer: the emitter is none.
      for (const app of apps) app.cluster().on('peer-up', (peer) => peersSeen.push(peer));
      clients = await Promise.all(apps.map((app) => TestClient.connect(app.url('/chat'))));
      emitter = new RoomsEmitter({ broker: emitterBroker() });
      const [a, b, c] = clients;
      await a.request('join', { room: ['r', 's'] });
      await b.request('join', { room: 'r' });
      await c.request('join', { room: 's' });
    });
    after(async () => {
      await emitter.close();
      await closeAll(clients);
      await closeCluster(apps);
      await teardown?.();
    });

    /** Every client's next frame is a marker sent to all of them by the emitter (so nothing else came before). */
    async function expectOnlyMarker(targets: TestClient[] = clients): Promise<void> {
      await emitter.to(targets.map((client) => client.id)).emit('marker');
      for (const client of targets) assert.deepEqual(await client.next(), { event: 'marker' });
    }

    it('emit reaches the members of a room on every server, once each', async () => {
      const [a, b, c] = clients;
      await emitter.to('r').emit('in r', { n: 1 });
      assert.deepEqual(await a.next(), { event: 'in r', data: { n: 1 } });
      assert.deepEqual(await b.next(), { event: 'in r', data: { n: 1 } });
      await emitter.to('r').to('s').emit('union');
      for (const client of clients) assert.deepEqual(await client.next(), { event: 'union' });
      await expectOnlyMarker([c]);
    });

    it('emit with except, socket ids and no target at all', async () => {
      const [a, b, c] = clients;
      await emitter.to(['r', 's']).except(b.id).emit('not b');
      assert.deepEqual(await a.next(), { event: 'not b' });
      assert.deepEqual(await c.next(), { event: 'not b' });
      await emitter.except('s').emit('not in s');
      assert.deepEqual(await b.next(), { event: 'not in s' });
      await emitter.emit('everyone', [1, 'two']);
      for (const client of clients) assert.deepEqual(await client.next(), { event: 'everyone', data: [1, 'two'] });
      await emitter.in(c.id).emit('only c');
      assert.deepEqual(await c.next(), { event: 'only c' });
      await expectOnlyMarker();
    });

    it('operators are immutable: a kept one is not changed by what is chained on it', async () => {
      const [a, b, c] = clients;
      const inR = emitter.to('r');
      inR.except(a.id);
      inR.to('s');
      await inR.emit('still r');
      assert.deepEqual(await a.next(), { event: 'still r' });
      assert.deepEqual(await b.next(), { event: 'still r' });
      await expectOnlyMarker([c]);
    });

    it('socketsJoin and socketsLeave are applied on every server', async () => {
      const [a, b, c] = clients;
      await emitter.to('s').socketsJoin(['audit', 'log']);
      // The marker travels behind the join on the same channel: once it is here, the join is applied.
      await expectOnlyMarker();
      assert.deepEqual((await a.request('rooms')).data.sort(), [a.id, 'audit', 'log', 'r', 's'].sort());
      assert.deepEqual((await b.request('rooms')).data.sort(), [b.id, 'r'].sort());
      assert.deepEqual((await c.request('rooms')).data.sort(), [c.id, 'audit', 'log', 's'].sort());
      assert.equal(await apps[1].rooms.in('audit').count(), 2);
      await emitter.in('audit').socketsLeave('log');
      await emitter.except(c.id).socketsLeave('audit');
      await expectOnlyMarker();
      assert.deepEqual((await a.request('rooms')).data.sort(), [a.id, 'r', 's'].sort());
      assert.deepEqual((await c.request('rooms')).data.sort(), [c.id, 'audit', 's'].sort());
      assert.equal(await apps[0].rooms.in('log').count(), 0);
    });

    it('serverSideEmit reaches the handlers of every server with the arguments as sent', async () => {
      const received = apps.map(
        (app) =>
          new Promise<unknown[]>((resolve) => {
            const off = app.serverEvents().on('cache cleared', (...args) => {
              off();
              resolve(args);
            });
          }),
      );
      await emitter.serverSideEmit('cache cleared', 'key:1', { deep: [null, true] });
      for (const args of await Promise.all(received)) assert.deepEqual(args, ['key:1', { deep: [null, true] }]);
    });

    it('the servers never count the emitter, never wait for it in requests and send it nothing', async () => {
      for (const app of apps) assert.equal(app.cluster().peerIds.length, 2);
      assert.deepEqual(peersSeen, [], 'no server took the emitter for a peer');
      const everyId = apps.map((app) => app.cluster().id);
      for (const app of apps) {
        for (const peer of app.cluster().peerIds) assert.ok(everyId.includes(peer), `${peer} is a server`);
      }
      // With the emitter counted, these would wait for an answer that never comes.
      const sockets = await within(apps[0].rooms.fetchSockets(), 1500, 'fetchSockets');
      assert.equal(sockets.length, 3);
      assert.equal(await within(apps[2].rooms.in('r').count(), 1500, 'count'), 2);
    });

    it('disconnectSockets closes the selected sockets on every server (a close frame, or cut)', async () => {
      const [a, b, c] = clients;
      await emitter.to(c.id).disconnectSockets();
      assert.equal((await c.closed).code, 1000);
      assert.equal((await apps[2].app.get(ChatGateway).disconnected(c.id)).reason, 'server disconnect');
      await emitter.to('r').except(a.id).disconnectSockets(true);
      assert.equal((await b.closed).code, 1006);
      await expectOnlyMarker([a]);
    });
  });
}
