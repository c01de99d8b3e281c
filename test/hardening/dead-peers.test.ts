import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import { RoomsModule } from '../../lib/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { closeAll, TestClient } from '../support/client.js';
import {
  HookRecorder,
  recordingGateway,
  RecordingDisconnectHooks,
  summary,
  type HookCall,
} from '../support/hook-recorder.js';

/*
 * Dead peers: a client that stops answering pings is cut off by the heartbeat within two
 * intervals, with reason 'ping timeout'; its @OnDisconnecting sees its rooms, and it leaves them all.
 */

/** Long enough that a pong from this process's own client is not late when the event loop lags under load. */
const INTERVAL = 250;
/** Room for timers and the event loop on a loaded two-core machine. */
const MARGIN = 200;

const HeartbeatGateway = recordingGateway('/hb');

@Module({ imports: [RoomsModule.forRoot()], providers: [HookRecorder, RecordingDisconnectHooks, HeartbeatGateway] })
class HeartbeatModule {}

const ROOMS = ['hb:a', 'hb:b'];

/** A client that answers pings only while `answering` is true, and notes when pings came and pongs went. */
async function connectSilent(url: string): Promise<{
  client: TestClient;
  pings: number[];
  pongs: number[];
  stopAnswering: () => void;
  /** When it stopped answering. */
  silentSince: () => number;
}> {
  const client = await TestClient.connect(url, { autoPong: false });
  // The heartbeat cuts the connection: a reset is expected, not an error.
  client.ws.on('error', () => {});
  let silentSince = Infinity;
  const pings: number[] = [];
  const pongs: number[] = [];
  let answering = true;
  client.ws.on('ping', (data) => {
    pings.push(performance.now());
    if (!answering) return;
    client.ws.pong(data);
    pongs.push(performance.now());
  });
  const stopAnswering = () => {
    answering = false;
    silentSince = performance.now();
  };
  return { client, pings, pongs, stopAnswering, silentSince: () => silentSince };
}

describe('dead peers', () => {
  let app: TestApp;
  let hooks: HookRecorder;
  before(async () => {
    app = await startApp(HeartbeatModule, { heartbeatInterval: INTERVAL });
    hooks = app.app.get(HookRecorder);
  });
  after(() => app.close());

  /** The hooks of a socket cut off by the heartbeat: once each, in order, with its rooms, reason 'ping timeout'. */
  function assertPingTimeout(id: string, calls: HookCall[]): void {
    const rooms = [id, ...ROOMS].sort();
    assert.deepEqual(calls.map(summary), [
      { hook: 'disconnecting', rooms, live: rooms.length, reason: 'ping timeout' },
      { hook: 'disconnect', rooms, live: 0, reason: 'ping timeout' },
      { hook: 'handleDisconnect', rooms: [], live: 0, reason: 'ping timeout' },
    ]);
    assert.equal(app.findSocket(id), undefined, 'the registry forgot it');
  }

  it('a client that never answers a ping is cut off within two intervals, with its rooms in @OnDisconnecting', async (t) => {
    const healthy = await TestClient.connect(app.url('/hb'));
    await healthy.request('join', { rooms: ROOMS });
    const silent = await connectSilent(app.url('/hb'));
    silent.stopAnswering();
    assert.deepEqual(await silent.client.request('join', { rooms: ROOMS }), { event: 'joined', data: ROOMS });

    const calls = await hooks.gone(silent.client.id);
    const cutAt = calls[0].at;
    assertPingTimeout(silent.client.id, calls);
    // It was pinged, did not answer, and was cut at the next tick: not before, and not later than
    // two intervals after it stopped answering.
    assert.ok(silent.pings.length >= 1, 'it was pinged');
    const sinceFirstPing = cutAt - silent.pings[0];
    assert.ok(sinceFirstPing >= INTERVAL / 2, `cut ${sinceFirstPing.toFixed(0)} ms after its first ping: too early`);
    const sinceSilent = cutAt - silent.silentSince();
    assert.ok(sinceSilent <= 2 * INTERVAL + MARGIN, `cut ${sinceSilent.toFixed(0)} ms after it fell silent`);
    t.diagnostic(
      `cut ${sinceSilent.toFixed(0)} ms after it fell silent, ${sinceFirstPing.toFixed(0)} ms after its first ping`,
    );
    // The connection was terminated (no close frame): the client sees 1006.
    assert.equal((await silent.client.closed).code, 1006);

    // Its rooms went on without it: a broadcast reaches the healthy member alone.
    app.rooms.to(ROOMS).emit('after', 1);
    assert.deepEqual(await healthy.next(), { event: 'after', data: 1 });
    assert.equal(await app.rooms.in(ROOMS).count(), 1);
    await healthy.close();
  });

  it('a client that answered pings and then stops is cut off within two intervals of its last pong; answering clients stay', async (t) => {
    const healthy = await TestClient.connect(app.url('/hb'));
    await healthy.request('join', { rooms: ROOMS });
    const peers = await Promise.all([1, 2, 3].map(() => connectSilent(app.url('/hb'))));
    for (const peer of peers) await peer.client.request('join', { rooms: ROOMS });
    // Each answers three pings, then falls silent.
    await Promise.all(
      peers.map(
        (peer) =>
          new Promise<void>((resolve) => {
            const check = () => {
              if (peer.pongs.length < 3) return;
              peer.client.ws.off('ping', check);
              peer.stopAnswering();
              resolve();
            };
            peer.client.ws.on('ping', check);
          }),
      ),
    );
    for (const peer of peers) {
      const calls = await hooks.gone(peer.client.id);
      assertPingTimeout(peer.client.id, calls);
      const lastPong = peer.pongs[peer.pongs.length - 1];
      const silentFor = calls[0].at - lastPong;
      assert.ok(silentFor <= 2 * INTERVAL + MARGIN, `cut ${silentFor.toFixed(0)} ms after its last pong`);
      assert.ok(silentFor >= INTERVAL / 2, `cut ${silentFor.toFixed(0)} ms after its last pong: too early`);
      t.diagnostic(`cut ${silentFor.toFixed(0)} ms after its last pong`);
      // The ping after its last pong went unanswered before it was cut.
      assert.ok(
        peer.pings.some((at) => at > lastPong && at < calls[0].at),
        'an unanswered ping came first',
      );
      assert.equal((await peer.client.closed).code, 1006);
    }

    // The healthy client has been through many pings by now and is still served, in both rooms.
    assert.equal(healthy.ws.readyState, healthy.ws.OPEN);
    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL));
    app.rooms.to(ROOMS[1]).emit('still', 'here');
    assert.deepEqual(await healthy.next(), { event: 'still', data: 'here' });
    assert.equal(await app.rooms.in(ROOMS).count(), 1);
    const healthySocket = app.socket(healthy.id);
    assert.deepEqual([...healthySocket.rooms].sort(), [healthy.id, ...ROOMS].sort());
    await closeAll([healthy]);
    await hooks.gone(healthy.id);
    assert.equal(hooks.callsOf(healthy.id)[0].reason, 'transport close');
  });
});
