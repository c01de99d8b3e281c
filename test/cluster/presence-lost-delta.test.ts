/**
 * Presence when a delta is lost on its way: a broker that drops one of server A's presence deltas
 * (a real in-memory broker behind it). Server B must notice, from A's next delta (a gap in the
 * numbers) or, when nothing else changes, from A's heartbeats, and ask A for a snapshot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InMemoryBroker, type Broker, type BrokerConnection, type BrokerListener } from '../../lib/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { closeAll, TestClient } from '../support/client.js';
import { closeCluster } from '../support/cluster.js';
import { canonical, PresenceLog, presenceModule } from '../support/presence.fixture.js';
import { untilMeshed } from '../support/timing.js';

/** `inner`, except that it can drop the next presence delta its server publishes. */
class LossyBroker implements Broker {
  dropNextDelta = false;
  dropped = 0;

  constructor(private readonly inner: Broker) {}

  get requestTimeout() {
    return this.inner.requestTimeout;
  }
  get heartbeatInterval() {
    return this.inner.heartbeatInterval;
  }
  get heartbeatTimeout() {
    return this.inner.heartbeatTimeout;
  }

  connect(listener: BrokerListener): BrokerConnection {
    const connection = this.inner.connect(listener);
    return {
      get up() {
        return connection.up;
      },
      get mayHavePeers() {
        return connection.mayHavePeers;
      },
      publish: (channel, message) => {
        if (this.dropNextDelta && message.subarray(0, 9).toString() === '{"t":"pd"') {
          this.dropNextDelta = false;
          this.dropped++;
          return Promise.resolve();
        }
        return connection.publish(channel, message);
      },
      subscribe: (channel) => connection.subscribe(channel),
      unsubscribe: (channel) => connection.unsubscribe(channel),
      close: () => connection.close(),
    };
  }
}

describe('presence when a delta is lost', () => {
  const shared = new InMemoryBroker({ requestTimeout: 2000, heartbeatInterval: 100, heartbeatTimeout: 1000 });
  const lossy = new LossyBroker(shared);
  let apps: TestApp[] = [];
  let log: PresenceLog;
  const clients: TestClient[] = [];
  const views = () => apps.map((app) => JSON.stringify(canonical(app.rooms.presence('doc'))));
  const agreed = () => new Set(views()).size === 1;

  before(async () => {
    apps = [await startApp(presenceModule({ broker: lossy })), await startApp(presenceModule({ broker: shared }))];
    await untilMeshed(apps);
    log = new PresenceLog(apps[1]);
  });
  after(async () => {
    await closeAll(clients);
    await closeCluster(apps);
  });

  it('a gap in the numbers makes the other server ask for a snapshot: both changes arrive', async () => {
    const [a, b] = [await TestClient.connect(apps[0].url('/chat')), await TestClient.connect(apps[0].url('/chat'))];
    clients.push(a, b);
    lossy.dropNextDelta = true;
    await a.request('track', { room: 'doc', key: 'ann' });
    assert.equal(lossy.dropped, 1);
    await b.request('track', { room: 'doc', key: 'ben' });
    await log.until(() => agreed() && Object.keys(apps[1].rooms.presence('doc')).length === 2, 3000, 'B to converge');
    assert.deepEqual(Object.keys(apps[1].rooms.presence('doc')).sort(), ['ann', 'ben']);
  });

  it("a lost last change is noticed from the sender's heartbeats", async () => {
    const c = await TestClient.connect(apps[0].url('/chat'));
    clients.push(c);
    lossy.dropNextDelta = true;
    await c.request('track', { room: 'doc', key: 'cat' });
    assert.equal(lossy.dropped, 2);
    await log.until(() => agreed() && 'cat' in apps[1].rooms.presence('doc'), 3000, 'B to learn of cat');
    const { diff } = log.events.at(-1)!;
    assert.deepEqual(Object.keys(diff.joins), ['cat']);
    assert.deepEqual(Object.keys(diff.leaves), []);
  });
});
