import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InMemoryBroker } from '../../lib/index.js';
import type { TestApp } from '../support/app.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { HookRecorder } from '../support/hook-recorder.js';
import { RecoveringClient, recoveryModule } from '../support/recovery.fixture.js';
import { eventually, untilMeshed } from '../support/timing.js';

describe('connection recovery beside other servers', () => {
  let apps: TestApp[];

  before(async () => {
    const broker = new InMemoryBroker({ requestTimeout: 2000, heartbeatInterval: 100, heartbeatTimeout: 400 });
    apps = await startCluster(2, () => recoveryModule({}, broker));
    await untilMeshed(apps);
  });
  after(() => closeCluster(apps));

  it("keeps receiving a waiting session's rooms from the other servers, and replays what they sent", async () => {
    const [a, b] = apps;
    const url = a.url('/recovery');
    const first = await RecoveringClient.connect(url);
    const id = first.session.id;
    await first.until('welcome');
    await first.client.request('join', { room: 'far' });
    first.drop();
    await a.app.get(HookRecorder).wait('handleDisconnect', id);
    // No socket of server A is in the room now, yet its broadcasts from B still reach A for the session.
    assert.equal(a.registrySize().rooms, 0);
    assert.equal(a.recoveryState().heldRooms, 1);
    b.rooms.to('far').emit('from b', 1);
    b.rooms.to(id).emit('to its id', 2);
    b.rooms.to(['far', 'other']).emit('to a list', 3);
    await eventually(async () => a.recoveryState().frames, 3);
    const second = await first.reconnect(url);
    assert.equal(second.session.recovered, true);
    const replayed = [await second.next(), await second.next(), await second.next()];
    assert.deepEqual(
      replayed.map((frame) => [frame.event, frame.data]),
      [
        ['from b', 1],
        ['to its id', 2],
        ['to a list', 3],
      ],
    );
    await second.until('welcome');
    assert.equal(a.recoveryState().heldRooms, 0);
    b.rooms.to('far').emit('live', 4);
    assert.deepEqual((await second.next()).data, 4);
    await second.close();
  });
});
