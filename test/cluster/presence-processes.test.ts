/**
 * Presence when a server dies with SIGKILL: three server processes on one Redis, the killed one
 * says no goodbye. Its entries must leave the others' views through heartbeats alone, within
 * `heartbeatTimeout`, as one leave diff per room listing exactly its sockets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeAll, TestClient } from '../support/client.js';
import { RedisProcess } from '../support/redis-server.js';
import { ServerProcess, type Fact } from '../support/server-process.js';

// As configured in cluster-server.main.ts.
const HEARTBEAT_TIMEOUT = 1000;
/** Heartbeats are checked every 200 ms, and the machine may be loaded. */
const MARGIN = 600;

interface PresenceFact {
  presence: string;
  diff: { joins: Record<string, Array<{ socketId: string }>>; leaves: Record<string, Array<{ socketId: string }>> };
  at: number;
}

const isPresence = (fact: Fact): fact is Fact & PresenceFact => typeof fact.presence === 'string';
const presenceFacts = (server: ServerProcess) => server.facts.filter(isPresence);

describe('presence when one of three server processes is killed', () => {
  let redis: RedisProcess;
  let servers: ServerProcess[] = [];
  let clients: TestClient[] = [];

  before(async () => {
    redis = await RedisProcess.start();
    servers = await Promise.all([0, 1, 2].map(() => ServerProcess.start({ BROKER: 'redis', BROKER_URL: redis.url })));
    await Promise.all(
      servers.flatMap((server) =>
        servers.filter((other) => other !== server).map((other) => server.until((fact) => fact.peerUp === other.node)),
      ),
    );
  });
  after(async () => {
    await closeAll(clients);
    await Promise.all(servers.map((server) => server.kill()));
    await redis?.dispose();
  });

  it("the dead server's entries leave the others' views within heartbeatTimeout, with leave diffs", async () => {
    const [survivor, tab1, tab2] = await Promise.all([
      TestClient.connect(servers[0].wsUrl('/chat')),
      TestClient.connect(servers[2].wsUrl('/chat')),
      TestClient.connect(servers[2].wsUrl('/chat')),
    ]);
    clients = [survivor, tab1, tab2];
    await survivor.request('track', { room: 'crew', key: 'sam' });
    await tab1.request('track', { room: 'crew', key: 'vic', meta: { tab: 1 } });
    await tab2.request('track', { room: 'crew', key: 'vic', meta: { tab: 2 } });
    await tab2.request('track', { room: 'side', key: 'vic' });
    for (const server of servers.slice(0, 2)) {
      await server.until(() => presenceFacts(server).length === 4);
      const { body } = await server.get('/presence?room=crew');
      assert.deepEqual(Object.keys(body).sort(), ['sam', 'vic']);
      assert.equal(body.vic.length, 2);
    }

    const killedAt = Date.now();
    await servers[2].kill('SIGKILL');
    for (const server of servers.slice(0, 2)) {
      const crew = (await server.until(
        (fact) => isPresence(fact) && fact.presence === 'crew' && 'vic' in fact.diff.leaves,
        HEARTBEAT_TIMEOUT + 5000,
      )) as Fact & PresenceFact;
      assert.ok(crew.at - killedAt <= HEARTBEAT_TIMEOUT + MARGIN, `gone after ${crew.at - killedAt} ms`);
      assert.deepEqual(crew.diff.joins, {});
      assert.deepEqual(Object.keys(crew.diff.leaves), ['vic']);
      assert.deepEqual(crew.diff.leaves.vic.map((meta) => meta.socketId).sort(), [tab1.id, tab2.id].sort());
      const side = (await server.until(
        (fact) => isPresence(fact) && fact.presence === 'side' && 'vic' in fact.diff.leaves,
      )) as Fact & PresenceFact;
      assert.deepEqual(
        side.diff.leaves.vic.map((meta) => meta.socketId),
        [tab2.id],
      );
      assert.equal(presenceFacts(server).length, 6, 'one diff per room, nothing else');
      assert.deepEqual(Object.keys((await server.get('/presence?room=crew')).body), ['sam']);
      assert.deepEqual((await server.get('/presence?room=side')).body, {});
    }
  });
});
