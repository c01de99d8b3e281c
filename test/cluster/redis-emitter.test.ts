import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Module } from '@nestjs/common';
import { RoomsModule } from '../../lib/index.js';
import { RedisBroker } from '../../lib/redis/index.js';
import { RoomsEmitter } from '../../lib/emitter/index.js';
import { freePort, type TestApp } from '../support/app.js';
import { ChatGateway } from '../support/chat.fixture.js';
import { closeAll, TestClient } from '../support/client.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { emitterContract } from '../support/emitter-contract.js';
import { RedisProcess } from '../support/redis-server.js';
import { untilMeshed } from '../support/timing.js';

const exec = promisify(execFile);
const times = { requestTimeout: 2000, heartbeatInterval: 100, heartbeatTimeout: 400 };

let redis: RedisProcess;

emitterContract(
  'an emitter on Redis, with three servers each on its own RedisBroker',
  () => new RedisBroker({ url: redis.url, ...times }),
  () => new RedisBroker({ url: redis.url, ...times }),
  async () => {
    redis = await RedisProcess.start();
    return () => redis.dispose();
  },
);

describe('an emitter on Redis, beyond the contract', () => {
  let local: RedisProcess;
  let apps: TestApp[];
  let clients: TestClient[];

  before(async () => {
    local = await RedisProcess.start();
    @Module({
      imports: [RoomsModule.forRoot({ broker: new RedisBroker({ url: local.url, keyPrefix: 'app1', ...times }) })],
      providers: [ChatGateway],
    })
    class ServerModule {}
    apps = await startCluster(2, () => ServerModule);
    await untilMeshed(apps);
    clients = await Promise.all(apps.map((app) => TestClient.connect(app.url('/chat'))));
    await clients[0].request('join', { room: 'project:42' });
    await clients[1].request('join', { room: 'project:42' });
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps);
    await local.dispose();
  });

  /** `redis-cli SPUBLISH`, as any program could: the header line, a newline, the event's JSON. */
  async function publishByHand(channel: string, message: string): Promise<void> {
    await exec('redis-cli', ['-p', String(local.port), 'SPUBLISH', channel, message]);
  }

  it('a broadcast published by hand with redis-cli reaches the sockets, on the room channel and on all', async () => {
    await publishByHand(
      'app1:room:project:42',
      '{"t":"b","r":["project:42"]}\n{"event":"build passed","data":{"id":7}}',
    );
    for (const client of clients) assert.deepEqual(await client.next(), { event: 'build passed', data: { id: 7 } });
    const [a, b] = clients;
    await publishByHand('app1:all', `{"t":"b","r":["project:42"],"x":["${a.id}"]}\n{"event":"not a"}`);
    assert.deepEqual(await b.next(), { event: 'not a' });
    await publishByHand('app1:all', '{"t":"sse","e":"ping","a":[1]}');
    await publishByHand('app1:all', `{"t":"req","k":"join","a":["audit"],"r":["${a.id}"]}`);
    await publishByHand('app1:all', `{"t":"b","r":["${a.id}","${b.id}"]}\n{"event":"marker"}`);
    for (const client of clients) assert.deepEqual(await client.next(), { event: 'marker' });
    assert.deepEqual((await a.request('rooms')).data.sort(), [a.id, 'audit', 'project:42'].sort());
    for (const app of apps) assert.equal(app.cluster().peerIds.length, 1);
  });

  it('an emitter made just now waits for Redis to connect before its first publish', async () => {
    const emitter = new RoomsEmitter({ broker: new RedisBroker({ url: local.url, keyPrefix: 'app1', ...times }) });
    await emitter.to('project:42').emit('right away');
    for (const client of clients) assert.deepEqual(await client.next(), { event: 'right away' });
    await emitter.close();
  });

  it('with no Redis to reach, a publish rejects after requestTimeout, and close still returns', async () => {
    const logger = { warnings: [] as string[], warn: (message: string) => logger.warnings.push(message) };
    const broker = new RedisBroker({ url: `redis://127.0.0.1:${await freePort()}`, requestTimeout: 300, logger });
    const emitter = new RoomsEmitter({ broker });
    await assert.rejects(emitter.emit('lost'), /not connected within 300 ms/);
    // Nobody awaits this one: its failure must not become an unhandled rejection.
    void emitter.emit('ignored');
    await emitter.close();
    assert.ok(logger.warnings.length > 0, 'the broker reported the connection problem');
  });
});
