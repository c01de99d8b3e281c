import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import {
  BAD_ID,
  BINARY_FRAME,
  NO_EVENT,
  NOT_AN_OBJECT,
  NOT_JSON,
  STRAY_ACK,
  TOO_MANY_PENDING,
  UNKNOWN_EVENT,
} from '../../lib/rooms.messages.js';
import { startApp, type TestApp } from '../support/app.js';
import { ChatModule } from '../support/chat.fixture.js';
import { closeAll, TestClient, type Frame } from '../support/client.js';
import { ProcessErrors } from './hardening.fixture.js';
import { turns } from '../support/timing.js';

/*
 * Fuzzing the inbound side. Several clients send thousands of random frames at once (random bytes
 * as binary and as text, random JSON, random strings, deep nesting, sizes around and over
 * maxPayload, every type in every field of `{event, data, id, ack}`); meanwhile well-formed clients
 * in a room get a broadcast after every round. Each bad client's answers are checked against the
 * README's bad-input table (a small oracle below), the well-formed clients must get every
 * broadcast in order, and no unhandled rejection or uncaught exception may be raised.
 */

const MAX_PAYLOAD = 64 * 1024;
const MAX_PENDING = 8;
const BAD_CLIENTS = 4;
const RUNS = 40;
const GOOD_ROOM = 'fuzz-good';
/** The handlers of ChatGateway; any other event name is answered "No handler". */
const HANDLED = new Set(['join', 'leave', 'say', 'echo', 'rooms']);
/** Answers the adapter itself gives before any handler runs (the README's bad-input table). */
const PRE_HANDLER = new Set([BINARY_FRAME, NOT_JSON, NOT_AN_OBJECT, BAD_ID, NO_EVENT, STRAY_ACK]);

function exception(message: string, id?: unknown): Frame {
  const data = { status: 'error', message };
  // The id goes through JSON on its way back: -0 comes back as 0.
  return id === undefined
    ? { event: 'exception', data }
    : { event: 'exception', data, id: JSON.parse(JSON.stringify(id)) };
}

// ---- what is sent ------------------------------------------------------------------------------

/** One outbound frame: its exact bytes, and whether it goes as a binary or a text frame. */
class Outbound {
  constructor(
    readonly what: string,
    readonly bytes: Buffer,
    readonly binary: boolean,
  ) {}

  /** Short, so that a counterexample of 60 KiB frames stays readable. */
  [fc.toStringMethod](): string {
    const text = this.bytes.toString('latin1');
    const shown = text.length > 120 ? `${text.slice(0, 60)}…(${this.bytes.length} bytes)…${text.slice(-40)}` : text;
    return `${this.what}${this.binary ? '[binary]' : ''}:${JSON.stringify(shown)}`;
  }
}

const text = (what: string, value: string) => new Outbound(what, Buffer.from(value), false);

const ROOM_NAMES = ['r1', 'r2', 'lobby', '__proto__', 'constructor', 'toString', '', 'x'.repeat(300)];
const EVENT_NAMES = [...HANDLED, 'exception', 'welcome', '', '__proto__', 'constructor', 'hasOwnProperty', 'toString'];

const edgeValue = fc.constantFrom<unknown>(
  null,
  true,
  false,
  0,
  -0,
  -1,
  1.5,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER,
  '',
  'x',
  '\u0000',
  '\ud800',
  [],
  [null],
  {},
  { room: 'r1' },
  { __proto__: null, room: ['r1', 'r2'] },
);

/** Nested arrays and objects of moderate depth, built by `fc.letrec`. */
const nested = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'medium', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 0 }),
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 3 }),
  ),
})).node;

const roomValue = fc.oneof(
  fc.constantFrom<unknown>(...ROOM_NAMES),
  fc.array(fc.constantFrom(...ROOM_NAMES), { maxLength: 4 }),
  fc.string({ maxLength: 30 }),
  edgeValue,
);

/** Data shaped like what the handlers read (`{room, text}`), with anything in its fields. */
const roomData = fc.record({ room: roomValue, text: fc.oneof(fc.string(), edgeValue) }, { requiredKeys: [] });

const anyValue = fc.oneof(edgeValue, fc.jsonValue({ maxDepth: 3 }), nested, roomData, fc.string({ unit: 'binary' }));

/** Valid ids and every other type. */
const idValue = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double({ noNaN: true }), anyValue);

const eventValue = fc.oneof(
  fc.constantFrom<unknown>(...EVENT_NAMES),
  fc.string({ maxLength: 150 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  anyValue,
);

/** A frame that reaches a handler more often than not. */
const handlerFrame = fc
  .record(
    { event: fc.constantFrom(...HANDLED), data: fc.oneof(roomData, anyValue), id: idValue },
    { requiredKeys: ['event'] },
  )
  .map((frame) => text('handler', JSON.stringify(frame)));

/** `{event, data, id, ack}` with every type in every field, any of them missing. */
const chaosFrame = fc
  .record({ event: eventValue, data: anyValue, id: idValue, ack: anyValue }, { requiredKeys: [] })
  .map((frame) => text('fields', JSON.stringify(frame)));

/** Nesting thousands deep, built as text (the depth JSON.parse takes and JSON.stringify may not). */
const deepFrame = fc
  .record({
    // Up to ~60 KB: under maxPayload whatever the shape.
    depth: fc.integer({ min: 100, max: 10_000 }),
    shape: fc.constantFrom('array', 'object', 'mixed'),
    field: fc.constantFrom('data', 'data', 'data', 'event', 'id', 'ack'),
    event: fc.constantFrom(...HANDLED, 'echo', 'nope'),
  })
  .map(({ depth, shape, field, event }) => {
    if (shape === 'array') depth *= 3;
    const open = shape === 'array' ? '[' : shape === 'object' ? '{"a":' : '[{"a":';
    const close = shape === 'array' ? ']' : shape === 'object' ? '}' : '}]';
    const deep = `${open.repeat(depth)}1${close.repeat(depth)}`;
    const rest = field === 'event' ? '' : `"event":${JSON.stringify(event)},`;
    return text(`deep-${shape}-${depth}-in-${field}`, `{${rest}${JSON.stringify(field)}:${deep}}`);
  });

/** A frame of exactly `size` bytes around maxPayload, its payload in 1- or 2-byte characters. */
const sizedFrame = fc
  .record({
    size: fc.oneof(
      fc.integer({ min: MAX_PAYLOAD - 40, max: MAX_PAYLOAD + 40 }),
      fc.integer({ min: MAX_PAYLOAD / 2, max: MAX_PAYLOAD * 3 }),
    ),
    wide: fc.boolean(),
    event: fc.constantFrom('echo', 'nope', 'join'),
    binary: fc.boolean(),
  })
  .map(({ size, wide, event, binary }) => {
    const shell = JSON.stringify({ event, data: '' });
    let room = size - Buffer.byteLength(shell);
    if (room < 0) room = 0;
    const fill = wide ? 'é'.repeat(Math.floor(room / 2)) + 'a'.repeat(room % 2) : 'a'.repeat(room);
    const frame = Buffer.from(`${shell.slice(0, -2)}${fill}"}`);
    return new Outbound(`sized-${frame.length}`, frame, binary && size % 7 === 0);
  });

/** Frames that never end the connection. */
const harmlessFrame: fc.Arbitrary<Outbound> = fc.oneof(
  { arbitrary: handlerFrame, weight: 6 },
  { arbitrary: chaosFrame, weight: 6 },
  { arbitrary: fc.json().map((json) => text('json', json)), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => text('string', s)), weight: 2 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => new Outbound('bytes', Buffer.from(b), true)), weight: 2 },
  { arbitrary: deepFrame, weight: 3 },
);

/** Frames that may end it: sizes around and over maxPayload, random bytes as text (mostly invalid UTF-8: 1007). */
const riskyFrame: fc.Arbitrary<Outbound> = fc.oneof(
  sizedFrame,
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => new Outbound('bytes', Buffer.from(b), false)),
);

/** One client's batch: harmless frames, and now and then one risky frame somewhere among them. */
const batchArb: fc.Arbitrary<Outbound[]> = fc
  .record({
    frames: fc.array(harmlessFrame, { minLength: 10, maxLength: 50 }),
    risky: fc.oneof({ arbitrary: fc.constant(null), weight: 2 }, { arbitrary: riskyFrame, weight: 1 }),
    at: fc.nat(),
  })
  .map(({ frames, risky, at }) => {
    if (risky === null) return frames;
    const position = at % (frames.length + 1);
    return [...frames.slice(0, position), risky, ...frames.slice(position)];
  });

// ---- what the README says each frame gets ------------------------------------------------------

type Expected = { fatal: 1007 | 1009 } | { answer: Frame } | { handler: true };

function isFrameId(id: unknown): boolean {
  return id === undefined || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

/** The bad-input table, in the order the adapter applies it. */
function expectedFor({ bytes, binary }: Outbound): Expected {
  if (bytes.length > MAX_PAYLOAD) return { fatal: 1009 };
  if (binary) return { answer: exception(BINARY_FRAME) };
  if (!isUtf8(bytes)) return { fatal: 1007 };
  let frame: unknown;
  try {
    frame = JSON.parse(bytes.toString());
  } catch {
    return { answer: exception(NOT_JSON) };
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return { answer: exception(NOT_AN_OBJECT) };
  const { event, id, ack } = frame as Record<string, unknown>;
  if (!isFrameId(id)) return { answer: exception(BAD_ID) };
  if (event === undefined && ack !== undefined) return { answer: exception(STRAY_ACK, id) };
  if (typeof event !== 'string') return { answer: exception(NO_EVENT, id) };
  if (!HANDLED.has(event)) return { answer: exception(UNKNOWN_EVENT(event.slice(0, 100)), id) };
  return { handler: true };
}

/** Frames the adapter writes before any handler: they come in the order their inbound frames came. */
function isPreHandlerAnswer(frame: Frame): boolean {
  if (frame.event !== 'exception' || typeof frame.data?.message !== 'string') return false;
  const message: string = frame.data.message;
  return PRE_HANDLER.has(message) || message.startsWith('No handler for event "');
}

// ---- the clients -------------------------------------------------------------------------------

/** A raw client that keeps every frame it gets and its close code. */
class FuzzClient {
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  /** Frames read by earlier rounds. */
  cursor = 0;
  /** Handler-bound frames sent, less answers that are not pre-handler ones: never below 0. */
  budget = 0;
  private wake: (() => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw, isBinary) => {
      let frame: Frame;
      try {
        frame = isBinary ? { event: '<binary frame>' } : (JSON.parse(raw.toString()) as Frame);
      } catch {
        frame = { event: '<not JSON>', data: raw.toString() };
      }
      this.frames.push(frame);
      this.wake?.();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake?.();
    });
    // The server cutting it off while it is still sending is expected.
    ws.on('error', () => {});
  }

  static async open(url: string): Promise<FuzzClient> {
    const client = new FuzzClient(new WebSocket(url));
    await client.until(() => client.frames.length > 0, 'welcome');
    assert.equal(client.frames[0].event, 'welcome');
    client.cursor = 1;
    return client;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  async until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fuzz client: no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
}

/**
 * Reads a good client's frames up to `tick` number `last`, in order. `said` broadcasts from the
 * fuzzers may come in between: a `say` whose room list is empty reaches every socket today (pinned
 * in private-rooms.test.ts); this test is about missing frames, not extra ones.
 */
async function expectTicks(client: TestClient, first: number, last: number): Promise<void> {
  for (let expected = first; expected <= last;) {
    const frame = await client.next(10_000);
    if (frame.event === 'said') continue;
    assert.deepEqual(frame, { event: 'tick', data: expected }, 'a well-formed client missed a broadcast');
    expected++;
  }
}

describe('fuzzing the inbound frames', () => {
  let app: TestApp;
  let errors: ProcessErrors;
  before(async () => {
    errors = new ProcessErrors().install();
    // A low maxPendingFrames, so that bursts of handler frames also meet that refusal; no
    // bad-frame budget, so that every bad frame is answered (bad-frame-budget.test.ts covers it).
    app = await startApp(ChatModule, {
      maxPayload: MAX_PAYLOAD,
      maxPendingFrames: MAX_PENDING,
      maxBadFrames: Infinity,
    });
  });
  after(async () => {
    await app.close();
    errors.dispose();
  });

  it('thousands of random frames from several clients at once: the server stays up, answers as the README says, and well-formed clients get every broadcast', async (t) => {
    const url = app.url('/chat');
    const goods = await Promise.all([1, 2].map(() => TestClient.connect(url)));
    for (const good of goods)
      assert.deepEqual(await good.request('join', { room: GOOD_ROOM }), { event: 'joined', data: GOOD_ROOM });
    const bad: FuzzClient[] = await Promise.all(Array.from({ length: BAD_CLIENTS }, () => FuzzClient.open(url)));
    const stats = { frames: 0, answered: 0, handler: 0, tooMany: 0, closed1009: 0, closed1007: 0, reconnects: 0 };
    let tick = 0;
    let round = 0;

    const property = fc.asyncProperty(
      fc.array(batchArb, { minLength: BAD_CLIENTS, maxLength: BAD_CLIENTS }),
      async (batches) => {
        round++;
        // Clients closed by an earlier round come back.
        for (let c = 0; c < BAD_CLIENTS; c++) {
          if (!bad[c].open) {
            bad[c] = await FuzzClient.open(url);
            stats.reconnects++;
          }
        }
        // What each client must get: the answers before its first fatal frame, then that close.
        const plans = batches.map((batch) => {
          const answers: Frame[] = [];
          let handler = 0;
          for (const outbound of batch) {
            const expected = expectedFor(outbound);
            if ('fatal' in expected) return { answers, handler, fatal: expected.fatal };
            if ('answer' in expected) answers.push(expected.answer);
            else handler++;
          }
          const sentinel = `\u0000sentinel ${round}`;
          answers.push(exception(UNKNOWN_EVENT(sentinel)));
          return { answers, handler, fatal: undefined, sentinel };
        });

        // Everyone sends at once; a broadcast to the good room after every step.
        const firstTick = tick;
        const steps = Math.max(...batches.map((batch) => batch.length));
        for (let step = 0; step < steps; step++) {
          for (let c = 0; c < BAD_CLIENTS; c++) {
            const outbound = batches[c][step];
            if (outbound === undefined || !bad[c].open) continue;
            bad[c].ws.send(outbound.bytes, { binary: outbound.binary });
            stats.frames++;
          }
          app.rooms.to(GOOD_ROOM).emit('tick', tick++);
        }
        plans.forEach((plan, c) => {
          if (plan.sentinel !== undefined && bad[c].open) bad[c].ws.send(JSON.stringify({ event: plan.sentinel }));
        });

        await Promise.all(
          plans.map(async (plan, c) => {
            const client = bad[c];
            const sentinel = plan.answers[plan.answers.length - 1];
            if (plan.fatal === undefined) {
              await client.until(
                () => client.frames.slice(client.cursor).some((frame) => isDeepStrictEqual(frame, sentinel)),
                `answer to the sentinel of round ${round}`,
              );
            } else {
              await client.until(() => client.closeCode !== undefined, `close ${plan.fatal} in round ${round}`);
              assert.equal(client.closeCode, plan.fatal, `close code of client ${c} in round ${round}`);
              if (plan.fatal === 1009) stats.closed1009++;
              else stats.closed1007++;
            }
            const got = client.frames.slice(client.cursor);
            client.cursor = client.frames.length;
            const answers = got.filter(isPreHandlerAnswer);
            assert.deepEqual(answers, plan.answers, `answers of client ${c} in round ${round}`);
            stats.answered += answers.length;
            stats.handler += plan.handler;
            // Everything else answers handler frames: a reply, an exception frame, or (past
            // maxPendingFrames) the refusal to run one; at most one per handler frame.
            client.budget += plan.handler;
            for (const frame of got) {
              if (isPreHandlerAnswer(frame)) continue;
              assert.equal(typeof frame.event, 'string', `a frame without an event: ${JSON.stringify(frame)}`);
              if (frame.event === 'exception') {
                assert.equal(frame.data?.status, 'error');
                assert.equal(typeof frame.data?.message, 'string');
              }
              if (frame.event === 'said') continue; // another fuzzer's @BroadcastTo
              if (frame.data?.message === TOO_MANY_PENDING(MAX_PENDING)) stats.tooMany++;
              client.budget--;
            }
            assert.ok(client.budget >= 0, `client ${c} got more handler answers than it sent handler frames`);
          }),
        );

        // The well-formed clients got every broadcast, in order, and are still served.
        await Promise.all(goods.map((good) => expectTicks(good, firstTick, tick - 1)));
        for (const good of goods) {
          good.send({ event: 'echo', data: `round ${round}` });
          let reply = await good.next();
          while (reply.event === 'said') reply = await good.next();
          assert.deepEqual(reply, { event: 'echo', data: `round ${round}` });
        }
        await turns();
        assert.equal(errors.seen.length, 0, errors.describe());
      },
    );

    const details = await fc.check(property, { numRuns: RUNS, endOnFailure: true });
    if (details.failed) assert.fail(failureReport(details));
    t.diagnostic(JSON.stringify(stats));
    assert.ok(stats.answered + stats.handler >= 2000, `only ${stats.answered + stats.handler} frames were processed`);
    assert.ok(stats.closed1009 > 0 && stats.closed1007 > 0, JSON.stringify(stats));

    // Still up: a new client connects, joins and hears a broadcast with the old good ones.
    const late = await TestClient.connect(url);
    await late.request('join', { room: GOOD_ROOM });
    app.rooms.to(GOOD_ROOM).emit('tick', tick);
    for (const client of [...goods, late]) await expectTicks(client, tick, tick);
    await closeAll([...goods, late]);
    await Promise.all(bad.map((client) => (client.open ? (client.ws.close(), untilClose(client)) : undefined)));
    assert.equal(errors.seen.length, 0, errors.describe());
  });
});

/** What failed, on which frames (shortened), and how to replay it. */
function failureReport<T>(details: fc.RunDetails<T>): string {
  const error = details.errorInstance;
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  const frames = details.counterexample === null ? '' : fc.stringify(details.counterexample);
  return [
    `fuzzing failed after ${details.numRuns} runs (replay: { seed: ${details.seed}, path: "${details.counterexamplePath}" })`,
    message,
    `frames of that run (each client's batch): ${frames.length > 4000 ? `${frames.slice(0, 4000)}…` : frames}`,
  ].join('\n');
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

function untilClose(client: FuzzClient): Promise<void> {
  return client.until(() => client.closeCode !== undefined, 'close');
}

describe('deeply nested frames at the default maxPayload', () => {
  let app: TestApp;
  let errors: ProcessErrors;
  before(async () => {
    errors = new ProcessErrors().install();
    app = await startApp(ChatModule);
  });
  after(async () => {
    await app.close();
    errors.dispose();
  });

  // JSON.parse takes nesting JSON.stringify cannot write back (a RangeError past a few thousand
  // levels): a handler that answers with what it was sent must not take the server down.
  for (const event of ['echo', 'join', 'leave', 'say']) {
    it(`a ${event} whose data is nested 100,000 deep is answered with an exception frame; nothing is thrown`, async () => {
      errors.seen.length = 0;
      const client = await TestClient.connect(app.url('/chat'));
      const depth = 100_000;
      client.send(`{"event":${JSON.stringify(event)},"id":"deep","data":${'['.repeat(depth)}${']'.repeat(depth)}}`);
      const answer = await client.next().catch((error: Error) => ({ event: `<${error.message}>` }) as Frame);
      await turns();
      assert.equal(errors.seen.length, 0, errors.describe());
      assert.equal(answer.event, 'exception', `answer: ${JSON.stringify(answer).slice(0, 300)}`);
      assert.equal(answer.id, 'deep');
      assert.equal(answer.data?.status, 'error');
      // Still open and served.
      assert.deepEqual(await client.request('echo', 'after'), { event: 'echo', data: 'after' });
      await client.close();
    });
  }
});
