import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoomsError, type MessageParser, type RoomsAdapterOptions } from '../../lib/index.js';
import {
  BAD_ID,
  BINARY_FRAME,
  NO_EVENT,
  NOT_AN_OBJECT,
  NOT_JSON,
  STRAY_ACK,
  UNKNOWN_EVENT,
  UNSERIALISABLE,
} from '../../lib/rooms.messages.js';
import { startApp, type TestApp } from '../support/app.js';
import { ChatModule } from '../support/chat.fixture.js';
import { closeAll, TestClient, type Frame } from '../support/client.js';
import { jsonParser } from '../support/parsers.js';

const MiB = 1024 * 1024;

/** The exception frame the adapter answers bad input with. */
function exception(message: string, id?: string | number): Frame {
  const data = { status: 'error', message };
  return id === undefined ? { event: 'exception', data } : { event: 'exception', data, id };
}

/** A successful request on the same socket: the connection is still open and still served. */
async function assertStillServed(client: TestClient, label = 'still open'): Promise<void> {
  assert.deepEqual(await client.request('echo', label), { event: 'echo', data: label });
}

/** Sends raw text and asserts the very next frame is `expected` (and has no `id` unless expected has one). */
async function assertAnswer(client: TestClient, raw: string | Buffer, expected: Frame, binary = false): Promise<void> {
  client.send(raw, { binary });
  const got = await client.next();
  assert.deepEqual(got, expected, `answer to ${Buffer.isBuffer(raw) ? `<${raw.length} bytes>` : raw}`);
}

/** A client whose transport errors (the server cutting a write short) are expected, not fatal. */
async function connectTolerant(url: string): Promise<TestClient> {
  const client = await TestClient.connect(url);
  client.ws.on('error', () => {});
  return client;
}

/** What `JSON.stringify` says about a payload, exactly as the library's message quotes it. */
function stringifyError(event: string, data: unknown): unknown {
  try {
    JSON.stringify({ event, data });
  } catch (error) {
    return error;
  }
  throw new Error('expected JSON.stringify to throw');
}

/** Invalid UTF-8 (0xff never appears in UTF-8) inside what would otherwise be a JSON frame. */
const INVALID_UTF8 = Buffer.concat([
  Buffer.from('{"event":"echo","data":"'),
  Buffer.from([0xff, 0xfe]),
  Buffer.from('"}'),
]);

/** The suite, for an app whose frames are read as `readerOptions` says. */
const badInput = (readerOptions: RoomsAdapterOptions) => () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(ChatModule, readerOptions);
  });
  after(() => app.close());

  it('answers non-JSON text with an exception frame and keeps the connection open', async () => {
    const c = await TestClient.connect(app.url('/chat'));
    for (const raw of ['not json', '{"event":"echo"', "{'event':'echo'}", '', ' ']) {
      await assertAnswer(c, raw, exception(NOT_JSON));
    }
    await assertStillServed(c);
    await c.close();
  });

  it('answers JSON that is not an object (array, number, string, null, boolean) and keeps the connection open', async () => {
    const c = await TestClient.connect(app.url('/chat'));
    for (const raw of ['[{"event":"echo","data":1}]', '[]', '42', '"echo"', 'null', 'true']) {
      await assertAnswer(c, raw, exception(NOT_AN_OBJECT));
    }
    await assertStillServed(c);
    await c.close();
  });

  it('answers a frame without an event, echoing its id, and keeps the connection open', async () => {
    const c = await TestClient.connect(app.url('/chat'));
    await assertAnswer(c, '{}', exception(NO_EVENT));
    await assertAnswer(c, '{"data":{"room":"x"}}', exception(NO_EVENT));
    await assertAnswer(c, '{"data":1,"id":"n1"}', exception(NO_EVENT, 'n1'));
    await assertAnswer(c, '{"data":1,"id":9}', exception(NO_EVENT, 9));
    await assertStillServed(c);
    await c.close();
  });

  it('answers a non-string event, echoing its id, and keeps the connection open', async () => {
    const c = await TestClient.connect(app.url('/chat'));
    for (const event of ['5', 'null', 'true', '{"name":"echo"}', '["echo"]']) {
      await assertAnswer(c, `{"event":${event},"data":1}`, exception(NO_EVENT));
    }
    await assertAnswer(c, '{"event":5,"id":"s"}', exception(NO_EVENT, 's'));
    await assertStillServed(c);
    await c.close();
  });

  it('answers an unknown event with its name, echoing its id, and keeps the connection open', async () => {
    const c = await TestClient.connect(app.url('/chat'));
    await assertAnswer(c, '{"event":"nope","data":1}', exception(UNKNOWN_EVENT('nope')));
    await assertAnswer(c, '{"event":"nope","id":"u1"}', exception(UNKNOWN_EVENT('nope'), 'u1'));
    await assertAnswer(c, '{"event":"","id":2}', exception(UNKNOWN_EVENT(''), 2));
    // a long name is quoted cut to 100 characters
    const long = 'e'.repeat(5000);
    await assertAnswer(c, JSON.stringify({ event: long }), exception(UNKNOWN_EVENT(long.slice(0, 100))));
    await assertStillServed(c);
    await c.close();
  });

  it('answers a stray ack (nothing pending, a bad ack, or one answered twice) and keeps the connection open', async () => {
    const c = await TestClient.connect(app.url('/chat'));
    await assertAnswer(c, '{"ack":12345,"data":"x"}', exception(STRAY_ACK));
    await assertAnswer(c, '{"ack":"1"}', exception(STRAY_ACK));
    await assertAnswer(c, '{"ack":1,"id":"a1"}', exception(STRAY_ACK, 'a1'));
    // a real request answered once resolves; the same answer again is stray
    const answers = app.rooms.to(c.id).emitWithAck('q', 1);
    const asked = await c.next();
    assert.equal(asked.event, 'q');
    c.send({ ack: asked.ack, data: 'first' });
    assert.deepEqual(await answers, ['first']);
    await assertAnswer(c, JSON.stringify({ ack: asked.ack, data: 'again' }), exception(STRAY_ACK));
    await assertStillServed(c);
    await c.close();
  });

  it('answers an id of a bad type (object, array, boolean) without echoing it, and does not run the handler', async () => {
    const c = await TestClient.connect(app.url('/chat'));
    for (const id of ['{"x":1}', '[1]', 'true']) {
      await assertAnswer(c, `{"event":"join","data":{"room":"bad-id-room"},"id":${id}}`, exception(BAD_ID));
    }
    // the handler never ran: the socket joined nothing
    assert.deepEqual(await c.request('rooms'), { event: 'rooms', data: [c.id] });
    await assertStillServed(c);
    await c.close();
  });

  it('answers a binary frame, even one holding valid JSON, and keeps the connection open', async () => {
    const c = await TestClient.connect(app.url('/chat'));
    await assertAnswer(c, Buffer.from('{"event":"echo","data":1,"id":"b"}'), exception(BINARY_FRAME), true);
    await assertAnswer(c, Buffer.from([0, 1, 2, 255]), exception(BINARY_FRAME), true);
    await assertAnswer(c, Buffer.alloc(0), exception(BINARY_FRAME), true);
    await assertStillServed(c);
    await c.close();
  });

  it('closes a connection that sends a frame over the default 1 MiB maxPayload with 1009; its room peers are unaffected', async () => {
    const [big, peer] = await Promise.all([connectTolerant(app.url('/chat')), TestClient.connect(app.url('/chat'))]);
    await big.request('join', { room: 'payload-room' });
    await peer.request('join', { room: 'payload-room' });
    // exactly 1 MiB is still allowed
    const atLimit = JSON.stringify({ event: 'echo', data: '' });
    const fill = 'a'.repeat(MiB - atLimit.length);
    const reply = await big.request('echo', fill);
    assert.equal(reply.event, 'echo');
    assert.equal(reply.data.length, fill.length);
    // ~1.1 MiB is not
    big.send({ event: 'echo', data: 'a'.repeat(Math.round(1.1 * MiB)) });
    assert.equal((await big.closed).code, 1009);
    app.rooms.to('payload-room').emit('after', 1);
    assert.deepEqual(await peer.next(), { event: 'after', data: 1 });
    await assertStillServed(peer);
    await closeAll([big, peer]);
  });

  it('closes a connection over a custom maxPayload with 1009; a frame under it is served; room peers are unaffected', async () => {
    const small = await startApp(ChatModule, { ...readerOptions, maxPayload: 1024 });
    try {
      const [big, peer] = await Promise.all([
        connectTolerant(small.url('/chat')),
        TestClient.connect(small.url('/chat')),
      ]);
      await big.request('join', { room: 'small-room' });
      await peer.request('join', { room: 'small-room' });
      const under = 'u'.repeat(900);
      assert.deepEqual(await big.request('echo', under), { event: 'echo', data: under });
      // 1100 bytes: fine for the default limit, over this one
      const frame = JSON.stringify({ event: 'echo', data: 'o'.repeat(1100) });
      assert.ok(frame.length > 1024 && frame.length < 1200);
      big.send(frame);
      assert.equal((await big.closed).code, 1009);
      small.rooms.to('small-room').emit('after', 2);
      assert.deepEqual(await peer.next(), { event: 'after', data: 2 });
      await assertStillServed(peer);
      await closeAll([big, peer]);
    } finally {
      await small.close();
    }
  });

  it('closes a connection that sends invalid UTF-8 text with 1007; other sockets are unaffected', async () => {
    const [bad, peer] = await Promise.all([connectTolerant(app.url('/chat')), TestClient.connect(app.url('/chat'))]);
    await bad.request('join', { room: 'utf8-room' });
    await peer.request('join', { room: 'utf8-room' });
    bad.send(INVALID_UTF8, { binary: false });
    assert.equal((await bad.closed).code, 1007);
    // nothing answered it before the close
    assert.deepEqual(bad.pending, []);
    app.rooms.to('utf8-room').emit('after', 3);
    assert.deepEqual(await peer.next(), { event: 'after', data: 3 });
    await assertStillServed(peer);
    await peer.close();
  });

  it('throws a RoomsError from emit for a cyclic or BigInt payload, and no member of the room gets anything', async () => {
    const [a, b] = await Promise.all([1, 2].map(() => TestClient.connect(app.url('/chat'))));
    await a.request('join', { room: 'r' });
    await b.request('join', { room: 'r' });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const payloads: Array<[string, unknown]> = [
      ['cyclic', cyclic],
      ['bigint', { n: 10n }],
      ['bare-bigint', 10n],
      ['nested', [1, { deep: [cyclic] }]],
    ];
    for (const [event, payload] of payloads) {
      assert.throws(
        () => app.rooms.to('r').emit(event, payload),
        (error: unknown) => {
          assert.ok(error instanceof RoomsError, `expected a RoomsError, got ${String(error)}`);
          assert.equal(error.message, UNSERIALISABLE(event, stringifyError(event, payload)));
          return true;
        },
      );
    }
    // the same through a longer chain, and emitWithAck rejects instead of sending
    assert.throws(() => app.rooms.to('r').except('nobody').emit('cyclic', cyclic), RoomsError);
    await assert.rejects(app.rooms.to('r').emitWithAck('cyclic', cyclic), RoomsError);
    // nobody got anything: the very next frame each member gets is the marker
    app.rooms.to('r').emit('marker');
    assert.deepEqual(await a.next(), { event: 'marker' });
    assert.deepEqual(await b.next(), { event: 'marker' });
    await closeAll([a, b]);
  });

  it('stays up after a burst of every kind of bad frame, and another client gets every broadcast', async () => {
    const [noisy, oversize, good] = await Promise.all([
      connectTolerant(app.url('/chat')),
      connectTolerant(app.url('/chat')),
      TestClient.connect(app.url('/chat')),
    ]);
    await good.request('join', { room: 'burst' });
    const bad: Array<[string | Buffer, Frame, boolean?]> = [
      ['not json', exception(NOT_JSON)],
      ['', exception(NOT_JSON)],
      ['[1]', exception(NOT_AN_OBJECT)],
      ['7', exception(NOT_AN_OBJECT)],
      ['"s"', exception(NOT_AN_OBJECT)],
      ['null', exception(NOT_AN_OBJECT)],
      ['{"data":1,"id":1}', exception(NO_EVENT, 1)],
      ['{"event":7}', exception(NO_EVENT)],
      ['{"event":"nope","id":"x"}', exception(UNKNOWN_EVENT('nope'), 'x')],
      ['{"ack":99}', exception(STRAY_ACK)],
      ['{"event":"echo","id":{}}', exception(BAD_ID)],
      [Buffer.from('{"event":"echo"}'), exception(BINARY_FRAME), true],
    ];
    const rounds = 5;
    let ticks = 0;
    for (let round = 0; round < rounds; round++) {
      for (const [raw, , binary] of bad) {
        noisy.send(raw, { binary: binary ?? false });
        app.rooms.to('burst').emit('tick', ticks++);
      }
    }
    noisy.send(INVALID_UTF8, { binary: false });
    oversize.send({ event: 'echo', data: 'z'.repeat(Math.round(1.1 * MiB)) });
    app.rooms.to('burst').emit('tick', ticks++);

    // the noisy client got one answer per bad frame, in order, then the 1007 close
    for (let round = 0; round < rounds; round++) {
      for (const [, expected] of bad) assert.deepEqual(await noisy.next(), expected);
    }
    assert.equal((await noisy.closed).code, 1007);
    assert.deepEqual(noisy.pending, []);
    assert.equal((await oversize.closed).code, 1009);

    // the good client got every broadcast, in order, and nothing else
    for (let i = 0; i < ticks; i++) assert.deepEqual(await good.next(), { event: 'tick', data: i });
    await assertStillServed(good);
    app.rooms.to('burst').emit('tick', 'last');
    assert.deepEqual(await good.next(), { event: 'tick', data: 'last' });

    // and the server still takes new connections
    const late = await TestClient.connect(app.url('/chat'));
    await late.request('join', { room: 'burst' });
    app.rooms.to('burst').emit('after-burst');
    assert.deepEqual(await good.next(), { event: 'after-burst' });
    assert.deepEqual(await late.next(), { event: 'after-burst' });
    await closeAll([good, late]);
  });
};

// Every guarantee holds for the built-in JSON and with an app's parser in place, the parser being
// one that reads JSON as the built-in path does (so the same answers are expected).
describe('bad input (built-in JSON)', badInput({}));
let parsed = 0;
const countingJsonParser: MessageParser = (data, isBinary) => {
  parsed++;
  return jsonParser(data, isBinary);
};
describe('bad input (a messageParser)', badInput({ messageParser: countingJsonParser }));
// the parser did read the suite's frames: the answers above came through it
after(() => assert.ok(parsed > 100, `the parser read ${parsed} frames`));
