/**
 * What every broker must give, run on each of them: the cluster contract across three servers and,
 * for a broker with a server of its own to lose, its faults: a server leaving gracefully or dying
 * with SIGKILL in a child process, the broker server killed and restarted mid-traffic (local
 * delivery goes on, requests fail at once with BROKER_DOWN, delivery resumes by itself), the broker
 * down at start-up, and local effects that never wait for a broker round trip.
 *
 * A broker joins by giving a {@link BrokerHarness}: its private server(s), a broker for server i,
 * and for the faults, killing and restarting that server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoomsError, type Broker } from '../../lib/index.js';
import type { BrokerLogger } from '../../lib/cluster/broker-logger.js';
import { BROKER_DOWN } from '../../lib/rooms.messages.js';
import { startApp, type TestApp } from './app.js';
import { closeAll, TestClient } from './client.js';
import { closeCluster, nodeIdOf, startCluster } from './cluster.js';
import { clusterContract } from './cluster-contract.js';
import { brokerModule, CapturingLogger, FrameLog, startAppWithLogger } from './fault-helpers.js';
import { recoveryModule } from './recovery.fixture.js';
import { sessionMovesBetweenServers } from './recovery-scenario.js';
import { ServerProcess } from './server-process.js';
import { untilBrokerStatus, untilGone, untilMeshed } from './timing.js';

/** The times (milliseconds) and logger a test gives a broker; the harness adds where its server is. */
export interface BrokerTimings {
  requestTimeout: number;
  heartbeatInterval: number;
  heartbeatTimeout: number;
  logger?: BrokerLogger;
}

/** A broker's private server(s), started for one `describe`. */
export interface BrokerServer {
  /** The broker of server `index` (a new one per server, as separate processes would have, or one shared). */
  broker(index: number, timings: BrokerTimings): Broker;
  /** Stops the server(s) for good and removes what they left on disk. */
  dispose(): Promise<void>;
}

/** A broker server the fault tests can kill and bring back. */
export interface FaultyBrokerServer extends BrokerServer {
  /** Kills the server with SIGKILL, as abrupt as a crash, and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again at the same address, resolving once it accepts connections. */
  restart(): Promise<void>;
  /** The environment that makes cluster-server.main.js use this broker (`BROKER`, `BROKER_URL`). */
  readonly childEnv: Record<string, string>;
}

/** What the fault tests need of a broker. */
export interface BrokerFaults {
  /** Starts a server that is up. */
  start(): Promise<FaultyBrokerServer>;
  /** Picks the server's address but leaves it down until `restart()`. */
  startDown(): Promise<FaultyBrokerServer>;
  /** What the broker itself logs while its server is out of reach, and at most how many lines per app. */
  outageWarnings: { pattern: RegExp; max: number };
}

/** One broker under test. */
export interface BrokerHarness {
  /** Named in every test title, e.g. "Redis". */
  name: string;
  /** Server(s) for the cluster contract. */
  start(): Promise<BrokerServer>;
  /** Absent for a broker with no server of its own to lose (in-memory): the contract alone runs. */
  faults?: BrokerFaults;
  /**
   * False for a broker that brings one server's channels over several connections with no order
   * between them (Redis Cluster's shards): a session moving through it can miss a frame still in
   * flight (README, connection recovery), so the recovery case does not run on it.
   */
  ordersChannels?: false;
}

const CONTRACT_TIMINGS: BrokerTimings = { requestTimeout: 2000, heartbeatInterval: 100, heartbeatTimeout: 400 };

/** Runs the whole conformance suite on one broker. */
export function brokerConformance(harness: BrokerHarness): void {
  let contractServer: BrokerServer | undefined;
  clusterContract(
    `${harness.name}: three servers, each with its own broker`,
    (index) => contractServer!.broker(index, CONTRACT_TIMINGS),
    async () => {
      contractServer = await harness.start();
      return () => contractServer!.dispose();
    },
  );
  if (harness.faults !== undefined) brokerFaults(harness.name, harness.faults);
  if (harness.ordersChannels !== false) sessionsMove(harness);
}

/** Connection recovery through this broker: a session moves to whichever server its client comes back to. */
function sessionsMove(harness: BrokerHarness): void {
  describe(`${harness.name}: connection recovery across three servers`, () => {
    let server: BrokerServer;
    let apps: TestApp[];
    before(async () => {
      server = await harness.start();
      const timings = { ...CONTRACT_TIMINGS, requestTimeout: 5000 };
      apps = await startCluster(3, (index) =>
        recoveryModule({ maxDisconnection: 20_000 }, server.broker(index, timings)),
      );
      await untilMeshed(apps);
    });
    after(async () => {
      await closeCluster(apps);
      await server.dispose();
    });

    it('moves a session to the server its client comes back to: every frame exactly once, in order', () =>
      sessionMovesBetweenServers(apps));
  });
}

function brokerFaults(name: string, faults: BrokerFaults): void {
  // Nothing in these tests may end in an unhandled rejection or an uncaught exception: recorded
  // here, asserted by the fault tests and once more at the end.
  const unexpected: unknown[] = [];
  process.on('unhandledRejection', (reason) => unexpected.push(reason));
  process.on('uncaughtException', (error) => unexpected.push(error));

  /** Short heartbeats so that faults show within a second; each server gets its own broker. */
  const faultBroker = (server: FaultyBrokerServer, options: Partial<BrokerTimings> = {}) =>
    server.broker(0, { heartbeatInterval: 100, heartbeatTimeout: 1000, requestTimeout: 5000, ...options });

  describe(`${name}: faults`, () => {
    describe('a server closed gracefully', () => {
      // A long heartbeat timeout, so that "at once" cannot be the heartbeats' doing.
      const heartbeatTimeout = 3000;
      let server: FaultyBrokerServer;
      let apps: TestApp[];
      let clients: TestClient[];

      before(async () => {
        server = await faults.start();
        apps = await startCluster(3, () => brokerModule(faultBroker(server, { heartbeatTimeout })));
        await untilMeshed(apps);
        clients = await connectAll(apps);
        await joinAll(clients, 'crew');
      });
      after(async () => {
        await closeAll(clients);
        await closeCluster(apps.slice(0, 2));
        await server.dispose();
      });

      it('is dropped by the others at once, and pending and new requests no longer wait for it', async (t) => {
        const [a, b, leaving] = apps;
        assert.equal(await a.rooms.in('crew').count(), 3);

        // A request the leaving server receives and never answers: only its goodbye can end it early.
        let received!: () => void;
        const stalled = new Promise<void>((resolve) => (received = resolve));
        leaving.rooms.onServerEvent('stall', () => {
          received();
          return new Promise(() => undefined);
        });
        b.rooms.onServerEvent('stall', () => 'from b');
        const pending = a.rooms.serverSideEmitWithAck('stall');
        await stalled;

        const id = nodeIdOf(leaving);
        const dropped = Promise.all([untilGone(a, id), untilGone(b, id)]);
        const started = Date.now();
        const closing = leaving.close();
        assert.deepEqual(await pending, ['from b']);
        const answeredAfter = Date.now() - started;
        await dropped;
        const droppedAfter = Date.now() - started;
        await closing;
        t.diagnostic(`pending request answered after ${answeredAfter} ms, server dropped after ${droppedAfter} ms`);
        assert.ok(answeredAfter < heartbeatTimeout / 3, `the pending request waited ${answeredAfter} ms`);
        assert.ok(droppedAfter < heartbeatTimeout / 3, `dropped after ${droppedAfter} ms`);
        assert.equal((await clients[2].closed).code, 1001);

        const asked = Date.now();
        assert.equal(await a.rooms.in('crew').count(), 2);
        const ids = (await b.rooms.in('crew').fetchSockets()).map((socket) => socket.id);
        assert.deepEqual(ids.sort(), [clients[0].id, clients[1].id].sort());
        assert.ok(Date.now() - asked < 500, `requests after the goodbye took ${Date.now() - asked} ms`);
        assert.deepEqual(unexpected, []);
      });
    });

    describe('the broker killed mid-traffic', () => {
      let server: FaultyBrokerServer;
      let apps: TestApp[];
      let clients: TestClient[];
      let logs: FrameLog[];

      before(async () => {
        server = await faults.start();
        apps = await startCluster(2, () => brokerModule(faultBroker(server)));
        await untilMeshed(apps);
        clients = await connectAll([apps[0], apps[0], apps[1]]);
        logs = clients.map((client) => new FrameLog(client.ws));
        await joinAll(clients, 'traffic');
      });
      after(async () => {
        await closeAll(clients);
        await closeCluster(apps);
        await server.dispose();
      });

      it('keeps local delivery, fails cluster requests at once with BROKER_DOWN, and recovers by itself', async (t) => {
        const [serverA, serverB] = apps;
        const [a1, a2, b1] = clients;
        const [logA1, logA2, logB1] = logs;
        serverB.rooms.onServerEvent('ping', () => 'pong');
        serverB.rooms.onServerEvent('stall', () => new Promise(() => undefined));

        // Broadcasts flowing: each server sends a numbered tick to the room every 5 ms.
        let ticksA = 0;
        let ticksB = 0;
        const ticker = setInterval(() => {
          serverA.rooms.to('traffic').emit('tick-a', ticksA++);
          serverB.rooms.to('traffic').emit('tick-b', ticksB++);
        }, 5);
        try {
          // They cross servers while the broker is up.
          await logB1.until((frame) => frame.event === 'tick-a');
          await logA1.until((frame) => frame.event === 'tick-b');

          // In flight when the broker dies: B never answers these, so only the outage can end them early.
          const inFlight = assert.rejects(serverA.rooms.serverSideEmitWithAck('stall'), brokerDown);
          const ackInFlight = assert.rejects(serverA.rooms.to(b1.id).emitWithAck('unanswered'), brokerDown);
          await logB1.until((frame) => frame.event === 'unanswered');

          const down = Promise.all(apps.map((app) => untilBrokerStatus(app, false)));
          await server.kill();
          const stoppedAt = Date.now();
          await down;
          await inFlight;
          await ackInFlight;
          const failedAfter = Date.now() - stoppedAt;
          t.diagnostic(`in-flight requests failed ${failedAfter} ms after the broker server was gone`);
          assert.ok(failedAfter < 1000, `in-flight requests failed ${failedAfter} ms after the stop`);

          // Requests made during the outage fail at once instead of waiting for requestTimeout.
          const requests: Array<[string, () => Promise<unknown>]> = [
            ['count', () => serverA.rooms.in('traffic').count()],
            ['fetchSockets', () => serverA.rooms.fetchSockets()],
            ['emitWithAck to a remote socket', () => serverA.rooms.to(b1.id).emitWithAck('question')],
            ['serverSideEmitWithAck', () => serverA.rooms.serverSideEmitWithAck('ping')],
            ['socketsJoin', () => serverA.rooms.in(b1.id).socketsJoin('elsewhere')],
            ['allRooms on B', () => serverB.rooms.allRooms()],
            ['count on B', () => serverB.rooms.count()],
          ];
          for (const [name, request] of requests) {
            const asked = Date.now();
            await assert.rejects(request(), brokerDown, name);
            assert.ok(Date.now() - asked < 200, `${name} took ${Date.now() - asked} ms to fail`);
          }

          // The outage outlasts heartbeatTimeout: each server forgets the other, and requests still
          // fail with BROKER_DOWN instead of quietly answering for this server alone.
          await Promise.all([untilGone(serverA, nodeIdOf(serverB)), untilGone(serverB, nodeIdOf(serverA))]);
          await assert.rejects(serverA.rooms.in('traffic').count(), brokerDown);
          await assert.rejects(serverB.rooms.to(a1.id).emitWithAck('question'), brokerDown);

          // Local delivery goes on: 40 more ticks of each server reach that server's own clients.
          const target = Math.max(ticksA, ticksB) + 40;
          await logA2.until((frame) => frame.event === 'tick-a' && (frame.data as number) >= target);
          await logB1.until((frame) => frame.event === 'tick-b' && (frame.data as number) >= target);
        } finally {
          clearInterval(ticker);
        }
        // Every tick a server emitted reached each of its own clients, once, in order.
        await logA1.until((frame) => frame.event === 'tick-a' && frame.data === ticksA - 1);
        await logA2.until((frame) => frame.event === 'tick-a' && frame.data === ticksA - 1);
        await logB1.until((frame) => frame.event === 'tick-b' && frame.data === ticksB - 1);
        const sequence = (count: number) => Array.from({ length: count }, (_, index) => index);
        assert.deepEqual(logA1.dataOf('tick-a'), sequence(ticksA));
        assert.deepEqual(logA2.dataOf('tick-a'), sequence(ticksA));
        assert.deepEqual(logB1.dataOf('tick-b'), sequence(ticksB));

        // The broker comes back at the same address: the servers reconnect and re-subscribe by themselves.
        const up = Promise.all(apps.map((app) => untilBrokerStatus(app, true)));
        await server.restart();
        const restartedAt = Date.now();
        // A bounded probe loop, not a sleep: a probe sent before the other server has re-subscribed is
        // lost (that is the outage), so probe every 100 ms until one arrives, for at most 10 s.
        const probe = async (from: TestApp, log: FrameLog, event: string) => {
          const start = log.frames.length;
          const arrived = log.until((frame) => frame.event === event, 10_000, start);
          const timer = setInterval(() => from.rooms.to('traffic').emit(event), 100);
          from.rooms.to('traffic').emit(event);
          try {
            await arrived;
          } finally {
            clearInterval(timer);
          }
        };
        await probe(serverA, logB1, 'probe-from-a');
        await probe(serverB, logA1, 'probe-from-b');
        t.diagnostic(`cross-server delivery resumed ${Date.now() - restartedAt} ms after the broker server restarted`);
        // Both said they are connected again, and they find each other again.
        await up;
        await untilMeshed(apps);

        // Requests work again.
        assert.equal(await serverA.rooms.in('traffic').count(), 3);
        const ids = (await serverB.rooms.in('traffic').fetchSockets()).map((socket) => socket.id);
        assert.deepEqual(ids.sort(), [a1.id, a2.id, b1.id].sort());
        assert.deepEqual(await serverA.rooms.serverSideEmitWithAck('ping'), ['pong']);
        const seen = logB1.frames.length;
        const answers = serverA.rooms.to(b1.id).emitWithAck('question', 'again?');
        const question = await logB1.until((frame) => frame.event === 'question', 5000, seen);
        b1.send({ ack: question.ack, data: 'yes' });
        assert.deepEqual(await answers, ['yes']);
        await serverA.rooms.in(b1.id).socketsJoin('after');
        serverA.rooms.to('after').emit('in-after');
        await logB1.until((frame) => frame.event === 'in-after');
        assert.deepEqual(unexpected, []);
      });
    });

    describe('the broker down at start-up', () => {
      let server: FaultyBrokerServer;
      const apps: TestApp[] = [];
      const clients: TestClient[] = [];

      before(async () => {
        // A port of its own with nothing listening on it yet.
        server = await faults.startDown();
      });
      after(async () => {
        await closeAll(clients);
        await closeCluster(apps);
        await server.dispose();
      });

      it('an app closes promptly while the broker is down, with sockets in rooms', async (t) => {
        const app = await startApp(brokerModule(faultBroker(server)));
        const client = await TestClient.connect(app.url('/chat'));
        // Its subscriptions (the shared channels, its own, this room's) wait for a broker that is not there.
        assert.deepEqual(await client.request('join', { room: 'nowhere' }), { event: 'joined', data: 'nowhere' });
        const started = Date.now();
        let timer: NodeJS.Timeout | undefined;
        const stuck = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('app.close() still pending after 5 s')), 5000);
        });
        await Promise.race([app.close(), stuck]).finally(() => clearTimeout(timer));
        t.diagnostic(`app.close() took ${Date.now() - started} ms`);
        assert.ok(Date.now() - started < 2000, `app.close() took ${Date.now() - started} ms`);
        assert.equal((await client.closed).code, 1001);
        assert.deepEqual(unexpected, []);
      });

      it('starts anyway with a clear warning, and joins the cluster once the broker is up', async () => {
        const logger = new CapturingLogger();
        const brokerWarnings: string[] = [];
        const broker = faultBroker(server, { logger: { warn: (message) => brokerWarnings.push(message) } });
        const late = await startAppWithLogger(brokerModule(broker), logger);
        apps.push(late);
        // app.listen resolved; the warning comes at once or after a short start-up grace.
        const warning = await logger.until('warn', /broker is not connected/, 5000);
        assert.match(warning, /other servers are out of reach/);
        // The broker's own words about its connections go to the logger it was given, once per client.
        assert.ok(
          brokerWarnings.length > 0 && brokerWarnings.length <= faults.outageWarnings.max,
          brokerWarnings.join('\n'),
        );
        for (const message of brokerWarnings) assert.match(message, faults.outageWarnings.pattern);

        // It serves its own clients meanwhile; this join is subscribed once the broker is there.
        const early = await TestClient.connect(late.url('/chat'));
        clients.push(early);
        assert.deepEqual(await early.request('join', { room: 'late' }), { event: 'joined', data: 'late' });
        late.rooms.to('late').emit('local while down');
        assert.deepEqual(await early.next(), { event: 'local while down' });

        await server.restart();
        const other = await startApp(brokerModule(faultBroker(server)));
        apps.push(other);
        await untilMeshed([late, other]);

        const remote = await TestClient.connect(other.url('/chat'));
        clients.push(remote);
        assert.deepEqual(await remote.request('join', { room: 'late' }), { event: 'joined', data: 'late' });
        other.rooms.to('late').emit('to the late server');
        assert.deepEqual(await early.next(), { event: 'to the late server' });
        assert.deepEqual(await remote.next(), { event: 'to the late server' });
        late.rooms.to('late').emit('from the late server');
        assert.deepEqual(await early.next(), { event: 'from the late server' });
        assert.deepEqual(await remote.next(), { event: 'from the late server' });
        assert.equal(await other.rooms.in('late').count(), 2);
        assert.deepEqual(unexpected, []);
      });
    });

    describe('local effects are immediate', () => {
      let server: FaultyBrokerServer;
      let apps: TestApp[];
      let clients: TestClient[];

      before(async () => {
        server = await faults.start();
        apps = await startCluster(2, () => brokerModule(faultBroker(server)));
        // Meshed, so that every cluster-wide operation below also waits for the other server's answer.
        await untilMeshed(apps);
        clients = await connectAll(apps);
      });
      after(async () => {
        await closeAll(clients);
        await closeCluster(apps);
        await server.dispose();
      });

      it('socketsJoin, socketsLeave and disconnectSockets act on this server at once, before any broker round trip', async () => {
        const [server] = apps;
        const [a, b] = clients;

        const joined = server.rooms.in(a.id).socketsJoin('x');
        server.rooms.local.to('x').emit('now');
        server.rooms.local.to(a.id).emit('marker');
        assert.deepEqual(await a.next(), { event: 'now' });
        assert.deepEqual(await a.next(), { event: 'marker' });
        await joined;

        const left = server.rooms.in(a.id).socketsLeave('x');
        server.rooms.local.to('x').emit('too late');
        server.rooms.local.to(a.id).emit('marker');
        assert.deepEqual(await a.next(), { event: 'marker' });
        await left;

        const disconnected = server.rooms.in(a.id).disconnectSockets();
        server.rooms.local.to(a.id).emit('after the disconnect');
        assert.equal((await a.closed).code, 1000);
        assert.deepEqual(a.pending, []);
        await disconnected;

        // The other server took part in each of them and is still fine.
        assert.equal(await apps[1].rooms.count(), 1);
        assert.ok(b.ws.readyState === b.ws.OPEN);
        assert.deepEqual(unexpected, []);
      });
    });

    describe('three server processes on one broker, one killed with SIGKILL', () => {
      let broker: FaultyBrokerServer;
      let servers: ServerProcess[] = [];
      let clients: TestClient[] = [];

      before(async () => {
        broker = await faults.start();
        servers = await Promise.all([0, 1, 2].map(() => ServerProcess.start(broker.childEnv)));
        // Meshed: each process has reported the two others as peers.
        await Promise.all(
          servers.flatMap((server) =>
            servers
              .filter((other) => other !== server)
              .map((other) => server.until((fact) => fact.peerUp === other.node)),
          ),
        );
        clients = await Promise.all(servers.map((server) => TestClient.connect(server.wsUrl('/chat'))));
        for (const client of clients) {
          assert.deepEqual(await client.request('join', { room: 'crew' }), { event: 'joined', data: 'crew' });
        }
      });
      after(async () => {
        await closeAll(clients);
        await Promise.all(servers.map((server) => server.kill()));
        await broker?.dispose();
      });

      it('counts and fetches the sockets of all three processes', async () => {
        const count = await servers[0].get('/count?room=crew');
        assert.deepEqual(count, { status: 200, body: { count: 3 } });
        const fetched = await servers[1].get('/fetch?room=crew');
        assert.deepEqual(fetched.body.ids.sort(), clients.map((client) => client.id).sort());
      });

      it('after a SIGKILL, requests on the survivors complete within heartbeatTimeout, without its sockets', async (t) => {
        const [first, second, victim] = servers;
        const [a, b, c] = clients;
        await victim.kill('SIGKILL');
        const killedAt = Date.now();
        assert.equal((await c.closed).code, 1006);

        // Both survivors still count the victim as a peer: these requests wait for it until its silence
        // exceeds heartbeatTimeout, and then complete with the answers of the living.
        const [count, fetched] = await Promise.all([
          timed(killedAt, first.get('/count?room=crew')),
          timed(killedAt, second.get('/fetch?room=crew')),
        ]);
        assert.equal(count.status, 200, JSON.stringify(count.body));
        assert.equal(count.body.count, 2);
        assert.equal(fetched.status, 200, JSON.stringify(fetched.body));
        assert.deepEqual(fetched.body.ids.sort(), [a.id, b.id].sort());
        t.diagnostic(`count answered ${count.ms} ms after the kill, fetchSockets ${fetched.ms} ms`);
        for (const { ms } of [count, fetched]) {
          assert.ok(ms < HEARTBEAT_TIMEOUT + MARGIN, `took ${ms} ms (heartbeatTimeout ${HEARTBEAT_TIMEOUT} ms)`);
          assert.ok(ms < REQUEST_TIMEOUT / 4);
        }
        await Promise.all([first, second].map((server) => server.until((fact) => fact.peerDown === victim.node)));

        // The two survivors still broadcast to each other.
        assert.deepEqual(await first.post('/emit', { room: 'crew', event: 'from first', data: 1 }), {
          status: 201,
          body: { emitted: true },
        });
        assert.deepEqual(await b.next(), { event: 'from first', data: 1 });
        assert.deepEqual(await a.next(), { event: 'from first', data: 1 });
        await second.post('/emit', { room: 'crew', event: 'from second', data: 2 });
        assert.deepEqual(await a.next(), { event: 'from second', data: 2 });
        assert.deepEqual(await b.next(), { event: 'from second', data: 2 });

        // And a request made now does not wait at all.
        const asked = Date.now();
        assert.deepEqual(await first.get('/count?room=crew'), { status: 200, body: { count: 2 } });
        assert.ok(Date.now() - asked < 500, `a request after the drop took ${Date.now() - asked} ms`);
      });
    });

    describe('the whole suite', () => {
      it('had no unhandled rejection and no uncaught exception', () => {
        assert.deepEqual(unexpected, []);
      });
    });
  });
}

const brokerDown = (error: unknown) => {
  assert.ok(error instanceof RoomsError, `expected a RoomsError, got ${String(error)}`);
  assert.equal(error.message, BROKER_DOWN);
  return true;
};

async function connectAll(apps: TestApp[]): Promise<TestClient[]> {
  return Promise.all(apps.map((app) => TestClient.connect(app.url('/chat'))));
}

async function joinAll(clients: TestClient[], room: string): Promise<void> {
  for (const client of clients)
    assert.deepEqual(await client.request('join', { room }), { event: 'joined', data: room });
}

// As configured in cluster-server.main.ts.
const HEARTBEAT_TIMEOUT = 1000;
const REQUEST_TIMEOUT = 8000;
/** Heartbeats are checked every 200 ms, plus an HTTP round trip and a loaded 2-core machine. */
const MARGIN = 600;

/** Resolves with the request's result and how long it took, in milliseconds, from `since`. */
async function timed<T>(since: number, request: Promise<T>): Promise<T & { ms: number }> {
  const result = await request;
  return { ...result, ms: Date.now() - since };
}
