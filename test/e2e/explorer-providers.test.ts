import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InMemoryBroker } from '../../lib/index.js';
import type { TestApp } from '../support/app.js';
import { TestClient } from '../support/client.js';
import { closeCluster, startCluster } from '../support/cluster.js';
import { EXPLORER_PHASES, explorerModule, PingLog } from '../support/explorer.fixture.js';
import { HookRecorder } from '../support/hook-recorder.js';
import { untilMeshed } from '../support/timing.js';

const sorted = (items: readonly string[]) => [...items].sort();

describe('hooks on providers of every shape', () => {
  const broker = new InMemoryBroker({ requestTimeout: 2000, heartbeatInterval: 100, heartbeatTimeout: 400 });
  let apps: TestApp[];
  let log: HookRecorder;

  before(async () => {
    apps = await startCluster(2, () => explorerModule(broker));
    await untilMeshed(apps);
    log = apps[0].app.get(HookRecorder);
  });
  after(() => closeCluster(apps));

  /** Connects to the first app, joins `room`, closes, and waits until the gateway saw the disconnect. */
  async function disconnectFrom(room: string): Promise<TestClient> {
    const client = await TestClient.connect(apps[0].url('/hooks'));
    assert.deepEqual(await client.request('join', { room }), { event: 'joined', data: room });
    await client.close();
    await log.wait('handleDisconnect', client.id);
    return client;
  }

  /** Both hooks of `kind` ran for `client` with (socket, rooms, reason), before and after the leave. */
  async function assertHooksRan(kind: string, client: TestClient, room: string): Promise<void> {
    const disconnecting = await log.wait(`${kind}-disconnecting`, client.id);
    assert.equal(disconnecting.arity, 3);
    assert.equal(disconnecting.reason, 'transport close');
    assert.deepEqual(disconnecting.socketRooms, [client.id, room]);
    const disconnect = await log.wait(`${kind}-disconnect`, client.id);
    assert.equal(disconnect.reason, 'transport close');
    assert.deepEqual(disconnect.socketRooms, []);
    assert.deepEqual(sorted(disconnect.rooms), sorted([client.id, room]));
  }

  for (const [kind, shape] of [
    ['factory', 'useFactory'],
    ['value', 'useValue'],
    ['class', 'useClass under a token that is not the class'],
  ]) {
    it(`runs the hooks of a provider built by ${shape}`, async () => {
      const client = await disconnectFrom(`${kind}-room`);
      await assertHooksRan(kind, client, `${kind}-room`);
    });
  }

  it('runs the hooks of request-scoped useClass providers that share a token in two modules, each on its own class', async () => {
    const client = await disconnectFrom('scoped-room');
    await assertHooksRan('scoped-a', client, 'scoped-room');
    await assertHooksRan('scoped-b', client, 'scoped-room');
  });

  it('calls a hook once per disconnect though its instance is also under a second token', async () => {
    // 'CLASS_ALIAS' (useExisting) and 'VALUE_AGAIN' (a factory returning the value) expose the
    // same instances again; handleDisconnect runs after every hook, so nothing more can come.
    const [first, second] = [await disconnectFrom('once-1'), await disconnectFrom('once-2')];
    for (const client of [first, second]) {
      assert.deepEqual(sorted(log.sequence(client.id, EXPLORER_PHASES)), sorted(EXPLORER_PHASES));
    }
  });

  it('delivers a server event from the other app to @OnServerEvent on each static provider, once each', async () => {
    const pings = apps[0].app.get(PingLog).pings;
    const answers = await apps[1].rooms.serverSideEmitWithAck('explorer:ping', 7, { eight: 8 });
    // One answer per other server: its first handler's.
    assert.equal(answers.length, 1);
    assert.ok(['factory', 'value', 'class'].includes(answers[0] as string), `answer ${String(answers[0])}`);
    assert.deepEqual(sorted(pings.map((ping) => ping.kind)), ['class', 'factory', 'value']);
    for (const ping of pings) assert.deepEqual(ping.args, [7, { eight: 8 }]);
    // The sender's own handlers never hear it.
    assert.deepEqual(apps[1].app.get(PingLog).pings, []);
  });
});
