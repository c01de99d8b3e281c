/**
 * Recovery churn: 10,000 drop and recover cycles, 20 clients at once, leave no session, timer,
 * held frame or room behind, and every one of them recovers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startApp } from '../support/app.js';
import { HookRecorder } from '../support/hook-recorder.js';
import { RecoveringClient, recoveryModule } from '../support/recovery.fixture.js';
import { eventually } from '../support/timing.js';

describe('connection recovery churn', () => {
  it('leaves no session, timer or held frame behind after 10,000 drop and recover cycles', async () => {
    // Long enough that no session expires while the machine is busy; the last ones expire at the end.
    const app = await startApp(recoveryModule({ maxDisconnection: 2000 }));
    const url = app.url('/recovery');
    const recorder = app.app.get(HookRecorder);
    const CLIENTS = 20;
    const CYCLES = 500;
    /** One client's cycles: a frame, a drop, a frame missed, the recovery, that frame replayed. */
    const churn = async (k: number) => {
      const room = `churn${k}`;
      let client = await RecoveringClient.connect(url);
      const id = client.session.id;
      await client.until('welcome');
      await client.client.request('join', { room });
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        app.rooms.to(room).emit('cycle', cycle);
        assert.equal((await client.next()).data, cycle);
        const gone = recorder.next('handleDisconnect', id);
        client.drop();
        await gone;
        if (cycle % 50 === 0) recorder.clear();
        app.rooms.to(room).emit('missed', cycle);
        const next = await client.reconnect(url);
        assert.equal(next.session.recovered, true);
        assert.deepEqual((await next.next()).data, cycle);
        await next.until('welcome');
        client = next;
      }
      return client;
    };
    const nothing = JSON.stringify({ waiting: 0, frames: 0, bytes: 0, expiring: false, heldRooms: 0, carried: 0 });
    try {
      const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, k) => churn(k)));
      // A close frame from the peer is a drop too: the last sessions wait, then expire.
      await Promise.all(clients.map((client) => client.close()));
      assert.equal(await eventually(async () => JSON.stringify(app.recoveryState()), nothing, 6000), nothing);
      assert.deepEqual(app.registrySize(), { rooms: 0, sockets: 0 });
      const { recoveries } = app.rooms.metrics();
      assert.equal(recoveries.recovered, CLIENTS * CYCLES);
    } finally {
      await app.close();
    }
  });
});
