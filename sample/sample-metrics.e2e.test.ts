/**
 * The sample's `GET /metrics` (prom-client through `@willsoto/nestjs-prometheus`), scraped by
 * hand and by a real Prometheus, whose query API then returns the figures of the app.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RoomService } from '../lib/index.js';
import { TestClient } from '../test/support/client.js';
import { PrometheusProcess } from '../test/support/prometheus-server.js';
import { createSampleApp } from './bootstrap.js';

/** Reads frames until one with `event` arrives (the page's lists also stream in). */
async function nextOf(client: TestClient, event: string) {
  for (;;) {
    const frame = await client.next();
    if (frame.event === event) return frame;
  }
}

/** A named tab of the chat in `room`. */
async function tabIn(port: number, name: string, room: string): Promise<TestClient> {
  const client = await TestClient.connect(`ws://127.0.0.1:${port}/chat`);
  client.send({ event: 'hello', data: { name } });
  await nextOf(client, 'hello');
  client.send({ event: 'join', data: { room } });
  await nextOf(client, 'joined');
  return client;
}

/** `name{labels} value` lines of the text format, as `name{labels}` -> value. */
function samples(text: string): Map<string, number> {
  const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  return new Map(
    lines.map((line) => [line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ')))]),
  );
}

describe('the sample exposes GET /metrics', () => {
  let app: NestExpressApplication;
  let port: number;
  /** The sample's public rooms (lobby, ops, one per person): what `nestjs_rooms_rooms` must say. */
  let roomCount: number;
  const tabs: TestClient[] = [];
  before(async () => {
    app = await createSampleApp({ logger: false });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
    tabs.push(await tabIn(port, 'ann', 'lobby'), await tabIn(port, 'bob', 'lobby'), await tabIn(port, 'cy', 'ops'));
    roomCount = (await app.get(RoomService).allRooms()).size;
    assert.ok(roomCount >= 2);
  });
  after(async () => {
    await Promise.all(tabs.map((tab) => tab.close()));
    await app.close();
  });

  it('serves the rooms metrics beside prom-client’s default ones, in the text format', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    const values = samples(text);
    assert.ok(values.has('process_cpu_user_seconds_total'), 'the module’s default metrics');
    assert.equal(values.get('nestjs_rooms_connections'), 3);
    assert.equal(values.get('nestjs_rooms_rooms'), roomCount);
    assert.equal(values.get('nestjs_rooms_broker_up'), 1);
    assert.match(text, /^# TYPE nestjs_rooms_cluster_request_seconds histogram$/m);
  });

  it('a real Prometheus scrapes it: its query API returns the connections and the rooms', async () => {
    const prometheus = await PrometheusProcess.start(`127.0.0.1:${port}`);
    try {
      await prometheus.untilScraped();
      const [connections] = await prometheus.query('nestjs_rooms_connections');
      assert.equal(connections.value, 3);
      assert.equal(connections.metric.job, 'rooms');
      const [rooms] = await prometheus.query('nestjs_rooms_rooms');
      assert.equal(rooms.value, roomCount);
      // It read the types, and the labelled series.
      assert.equal((await prometheus.metadata('nestjs_rooms_connections_total'))[0]?.type, 'counter');
      assert.equal((await prometheus.metadata('nestjs_rooms_cluster_request_seconds'))[0]?.type, 'histogram');
      const reasons = await prometheus.query('nestjs_rooms_disconnections_total');
      assert.deepEqual(reasons.map((sample) => sample.metric.reason).sort(), [
        'ping_timeout',
        'server_disconnect',
        'server_shutting_down',
        'transport_close',
      ]);
    } finally {
      await prometheus.dispose();
    }
  });
});
