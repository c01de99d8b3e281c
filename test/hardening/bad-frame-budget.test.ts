import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { NOT_JSON } from '../../lib/rooms.messages.js';
import { startApp, type TestApp } from '../support/app.js';
import { ChatGateway, ChatModule } from '../support/chat.fixture.js';
import { TestClient } from '../support/client.js';

/*
 * Frames no handler can take are answered, up to `maxBadFrames` per `badFrameWindow`; the next one
 * closes the connection with 1008. Other clients are served as before.
 */

const BUDGET = 20;

/** One of each kind of frame no handler can take. */
function badFrames(client: TestClient): Array<() => void> {
  return [
    () => client.send(Buffer.from('{"event":"echo"}'), { binary: true }),
    () => client.send('not json'),
    () => client.send('[1,2]'),
    () => client.send({ event: 'echo', id: {} as unknown as string }),
    () => client.send({ data: 1 }),
    () => client.send({ event: 'no-such-event' }),
    () => client.send({ ack: 12345 } as { ack: number }),
  ];
}

async function roundTrip(client: TestClient, n: number): Promise<number> {
  const start = performance.now();
  assert.deepEqual(await client.request('echo', n, n), { event: 'echo', data: n, id: n });
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

describe('bad-frame budget', () => {
  let app: TestApp;

  before(async () => {
    app = await startApp(ChatModule, { maxBadFrames: BUDGET, badFrameWindow: 60_000 });
  });

  after(async () => {
    await app.close();
  });

  it('answers every kind of bad frame within the budget and closes with 1008 on the next one', async () => {
    const client = await TestClient.connect(app.url('/chat'));
    const kinds = badFrames(client);
    for (let i = 0; i < BUDGET; i++) kinds[i % kinds.length]();
    for (let i = 0; i < BUDGET; i++) assert.equal((await client.next()).event, 'exception');
    // Good frames do not count.
    assert.deepEqual(await client.request('echo', 'ok', 1), { event: 'echo', data: 'ok', id: 1 });
    kinds[0]();
    const closed = await client.closed;
    assert.equal(closed.code, 1008);
    assert.equal(closed.reason, 'too many bad frames');
    assert.equal(client.pending.length, 0, 'the frame past the budget is not answered');
    assert.equal((await app.app.get(ChatGateway).disconnected(client.id)).reason, 'server disconnect');
  });

  it('starts a new budget once the window has passed', async () => {
    const short = await startApp(ChatModule, { maxBadFrames: 3, badFrameWindow: 200 });
    try {
      const client = await TestClient.connect(short.url('/chat'));
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 3; i++) client.send('not json');
        for (let i = 0; i < 3; i++)
          assert.deepEqual((await client.next()).data, { status: 'error', message: NOT_JSON });
        // The window is a span of time: nothing but time passing ends it.
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.deepEqual(await client.request('echo', 'open', 2), { event: 'echo', data: 'open', id: 2 });
      for (let i = 0; i < 4; i++) client.send('not json');
      assert.equal((await client.closed).code, 1008);
    } finally {
      await short.close();
    }
  });

  it("closes a flooder with 1008 while another client's round trips stay close to its baseline", async () => {
    const healthy = await TestClient.connect(app.url('/chat'));
    const baseline: number[] = [];
    for (let n = 0; n < 50; n++) baseline.push(await roundTrip(healthy, n));

    const flooder = await TestClient.connect(app.url('/chat'));
    flooder.ws.on('error', () => {});
    const during: number[] = [];
    let flooding = true;
    void flooder.closed.then(() => (flooding = false));
    const kinds = badFrames(flooder);
    let sent = 0;
    let n = 1000;
    while (flooding && sent < 100_000) {
      for (let i = 0; i < 200; i++) kinds[sent++ % kinds.length]();
      during.push(await roundTrip(healthy, n++));
    }
    assert.ok(sent < 100_000, 'the flooder was closed');
    const closed = await flooder.closed;
    assert.equal(closed.code, 1008);
    for (let i = 0; i < 20; i++) during.push(await roundTrip(healthy, n++));
    // Generous: a loaded two-core machine, and the flood's frames share the event loop.
    const limit = 20 * median(baseline) + 50;
    assert.ok(
      median(during) <= limit,
      `median ${median(during).toFixed(2)} ms, baseline ${median(baseline).toFixed(2)} ms`,
    );
    await healthy.close();
  });
});
