import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { WsException } from '@nestjs/websockets';
import type { RawData } from 'ws';
import { RoomsAdapter, type MessageParser, type RoomsAdapterOptions } from '../../lib/index.js';
import {
  BAD_ID,
  INVALID_ROOM_NAME,
  NO_EVENT,
  PARSED_NOT_AN_EVENT,
  PARSED_NOTHING,
  PARSER_FAILED,
  STRAY_ACK,
  UNKNOWN_EVENT,
} from '../../lib/rooms.messages.js';
import { listenWith, startApp, type TestApp } from '../support/app.js';
import { ChatModule } from '../support/chat.fixture.js';
import { TestClient, type Frame } from '../support/client.js';
import { PlainParserModule, RoomsParserModule } from '../support/parser.fixture.js';
import { arrayParser, binaryAck, binaryEvent, binaryParser } from '../support/parsers.js';

function exception(message: string, id?: string | number): Frame {
  const data = { status: 'error', message };
  return id === undefined ? { event: 'exception', data } : { event: 'exception', data, id };
}

/** Sends `raw` and asserts the very next frame is `expected`. */
async function assertAnswer(client: TestClient, raw: string | Buffer, expected: Frame): Promise<void> {
  client.send(raw, { binary: Buffer.isBuffer(raw) });
  assert.deepEqual(await client.next(), expected, `answer to ${String(raw)}`);
}

// ---------------------------------------------------------------------------------------------
// The same scenarios on both adapters: a parser written for Nest's WsAdapter works unchanged.
// ---------------------------------------------------------------------------------------------

/** A parser as Nest's WsAdapter types it (it calls the parser with the frame alone). */
type NestParser = NonNullable<NonNullable<ConstructorParameters<typeof WsAdapter>[1]>['messageParser']>;
/** Parsers in the shared table read only their first argument, as WsAdapter passes nothing else. */
type SharedParser = (data: string | Buffer) => ReturnType<MessageParser>;

interface Served {
  url: string;
  /** The adapter's `setMessageParser`, after `listen`. */
  setMessageParser(parser: SharedParser): void;
  close(): Promise<void>;
}

interface Side {
  name: string;
  /** Boots the parser gateway; `install` says whether the parser is an option or set before listen. */
  start(parser: SharedParser | undefined, install: 'option' | 'set'): Promise<Served>;
}

async function listen(app: INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return `ws://127.0.0.1:${port}/parse`;
}

async function create(module: Type): Promise<INestApplication> {
  return NestFactory.create(module, { logger: false });
}

const sides: Side[] = [
  {
    name: 'RoomsAdapter',
    async start(parser, install) {
      const app = await create(RoomsParserModule);
      const options: RoomsAdapterOptions = install === 'option' && parser ? { messageParser: parser } : {};
      const adapter = new RoomsAdapter(app, options);
      if (install === 'set' && parser) adapter.setMessageParser(parser);
      const served = await listenWith(app, adapter);
      return { url: served.url('/parse'), setMessageParser: (p) => adapter.setMessageParser(p), close: served.close };
    },
  },
  {
    name: "Nest's WsAdapter",
    async start(parser, install) {
      const app = await create(PlainParserModule);
      const nestParser = parser as NestParser | undefined;
      const adapter = new WsAdapter(app, install === 'option' && nestParser ? { messageParser: nestParser } : {});
      if (install === 'set' && nestParser) adapter.setMessageParser(nestParser);
      app.useWebSocketAdapter(adapter);
      const url = await listen(app);
      return { url, setMessageParser: (p) => adapter.setMessageParser(p as NestParser), close: () => app.close() };
    },
  },
];

interface Scenario {
  name: string;
  parser?: SharedParser;
  install?: 'option' | 'set';
  run(client: TestClient, served: Served): Promise<void>;
}

/** What a parser was handed, frame by frame. */
const handed: string[] = [];
function recording(data: string | RawData) {
  handed.push(typeof data === 'string' ? 'string' : Buffer.isBuffer(data) ? 'Buffer' : 'other');
  return typeof data === 'string' ? arrayParser(data) : binaryParser(data);
}

const shared: Scenario[] = [
  {
    name: 'a parser given as an option reads array frames; the handler gets its data',
    parser: arrayParser,
    install: 'option',
    async run(client) {
      await assertAnswer(client, '["say",{"text":"hi"}]', { event: 'said', data: { text: 'hi' } });
      await assertAnswer(client, '["echo",[1,2]]', { event: 'echo', data: [1, 2] });
    },
  },
  {
    name: 'a parser set with setMessageParser before listen reads every frame',
    parser: arrayParser,
    install: 'set',
    async run(client) {
      await assertAnswer(client, '["say",{"text":"set"}]', { event: 'said', data: { text: 'set' } });
    },
  },
  {
    name: 'setMessageParser after listen reads the frames that arrive from then on',
    async run(client, served) {
      await assertAnswer(client, '{"event":"echo","data":"json"}', { event: 'echo', data: 'json' });
      served.setMessageParser(arrayParser);
      await assertAnswer(client, '["echo","array"]', { event: 'echo', data: 'array' });
    },
  },
  {
    name: 'a text frame reaches the parser as a string, a binary frame as a Buffer',
    parser: recording,
    install: 'option',
    async run(client) {
      handed.length = 0;
      await assertAnswer(client, '["echo","text"]', { event: 'echo', data: 'text' });
      await assertAnswer(client, binaryEvent('say', 'binary'), { event: 'said', data: 'binary' });
      assert.deepEqual(handed, ['string', 'Buffer']);
    },
  },
];

/*
 * Where the adapters differ on purpose (README, "Choices we made"), so these are not run as pairs:
 * - a parser that throws, returns nothing, or names an event no handler takes: WsAdapter drops the
 *   frame without a word (logging a custom parser's throw); RoomsAdapter answers an exception frame.
 * - a parsed `id` is echoed on replies and `{ ack }` answers an emitWithAck: RoomsAdapter only.
 * - the parser's second argument, `isBinary`: RoomsAdapter only.
 * - without a parser, a binary frame holding JSON: WsAdapter parses it, RoomsAdapter refuses it.
 * Each RoomsAdapter behaviour is tested below.
 */

for (const side of sides) {
  describe(`message parser scenarios on ${side.name}`, () => {
    for (const scenario of shared) {
      it(scenario.name, async () => {
        const served = await side.start(scenario.parser, scenario.install ?? 'option');
        try {
          const client = await TestClient.connect(served.url, { welcome: false });
          await scenario.run(client, served);
          await client.close();
        } finally {
          await served.close();
        }
      });
    }
  });
}

/** Sends `raw` and asserts the next frame is a handler's exception (Nest 12 adds `cause`) with `message` and `id`. */
async function assertHandlerException(client: TestClient, raw: string | Buffer, message: string, id: string | number) {
  client.send(raw, { binary: Buffer.isBuffer(raw) });
  const got = await client.next();
  assert.equal(got.event, 'exception');
  assert.equal(got.data.message, message);
  assert.equal(got.id, id);
}

// ---------------------------------------------------------------------------------------------
// RoomsAdapter's own guarantees with a parser in place.
// ---------------------------------------------------------------------------------------------

async function withChat(parser: MessageParser, test: (app: TestApp, client: TestClient) => Promise<void>) {
  const app = await startApp(ChatModule, { messageParser: parser });
  try {
    const client = await TestClient.connect(app.url('/chat'));
    await test(app, client);
    await client.close();
  } finally {
    await app.close();
  }
}

/** The client is still served, through the same parser. */
async function assertStillServed(client: TestClient, frame = '["echo","still open"]'): Promise<void> {
  await assertAnswer(client, frame, { event: 'echo', data: 'still open' });
}

describe('RoomsAdapter with a message parser', () => {
  it('answers a parser that throws with an exception frame (a WsException with its own words) and stays open', async () => {
    const throwing: MessageParser = (data) => {
      const text = data.toString();
      if (text === 'plain') throw new Error('parser internals /srv/app');
      if (text === 'reason') throw new WsException('Frames are arrays.');
      if (text === 'object') throw new WsException({ code: 7 });
      if (text === 'string') throw 'a string';
      return arrayParser(data);
    };
    await withChat(throwing, async (_app, client) => {
      await assertAnswer(client, 'plain', exception(PARSER_FAILED));
      await assertAnswer(client, 'reason', exception('Frames are arrays.'));
      await assertAnswer(client, 'object', exception(PARSER_FAILED));
      await assertAnswer(client, 'string', exception(PARSER_FAILED));
      // arrayParser's own JSON.parse throwing on text that is not JSON
      await assertAnswer(client, 'not json', exception(PARSER_FAILED));
      await assertStillServed(client);
    });
  });

  it('answers a parser that returns nothing (undefined or null) and stays open', async () => {
    const nothing: MessageParser = (data) => {
      const text = data.toString();
      if (text === 'null') return null as never;
      return arrayParser(data);
    };
    await withChat(nothing, async (_app, client) => {
      await assertAnswer(client, '{"event":"echo","data":1}', exception(PARSED_NOTHING));
      await assertAnswer(client, '[5]', exception(PARSED_NOTHING));
      await assertAnswer(client, 'null', exception(PARSED_NOTHING));
      await assertStillServed(client);
    });
  });

  it('answers a parser result that is not an event, after the same checks as a JSON frame, and stays open', async () => {
    const results: Record<string, unknown> = {
      string: 'echo',
      number: 42,
      boolean: true,
      array: ['echo', 1],
      fn: () => 'echo',
    };
    const odd: MessageParser = (data) => {
      const text = data.toString();
      if (text in results) return results[text] as never;
      return arrayParser(data);
    };
    await withChat(odd, async (_app, client) => {
      for (const kind of Object.keys(results)) await assertAnswer(client, kind, exception(PARSED_NOT_AN_EVENT));
      // an object result meets the router's checks: no event, a bad id, an unknown event
      await assertAnswer(client, '["", 1]', exception(UNKNOWN_EVENT('')));
      await assertAnswer(client, '["nope", 1, "n"]', exception(UNKNOWN_EVENT('nope'), 'n'));
      await assertAnswer(client, '["echo", 1, {"x": 1}]', exception(BAD_ID));
      assert.deepEqual(await client.request('rooms'), exception(PARSED_NOTHING));
      await assertStillServed(client);
    });
    const noEvent: MessageParser = (data) => (data.toString() === 'bare' ? ({ data: 1 } as never) : arrayParser(data));
    await withChat(noEvent, async (_app, client) => {
      await assertAnswer(client, 'bare', exception(NO_EVENT));
      await assertStillServed(client);
    });
  });

  it("carries a parsed id on replies and on a handler's exception frames", async () => {
    await withChat(arrayParser, async (_app, client) => {
      await assertAnswer(client, '["echo","x",7]', { event: 'echo', data: 'x', id: 7 });
      await assertAnswer(client, '["join",{"room":"lobby"},"j1"]', { event: 'joined', data: 'lobby', id: 'j1' });
      await assertHandlerException(client, '["join",{"room":""},"j2"]', INVALID_ROOM_NAME(256), 'j2');
      await assertAnswer(client, '["rooms",null,3]', { event: 'rooms', data: [client.id, 'lobby'], id: 3 });
    });
  });

  it('settles an emitWithAck with an answer the parser reads, and refuses a stray one', async () => {
    await withChat(arrayParser, async (app, client) => {
      const answers = app.rooms.to(client.id).emitWithAck('question', 'ready?');
      const asked = await client.next();
      assert.equal(asked.event, 'question');
      assert.equal(typeof asked.ack, 'number');
      client.send(JSON.stringify(['ack', asked.ack, 'yes']));
      assert.deepEqual(await answers, ['yes']);
      await assertAnswer(client, JSON.stringify(['ack', asked.ack, 'again']), exception(STRAY_ACK));
      await assertStillServed(client);
    });
  });

  it('hands binary frames to a parser that reads a binary format, with isBinary', async () => {
    const flags: Array<[string, boolean]> = [];
    const flagged: MessageParser = (data, isBinary) => {
      flags.push([typeof data === 'string' ? 'string' : 'Buffer', isBinary]);
      return binaryParser(data);
    };
    await withChat(flagged, async (app, client) => {
      await assertAnswer(client, binaryEvent('echo', 'hello'), { event: 'echo', data: 'hello' });
      await assertAnswer(client, binaryEvent('echo', 'with id', 513), { event: 'echo', data: 'with id', id: 513 });
      await assertHandlerException(client, binaryEvent('join', '', 9), INVALID_ROOM_NAME(256), 9);
      // the format's own refusals: text is for no handler, a cut frame throws, a bad tag says why
      await assertAnswer(client, '{"event":"echo","data":1}', exception(PARSED_NOTHING));
      await assertAnswer(client, binaryEvent('echo', 'x').subarray(0, 4), exception(PARSER_FAILED));
      await assertAnswer(client, Buffer.from([1]), exception(PARSER_FAILED));
      await assertAnswer(client, Buffer.from([9, 9]), exception('Unknown frame tag 9.'));
      const answers = app.rooms.to(client.id).emitWithAck('question');
      const asked = await client.next();
      client.send(binaryAck(asked.ack!, 'binary yes'), { binary: true });
      assert.deepEqual(await answers, ['binary yes']);
      await assertAnswer(client, binaryEvent('echo', 'still open'), { event: 'echo', data: 'still open' });
      assert.deepEqual(flags.slice(0, 4), [
        ['Buffer', true],
        ['Buffer', true],
        ['Buffer', true],
        ['string', false],
      ]);
    });
  });

  it("takes a parser typed for Nest's WsAdapter as is", async () => {
    // The WsAdapter's own parser type must be accepted without a cast (checked by the build).
    const nestParser: (data: string | Buffer | ArrayBuffer | Buffer[]) => { event: string; data: any } | void = (
      data,
    ) => {
      const [event, payload] = JSON.parse(data.toString()) as [string, unknown];
      return { event, data: payload };
    };
    await withChat(nestParser, async (_app, client) => {
      await assertStillServed(client);
    });
  });
});
