import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import { InMemoryBroker, RoomsModule } from '../../lib/index.js';
import type { TestApp } from '../support/app.js';
import { ChatGateway } from '../support/chat.fixture.js';
import { closeAll, TestClient } from '../support/client.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { untilMeshed } from '../support/timing.js';

// A server alone on its in-memory broker subscribes no room channels (nothing could publish to
// them); these are the rooms it made while alone, which the first peer must still reach.
describe('a server that was alone on its in-memory broker', () => {
  const broker = new InMemoryBroker({ requestTimeout: 2000, heartbeatInterval: 100, heartbeatTimeout: 400 });
  @Module({ imports: [RoomsModule.forRoot({ broker })], providers: [ChatGateway] })
  class SharedBrokerModule {}

  let apps: TestApp[];
  let client: TestClient;

  before(async () => {
    apps = await startCluster(1, () => SharedBrokerModule);
    client = await TestClient.connect(apps[0].url('/chat'));
    await client.request('join', { room: ['early', 'brief'] });
    await client.request('leave', { room: 'brief' });
    apps.push(...(await startCluster(1, () => SharedBrokerModule)));
    await untilMeshed(apps);
  });
  after(async () => {
    await closeAll([client]);
    await closeCluster(apps);
  });

  it('is reached in the rooms it had before the peer came', async () => {
    apps[1].rooms.to('early').emit('from-the-newcomer', 1);
    assert.deepEqual(await client.next(), { event: 'from-the-newcomer', data: 1 });
  });

  it('is reached in rooms made afterwards, and not in the room it left while alone', async () => {
    await client.request('join', { room: 'later' });
    apps[1].rooms.to('brief').emit('left-while-alone');
    apps[1].rooms.to('later').emit('later', 2);
    assert.deepEqual(await client.next(), { event: 'later', data: 2 });
  });

  it('counts and lists its rooms for the peer', async () => {
    assert.equal(await apps[1].rooms.in('early').count(), 1);
    const rooms = await apps[1].rooms.allRooms();
    assert.ok(rooms.has('early') && rooms.has('later') && !rooms.has('brief'), [...rooms].join());
  });
});
