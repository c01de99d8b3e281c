import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, type TestApp } from '../support/app.js';
import { LeakGateway, LeakModule } from '../support/adapter.fixture.js';
import { TestClient } from '../support/client.js';

const CYCLES = 1000;
const CONCURRENCY = 50;

describe('no leaks across connection cycles', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(LeakModule);
  });
  after(() => app.close());

  it('leaves no room and no socket behind after 1000 connect / join 3 rooms / disconnect cycles', async () => {
    const gateway = app.app.get(LeakGateway);
    const allDisconnected = gateway.reach(CYCLES);
    let peakRooms = 0;
    let started = 0;

    const cycle = async (n: number): Promise<void> => {
      const client = await TestClient.connect(app.url('/leak'));
      // One room shared by all, one shared by a few, one of its own.
      const rooms = ['leak:all', `leak:group:${n % 10}`, `leak:own:${n}`];
      assert.deepEqual(await client.request('join', { rooms }), { event: 'joined', data: rooms });
      peakRooms = Math.max(peakRooms, app.registrySize().rooms);
      await client.close();
    };
    const worker = async (): Promise<void> => {
      while (started < CYCLES) await cycle(started++);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    // Every socket has been through @OnDisconnect on the server.
    await allDisconnected;
    assert.equal(gateway.disconnects, CYCLES);
    // The sockets really were in their rooms while connected.
    assert.ok(peakRooms > 3, `peak registry rooms ${peakRooms}`);

    assert.equal(await app.rooms.count(), 0);
    assert.equal((await app.rooms.allRooms()).size, 0);
    assert.deepEqual(app.registrySize(), { rooms: 0, sockets: 0 });
  });
});
