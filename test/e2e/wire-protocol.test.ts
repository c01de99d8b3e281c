import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, type TestApp } from '../support/app.js';
import { closeAll, TestClient, type Frame } from '../support/client.js';
import { BIG_TEXT, WireModule } from '../support/wire.fixture.js';

/** Reads `count` frames in arrival order. */
async function frames(client: TestClient, count: number): Promise<Frame[]> {
  const read: Frame[] = [];
  for (let i = 0; i < count; i++) read.push(await client.next());
  return read;
}

/** Asserts that the very next frame is the marker reply, i.e. nothing arrived before it. */
async function assertNothingBeforeMarker(client: TestClient, id?: string | number): Promise<void> {
  assert.deepEqual(
    await client.request('marker', undefined, id),
    id === undefined ? { event: 'marker' } : { event: 'marker', id },
  );
}

/**
 * Asks the streaming handler for its eight replies, large and small interleaved with broadcasts and
 * `sendEvent`s, and asserts they arrive in the order it made them; returns them.
 */
async function streamedInOrder(client: TestClient): Promise<Frame[]> {
  client.send({ event: 'order-big' });
  const got = await frames(client, 8);
  assert.deepEqual(
    got.map((frame) => frame.event),
    ['r1', 'b1', 'b2', 's1', 'r2', 'b3', 's2', 'r3'],
  );
  return got;
}

// Every case runs with write coalescing on (the default) and off: the wire is the same either way.
for (const coalesceWrites of [true, false]) {
  describe(`wire protocol (coalesceWrites: ${coalesceWrites})`, () => {
    let app: TestApp;
    let client: TestClient;
    before(async () => {
      app = await startApp(WireModule, { coalesceWrites });
      client = await TestClient.connect(app.url('/wire'));
    });
    after(async () => {
      await client.close();
      await app.close();
    });

    it('sends a WsResponse return as {event, data}, without an id when the request had none', async () => {
      assert.deepEqual(await client.request('respond', { a: [1, 'two'] }), {
        event: 'responded',
        data: { a: [1, 'two'] },
      });
      // data left out of the request: the frame has no data either (JSON drops undefined)
      assert.deepEqual(await client.request('respond'), { event: 'responded' });
    });

    it('sends any other return value as {event: <inbound event>, data: value}', async () => {
      const values: unknown[] = [42, 0, false, '', 'text', [1, 2], { foo: 1 }, { event: 5, data: 'not a WsResponse' }];
      for (const value of values) {
        assert.deepEqual(await client.request('plain', value), { event: 'plain', data: value });
      }
    });

    it('sends nothing for null and undefined returns', async () => {
      client.send({ event: 'nothing' });
      client.send({ event: 'null' });
      client.send({ event: 'nothing', id: 'n1' });
      client.send({ event: 'null', id: 2 });
      client.send({ event: 'plain', data: null, id: 3 });
      await assertNothingBeforeMarker(client);
    });

    it('sends the resolved value of a handler that returns a Promise', async () => {
      assert.deepEqual(await client.request('promise', { p: 1 }), { event: 'promised', data: { p: 1 } });
      assert.deepEqual(await client.request('promise-plain', 'v', 'p1'), {
        event: 'promise-plain',
        data: 'v',
        id: 'p1',
      });
      client.send({ event: 'promise-plain', data: null });
      await assertNothingBeforeMarker(client);
    });

    it('sends every value of an Observable as its own frame, in order, skipping null and undefined', async () => {
      client.send({ event: 'stream', id: 's' });
      assert.deepEqual(await frames(client, 4), [
        { event: 'tick', data: 1, id: 's' },
        { event: 'stream', data: 'two', id: 's' },
        { event: 'tick', data: 3, id: 's' },
        { event: 'tick', data: 4, id: 's' },
      ]);
      await assertNothingBeforeMarker(client);
    });

    it('echoes a string or number id on replies, and sends no id when the request had none', async () => {
      assert.deepEqual(await client.request('respond', 1, 'req-1'), { event: 'responded', data: 1, id: 'req-1' });
      assert.deepEqual(await client.request('respond', 2, 17), { event: 'responded', data: 2, id: 17 });
      assert.deepEqual(await client.request('respond', 3, 0), { event: 'responded', data: 3, id: 0 });
      assert.deepEqual(await client.request('respond', 4, ''), { event: 'responded', data: 4, id: '' });
      assert.deepEqual(await client.request('plain', 'x', 2.5), { event: 'plain', data: 'x', id: 2.5 });
      const noId = await client.request('respond', 5);
      assert.deepEqual(noId, { event: 'responded', data: 5 });
      assert.equal('id' in noId, false);
    });

    it("echoes the id on the exception frame of a handler that throws a WsException, without the client's data", async () => {
      assert.deepEqual(await client.request('ws-exception', { x: 1 }, 'e1'), {
        event: 'exception',
        data: { status: 'error', message: 'nope' },
        id: 'e1',
      });
      assert.deepEqual(await client.request('async-error', undefined, 8), {
        event: 'exception',
        data: { status: 'error', message: 'late nope' },
        id: 8,
      });
      const noId = await client.request('ws-exception');
      assert.deepEqual(noId, {
        event: 'exception',
        data: { status: 'error', message: 'nope' },
      });
      assert.equal('id' in noId, false);
    });

    it('answers a handler throwing a plain Error with Nest\'s "Internal server error" frame, with the id', async () => {
      const frame = await client.request('plain-error', undefined, 'boom');
      assert.equal(frame.event, 'exception');
      assert.equal(frame.id, 'boom');
      assert.equal(frame.data.status, 'error');
      assert.equal(frame.data.message, 'Internal server error');
      assert.doesNotMatch(JSON.stringify(frame), /must not reach the client/);
      const noId = await client.request('plain-error');
      assert.equal(noId.event, 'exception');
      assert.equal(noId.data.message, 'Internal server error');
      assert.equal('id' in noId, false);
    });

    it('runs guards: an allowed frame reaches the handler, a denied one gets "Forbidden resource" with its id', async () => {
      assert.deepEqual(await client.request('guarded', { pass: true }, 'g1'), {
        event: 'passed',
        data: { pass: true },
        id: 'g1',
      });
      const denied = await client.request('guarded', { pass: false }, 'g2');
      assert.equal(denied.event, 'exception');
      assert.equal(denied.id, 'g2');
      assert.equal(denied.data.status, 'error');
      assert.equal(denied.data.message, 'Forbidden resource');
      const deniedNoId = await client.request('guarded', { pass: false });
      assert.equal(deniedNoId.data.message, 'Forbidden resource');
      assert.equal('id' in deniedNoId, false);
      await assertNothingBeforeMarker(client);
    });

    it('runs pipes: a custom pipe transforms the body, ParseIntPipe parses or rejects', async () => {
      assert.deepEqual(await client.request('upper', 'hello', 'u'), { event: 'upper', data: 'HELLO', id: 'u' });
      assert.deepEqual(await client.request('double', '21'), { event: 'doubled', data: 42 });
      assert.deepEqual(await client.request('double', 'abc', 'pi'), {
        event: 'exception',
        data: { status: 'error', message: 'Validation failed (numeric string is expected)' },
        id: 'pi',
      });
      // ParseIntPipe's default BadRequestException is not a WsException: Nest's filter hides it.
      assert.deepEqual(await client.request('double-http', '5'), { event: 'doubled', data: 10 });
      const hidden = await client.request('double-http', 'abc', 3);
      assert.equal(hidden.event, 'exception');
      assert.equal(hidden.data.message, 'Internal server error');
      assert.equal(hidden.id, 3);
    });

    it('runs user interceptors that map the result', async () => {
      assert.deepEqual(await client.request('wrapped', 'v', 'w'), {
        event: 'wrapped',
        data: { original: 'v' },
        id: 'w',
      });
    });

    it('sends a WsException with an object error as its message alone, with the id', async () => {
      assert.deepEqual(await client.request('object-exception', undefined, 'o'), {
        event: 'exception',
        data: { status: 'error', message: 'custom failure' },
        id: 'o',
      });
    });

    it('keeps replies, sendEvent and broadcasts to one socket in the order they were sent', async () => {
      client.send({ event: 'order', id: 'ord' });
      assert.deepEqual(await frames(client, 4), [
        { event: 'a' },
        { event: 'b' },
        { event: 'c' },
        { event: 'd', id: 'ord' },
      ]);
      await assertNothingBeforeMarker(client);
    });

    it('keeps that order with large and small frames interleaved from a streaming handler', async () => {
      const got = await streamedInOrder(client);
      assert.equal(got[0].data, BIG_TEXT);
      assert.equal(got[1].data, BIG_TEXT);
      assert.equal(got[7].data, BIG_TEXT);
      await assertNothingBeforeMarker(client);
    });

    it('sends emitWithAck as {event, data, ack: n} and resolves with [x] when the client answers {ack: n, data: x}', async () => {
      const answered = app.rooms.to(client.id).emitWithAck('question', { q: 1 });
      const asked = await client.next();
      assert.deepEqual(Object.keys(asked).sort(), ['ack', 'data', 'event']);
      assert.equal(asked.event, 'question');
      assert.deepEqual(asked.data, { q: 1 });
      assert.ok(Number.isInteger(asked.ack), `ack must be an integer, got ${JSON.stringify(asked.ack)}`);
      client.send({ ack: asked.ack, data: { answer: 'yes' } });
      assert.deepEqual(await answered, [{ answer: 'yes' }]);
      // answering sends nothing back
      await assertNothingBeforeMarker(client);
      // a second request gets a different ack number
      const second = app.rooms.to(client.id).emitWithAck('question', 2);
      const asked2 = await client.next();
      assert.ok(Number.isInteger(asked2.ack));
      assert.notEqual(asked2.ack, asked.ack);
      client.send({ ack: asked2.ack, data: null });
      assert.deepEqual(await second, [null]);
    });
  });

  describe(`wire protocol with permessage-deflate negotiated (coalesceWrites: ${coalesceWrites})`, () => {
    let app: TestApp;
    before(async () => {
      app = await startApp(WireModule, { perMessageDeflate: true, coalesceWrites });
    });
    after(() => app.close());

    it('keeps replies, sendEvent and broadcasts in order while ws is busy compressing', async () => {
      const client = await TestClient.connect(app.url('/wire'), { perMessageDeflate: true });
      assert.match(client.ws.extensions, /permessage-deflate/);
      client.send({ event: 'order', id: 1 });
      assert.deepEqual(await frames(client, 4), [
        { event: 'a' },
        { event: 'b' },
        { event: 'c' },
        { event: 'd', id: 1 },
      ]);
      const got = await streamedInOrder(client);
      assert.equal(got[0].data, BIG_TEXT);
      assert.equal(got[3].data, BIG_TEXT);
      await assertNothingBeforeMarker(client);
      await closeAll([client]);
    });
  });
}
