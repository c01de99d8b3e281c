import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoomsError } from '../../lib/index.js';
import { ROOM_LIMIT } from '../../lib/rooms.messages.js';
import { startApp, type TestApp } from '../support/app.js';
import { ChatModule } from '../support/chat.fixture.js';
import { TestClient, type Frame } from '../support/client.js';

const NAMES = 100_000;
/** CPU (user + system) the whole exchange may use; checking the list used to take seconds. */
const CPU_BUDGET_MS = 200;

/** 100,000 distinct names (about 0.9 MB of JSON: within the default 1 MiB frame). */
const manyNames = Array.from({ length: NAMES }, (_, i) => `r${i}`);

/** CPU milliseconds `work` took in this process (client and server both run here). */
async function cpuOf(work: () => Promise<void>): Promise<number> {
  const start = process.cpuUsage();
  await work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** Nest's exception frame for a refused join (its `cause` echoes the frame's pattern and data). */
function assertRoomLimit(reply: Frame, id: string): void {
  assert.equal(reply.event, 'exception');
  assert.equal(reply.id, id);
  assert.equal(reply.data?.message, ROOM_LIMIT(1000));
}

async function roomsOf(client: TestClient): Promise<string[]> {
  const reply = await client.request('rooms');
  assert.equal(reply.event, 'rooms');
  return reply.data as string[];
}

describe('long join lists cost one pass at most', () => {
  let app: TestApp;
  let client: TestClient;
  before(async () => {
    app = await startApp(ChatModule);
    client = await TestClient.connect(app.url('/chat'));
  });
  after(async () => {
    await client.close();
    await app.close();
  });

  it(`a client's join of ${NAMES} names is refused with the room limit using a few ms of CPU, and joins nothing`, async () => {
    const frame = JSON.stringify({ event: 'join', data: { room: manyNames }, id: 'big' });
    let reply: Frame = {};
    const cpu = await cpuOf(async () => {
      client.send(frame);
      reply = await client.next(10_000);
    });
    assertRoomLimit(reply, 'big');
    assert.ok(cpu < CPU_BUDGET_MS, `the refusal took ${cpu.toFixed(1)} ms of CPU`);
    assert.deepEqual(await roomsOf(client), [client.id]);
  });

  it(`server code's socket.join and socketsJoin of ${NAMES} names are refused as cheaply`, async () => {
    const socket = app.socket(client.id);
    const limit = { name: RoomsError.name, message: ROOM_LIMIT(1000) };
    const cpu = await cpuOf(async () => {
      await assert.rejects(socket.join(manyNames), limit);
      await assert.rejects(app.rooms.in(client.id).socketsJoin(manyNames), limit);
    });
    assert.ok(cpu < CPU_BUDGET_MS, `the refusals took ${cpu.toFixed(1)} ms of CPU`);
    assert.deepEqual([...socket.rooms], [client.id]);
  });

  it('a long list that repeats names still fits when its distinct rooms do, and is joined', async () => {
    // 100,000 entries, 999 distinct rooms: within the limit of 1000, so length alone must not refuse it.
    const repeated = Array.from({ length: NAMES }, (_, i) => `d${i % 999}`);
    const reply = await client.request('join', { room: repeated }, 'rep');
    assert.equal(reply.event, 'joined');
    const rooms = await roomsOf(client);
    assert.equal(rooms.length, 1000);
    assert.deepEqual(new Set(rooms), new Set([client.id, ...repeated]));
    // One room more is past the limit however the list is written.
    const over = await client.request('join', { room: ['d0', 'one-more', 'd1', 'two-more'] }, 'over');
    assertRoomLimit(over, 'over');
    assert.equal((await roomsOf(client)).length, 1000);
    await app.socket(client.id).leave(repeated);
  });
});
