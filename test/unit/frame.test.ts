import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { encodeEvent, encodePayload, serializeEvent } from '../../lib/broadcast/frame.js';
import { RoomsError } from '../../lib/index.js';

/*
 * The pre-built frames of lib/broadcast/frame.ts at the edges of RFC 6455's length encodings:
 * 125 bytes (7-bit length), 126 and 65535 (16-bit), 65536 (64-bit). The header is parsed by hand,
 * and each frame is also written to a real `ws` client, which must read it as the same text.
 */

const LENGTHS = [0, 1, 125, 126, 65535, 65536, 200_000];

/** `{"event":"e","data":"xxx…"}` of exactly `length` bytes of UTF-8 JSON (length >= 23). */
function eventOfLength(length: number): { event: string; data: string } {
  const overhead = JSON.stringify({ event: 'e', data: '' }).length;
  return { event: 'e', data: 'x'.repeat(length - overhead) };
}

interface Header {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** The 7-bit length field: the length itself, or 126 / 127 for a 16-bit / 64-bit length behind it. */
  lengthField: number;
  length: number;
  headerLength: number;
}

function parseHeader(frame: Buffer): Header {
  const lengthField = frame[1] & 0x7f;
  let length = lengthField;
  let headerLength = 2;
  if (lengthField === 126) {
    length = frame.readUInt16BE(2);
    headerLength = 4;
  } else if (lengthField === 127) {
    length = Number(frame.readBigUInt64BE(2));
    headerLength = 10;
  }
  return {
    fin: (frame[0] & 0x80) !== 0,
    rsv: (frame[0] >> 4) & 0x07,
    opcode: frame[0] & 0x0f,
    masked: (frame[1] & 0x80) !== 0,
    lengthField,
    length,
    headerLength,
  };
}

/** The smallest length encoding RFC 6455 allows for `length` bytes. */
function expectedEncoding(length: number): { lengthField: number; headerLength: number } {
  if (length <= 125) return { lengthField: length, headerLength: 2 };
  if (length <= 65535) return { lengthField: 126, headerLength: 4 };
  return { lengthField: 127, headerLength: 10 };
}

function assertTextFrame(frame: Buffer, payload: Buffer, expected: Buffer): void {
  const header = parseHeader(frame);
  const encoding = expectedEncoding(expected.length);
  assert.deepEqual(
    { fin: header.fin, rsv: header.rsv, opcode: header.opcode, masked: header.masked },
    { fin: true, rsv: 0, opcode: 1, masked: false },
    'one final, unmasked, uncompressed text frame',
  );
  assert.equal(header.lengthField, encoding.lengthField, `length field for ${expected.length} bytes`);
  assert.equal(header.headerLength, encoding.headerLength);
  assert.equal(header.length, expected.length);
  assert.equal(frame.length, header.headerLength + expected.length, 'nothing after the payload');
  assert.ok(frame.subarray(header.headerLength).equals(expected), 'the payload follows the header');
  assert.ok(payload.equals(expected), 'payload is the JSON bytes');
  assert.equal(payload.buffer, frame.buffer, 'payload is a view into the frame, not a copy');
}

/**
 * A WebSocket server written by hand, so that the bytes a client gets are exactly the frames the
 * test hands it: it answers the handshake, then writes each frame given to `send`.
 */
class RawFrameServer {
  private readonly http: Server = createServer();
  private socket: Duplex | undefined;
  private readonly sockets = new Set<Duplex>();
  url = '';

  async start(): Promise<void> {
    this.http.on('upgrade', (request, socket) => {
      const accept = createHash('sha1')
        .update(`${request.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      this.socket = socket;
      this.sockets.add(socket);
    });
    this.http.listen(0, '127.0.0.1');
    await once(this.http, 'listening');
    this.url = `ws://127.0.0.1:${(this.http.address() as { port: number }).port}/`;
  }

  /** Connects a `ws` client and resolves with what it reads for each frame written to it. */
  async roundTrip(frames: Buffer[]): Promise<Array<{ text: string; isBinary: boolean }>> {
    const client = new WebSocket(this.url);
    await once(client, 'open');
    const received: Array<{ text: string; isBinary: boolean }> = [];
    const all = new Promise<void>((resolve, reject) => {
      client.on('message', (data, isBinary) => {
        received.push({ text: (data as Buffer).toString('utf8'), isBinary });
        if (received.length === frames.length) resolve();
      });
      client.on('error', reject);
      client.on('close', (code) => reject(new Error(`client closed with ${code} after ${received.length} frames`)));
    });
    for (const frame of frames) this.socket!.write(frame);
    await all;
    client.removeAllListeners('close');
    client.terminate();
    return received;
  }

  close(): Promise<void> {
    // Upgraded sockets are no longer the HTTP server's to close.
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.http.close(() => resolve()));
  }
}

describe('frame: encodeEvent', () => {
  for (const length of LENGTHS.filter((n) => n >= 23)) {
    it(`frames a ${length}-byte event with the smallest length encoding`, () => {
      const { event, data } = eventOfLength(length);
      const json = Buffer.from(JSON.stringify({ event, data }));
      assert.equal(json.length, length);
      const encoded = encodeEvent(event, data);
      assertTextFrame(encoded.frame, encoded.payload, json);
    });
  }

  it('counts the length in bytes, not characters', () => {
    // 'é' is two bytes and '€' three: 125 characters of JSON, more bytes, so a 16-bit length.
    const data = 'é€'.repeat(20) + 'x'.repeat(125 - 23 - 40);
    const json = Buffer.from(JSON.stringify({ event: 'e', data }));
    assert.equal(JSON.stringify({ event: 'e', data }).length, 125);
    assert.equal(json.length, 185);
    const encoded = encodeEvent('e', data);
    assertTextFrame(encoded.frame, encoded.payload, json);
  });

  it('carries the ack id in the JSON when there is one', () => {
    const encoded = encodeEvent('ask', { q: 1 }, 7);
    assert.deepEqual(JSON.parse(encoded.payload.toString()), { event: 'ask', data: { q: 1 }, ack: 7 });
    assert.equal(encoded.payload.toString(), serializeEvent('ask', { q: 1 }, 7));
  });

  it('refuses an empty or non-string event name, and data JSON cannot carry, with a RoomsError', () => {
    assert.throws(() => encodeEvent('', 1), RoomsError);
    assert.throws(() => encodeEvent(42 as unknown as string, 1), RoomsError);
    assert.throws(() => encodeEvent('big', { n: 1n }), RoomsError);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.throws(() => encodeEvent('cycle', cycle), RoomsError);
  });
});

describe('frame: encodePayload', () => {
  for (const length of LENGTHS) {
    it(`frames a ${length}-byte payload from another server byte for byte`, () => {
      // Any bytes at all, newlines included: the payload is framed, never parsed.
      const payload = Buffer.alloc(length, 'a\nb');
      const encoded = encodePayload(payload);
      assertTextFrame(encoded.frame, encoded.payload, payload);
      assert.notEqual(encoded.payload.buffer, payload.buffer, 'the frame owns its bytes');
    });
  }
});

describe('frame: a real ws client reads the frames', () => {
  const server = new RawFrameServer();
  before(() => server.start());
  after(() => server.close());

  it('reads each length edge as one text message with the same JSON', async () => {
    const events = LENGTHS.filter((n) => n >= 23).map(eventOfLength);
    const frames = events.map(({ event, data }) => encodeEvent(event, data).frame);
    const received = await server.roundTrip(frames);
    assert.deepEqual(
      received.map(({ text, isBinary }) => ({ parsed: JSON.parse(text) as unknown, isBinary })),
      events.map((event) => ({ parsed: event, isBinary: false })),
    );
  });

  it('reads frames of payloads from another server, and multi-byte text, unchanged', async () => {
    const payloads = [125, 126, 65535, 65536].map((length) => {
      const { event, data } = eventOfLength(length);
      return Buffer.from(JSON.stringify({ event, data: `${data.slice(2)}\n€` }));
    });
    const received = await server.roundTrip(payloads.map((payload) => encodePayload(payload).frame));
    assert.deepEqual(
      received.map(({ text }) => text),
      payloads.map((payload) => payload.toString('utf8')),
    );
  });
});
