/**
 * Faults only NATS has (those every broker shares are in the conformance suite): a server that
 * hangs without closing its connections, and a message over the server's max_payload.
 */
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NatsBroker } from '../../lib/nats/index.js';
import { BROKER_DOWN } from '../../lib/rooms.messages.js';
import type { TestApp } from '../support/app.js';
import { closeAll, TestClient } from '../support/client.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { brokerModule } from '../support/fault-helpers.js';
import { NatsProcess } from '../support/nats-server.js';
import { untilBrokerStatus, untilMeshed } from '../support/timing.js';

async function connectAll(apps: TestApp[]): Promise<TestClient[]> {
  return Promise.all(apps.map((app) => TestClient.connect(app.url('/chat'))));
}

async function joinAll(clients: TestClient[], room: string): Promise<void> {
  for (const client of clients)
    assert.deepEqual(await client.request('join', { room }), { event: 'joined', data: room });
}

describe('a NATS server that hangs', () => {
  let nats: NatsProcess;
  let apps: TestApp[];
  let clients: TestClient[];

  before(async () => {
    nats = await NatsProcess.start();
    // The connection pings every heartbeatInterval; the client's own default is two minutes.
    const broker = () =>
      new NatsBroker({ servers: nats.url, heartbeatInterval: 200, heartbeatTimeout: 5000, requestTimeout: 5000 });
    apps = await startCluster(2, () => brokerModule(broker()));
    await untilMeshed(apps);
    clients = await connectAll(apps);
    await joinAll(clients, 'hung');
  });
  after(async () => {
    nats.resume();
    await closeAll(clients);
    await closeCluster(apps);
    await nats.dispose();
  });

  it('is noticed by its unanswered pings: the servers report it down, requests fail, and all recovers after it wakes', async () => {
    const down = Promise.all(apps.map((app) => untilBrokerStatus(app, false)));
    const up = Promise.all(apps.map((app) => untilBrokerStatus(app, true)));
    nats.pause();
    await down;
    await assert.rejects(apps[0].rooms.in('hung').count(), { message: BROKER_DOWN });
    apps[0].rooms.to('hung').emit('local while hung');
    assert.deepEqual(await clients[0].next(), { event: 'local while hung' });
    nats.resume();
    await up;
    await untilMeshed(apps);
    assert.equal(await apps[0].rooms.in('hung').count(), 2);
    apps[1].rooms.to('hung').emit('after');
    for (const client of clients) assert.deepEqual(await client.next(), { event: 'after' });
  });
});

describe('a broadcast over the NATS server max_payload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-rooms-nats-'));
  let nats: NatsProcess;
  let apps: TestApp[];
  let clients: TestClient[];
  const warnings: string[] = [];

  before(async () => {
    const config = join(dir, 'nats.conf');
    writeFileSync(config, 'max_payload: 4096\n');
    nats = await NatsProcess.start(['-c', config]);
    const logger = { warn: (message: string) => warnings.push(message) };
    apps = await startCluster(2, () =>
      brokerModule(
        new NatsBroker({
          servers: nats.url,
          logger,
          heartbeatInterval: 100,
          heartbeatTimeout: 1000,
          requestTimeout: 5000,
        }),
      ),
    );
    await untilMeshed(apps);
    clients = await connectAll(apps);
    await joinAll(clients, 'big');
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps);
    await nats.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reaches the local members only, with a warning naming the limit, and the next broadcasts cross as before', async () => {
    const [a, b] = clients;
    const big = 'x'.repeat(5000);
    apps[0].rooms.to('big').emit('big', big);
    assert.deepEqual(await a.next(), { event: 'big', data: big });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^NATS: a cluster message of \d+ bytes is over the server's max_payload of 4096 bytes/);
    apps[0].rooms.to('big').emit('small');
    assert.deepEqual(await a.next(), { event: 'small' });
    // b never got the big one: its next frame is the small one.
    assert.deepEqual(await b.next(), { event: 'small' });
    assert.equal(await apps[1].rooms.in('big').count(), 2);
  });
});
