import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InMemoryBroker, RoomsError } from '../../lib/index.js';
import { STRAY_ACK } from '../../lib/rooms.messages.js';
import { startApp, type TestApp } from '../support/app.js';
import { ChatModule } from '../support/chat.fixture.js';
import { TestClient, type Frame } from '../support/client.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { brokerModule, FrameLog } from '../support/fault-helpers.js';
import { eventually, untilMeshed } from '../support/timing.js';

const CALLS = 20_000;
const SHORT = 50;

/** A client that never answers, with every frame it gets kept searchable. */
async function silentClient(app: TestApp): Promise<{ client: TestClient; log: FrameLog }> {
  const client = await TestClient.connect(app.url('/chat'));
  return { client, log: new FrameLog(client.ws) };
}

/** How many `emitWithAck` requests the server side of `id` still holds an entry for. */
const pendingOn = (app: TestApp, id: string) => app.pendingAcks(id)?.size ?? 0;

/** Runs `CALLS` short-timeout `emitWithAck`s and asserts that every one rejected as timed out. */
async function timeOutMany(app: TestApp, targets: string[]): Promise<void> {
  const calls: Promise<unknown[]>[] = [];
  for (let i = 0; i < CALLS; i++) calls.push(app.rooms.to(targets).timeout(SHORT).emitWithAck('question', i));
  const outcomes = await Promise.allSettled(calls);
  const timedOut = outcomes.filter(
    (outcome) =>
      outcome.status === 'rejected' &&
      outcome.reason instanceof RoomsError &&
      /timed out/i.test(outcome.reason.message),
  );
  assert.equal(timedOut.length, CALLS, 'every request times out');
}

/** Answers the first question the client was asked, long after its timeout, and expects the stray-ack exception. */
async function answerLate(client: TestClient, log: FrameLog): Promise<void> {
  const first = await log.until((frame: Frame) => frame.event === 'question' && frame.data === 0);
  const from = log.frames.length;
  client.send({ ack: first.ack, data: 'late' });
  const answer = await log.until((frame) => frame.event === 'exception', 5000, from);
  assert.deepEqual(answer, { event: 'exception', data: { status: 'error', message: STRAY_ACK } });
}

describe('timed-out acks are forgotten', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(ChatModule);
  });
  after(() => app.close());

  it(`${CALLS} timed-out emitWithAck leave nothing on a socket that never answers; a late answer is a stray ack`, async () => {
    const { client, log } = await silentClient(app);
    await timeOutMany(app, [client.id]);
    assert.equal(pendingOn(app, client.id), 0);
    await answerLate(client, log);
    await client.close();
  });

  it('an emitWithAck answered by everyone leaves nothing behind either, and a second answer is stray', async () => {
    const { client, log } = await silentClient(app);
    const asked = app.rooms.to(client.id).timeout(2000).emitWithAck('question', 0);
    const question = await log.until((frame) => frame.event === 'question');
    client.send({ ack: question.ack, data: 'yes' });
    assert.deepEqual(await asked, ['yes']);
    assert.equal(app.pendingAcks(client.id), undefined);
    await answerLate(client, log);
    await client.close();
  });
});

describe('timed-out acks are forgotten on every server of a cluster', () => {
  let apps: TestApp[];
  before(async () => {
    const broker = new InMemoryBroker({ requestTimeout: 2000, heartbeatInterval: 100, heartbeatTimeout: 2000 });
    apps = await startCluster(2, () => brokerModule(broker));
    await untilMeshed(apps);
  });
  after(() => closeCluster(apps));

  it(`${CALLS} timed-out emitWithAck leave nothing on the origin's sockets nor on the other server's`, async () => {
    const [origin, other] = apps;
    const here = await silentClient(origin);
    const there = await silentClient(other);
    await timeOutMany(origin, [here.client.id, there.client.id]);
    assert.equal(pendingOn(origin, here.client.id), 0);
    // The other server counts the timeout from when the request reached it: a moment after the origin.
    const left = await eventually(async () => pendingOn(other, there.client.id), 0);
    assert.equal(left, 0, 'the remote socket forgot every timed-out request');
    await answerLate(here.client, here.log);
    await answerLate(there.client, there.log);
    await Promise.all([here.client.close(), there.client.close()]);
  });

  it("a remote socket's answer still reaches the origin in time, and leaves nothing behind", async () => {
    const [origin, other] = apps;
    const there = await silentClient(other);
    const asked = origin.rooms.to(there.client.id).timeout(2000).emitWithAck('question', 0);
    const question = await there.log.until((frame) => frame.event === 'question');
    there.client.send({ ack: question.ack, data: 'from afar' });
    assert.deepEqual(await asked, ['from afar']);
    assert.equal(other.pendingAcks(there.client.id), undefined);
    await answerLate(there.client, there.log);
    await there.client.close();
  });
});
