import { WebSocket, type RawData } from 'ws';
import { nowNs, serve, sleep } from './ipc.js';
import { quantile } from './stats.js';

/**
 * The chat scenario's load: clients that speak the sample chat page's protocol. Each one opens
 * `/chat`, waits for `welcome`, says `hello` with a name, joins one public room and waits for
 * each answer; then clients `say` at random in their rooms at a fixed total rate (the text is the
 * sender's monotonic clock, so every receiver measures the latency); then they all close.
 */

interface Client {
  ws: WebSocket;
  room: string;
}

interface Pending {
  resolve(): void;
  reject(error: Error): void;
}

const clients: Client[] = [];
const roomSizes = new Map<string, number>();
let latencies: number[] = [];
let received = 0;
let exceptions = 0;
let expected = 0;
let caughtUp: (() => void) | undefined;
/** Clients the server closed while they were chatting (shed as slow consumers, say). */
let closedEarly = 0;
let leaving = false;

const SAID = Buffer.from('{"event":"said"');

function startsWith(frame: Buffer, prefix: Buffer): boolean {
  return frame.length >= prefix.length && frame.subarray(0, prefix.length).equals(prefix);
}

function heard(frame: Buffer): void {
  if (!startsWith(frame, SAID)) return;
  const { data } = JSON.parse(frame.toString()) as { data: { text: string } };
  latencies.push((nowNs() - Number(data.text)) / 1000);
  received++;
  if (caughtUp !== undefined && received >= expected) caughtUp();
}

/** One client, through `welcome`, `hello` and `join`. */
function open(url: string, name: string, room: string): Promise<void> {
  const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
  return new Promise<void>((resolve, reject) => {
    let step: 'welcome' | 'hello' | 'joined' | 'chatting' = 'welcome';
    const pending: Pending = { resolve, reject };
    ws.once('error', (error) => pending.reject(error));
    ws.on('message', (data: RawData) => {
      const frame = data as Buffer;
      if (step === 'chatting') return heard(frame);
      const { event } = JSON.parse(frame.toString()) as { event: string };
      if (event === 'exception') return pending.reject(new Error(`${name}: ${frame.toString()}`));
      if (event !== step) return; // lists (rooms, people) and others' joins arrive meanwhile
      if (step === 'welcome') {
        step = 'hello';
        ws.send(JSON.stringify({ event: 'hello', data: { name } }));
      } else if (step === 'hello') {
        step = 'joined';
        ws.send(JSON.stringify({ event: 'join', data: { room } }));
      } else {
        step = 'chatting';
        clients.push({ ws, room });
        roomSizes.set(room, (roomSizes.get(room) ?? 0) + 1);
        pending.resolve();
      }
    });
    ws.on('close', () => {
      if (step !== 'chatting') pending.reject(new Error(`${name} closed during ${step}`));
      else if (!leaving) closedEarly++;
    });
    // Server answers that are not chat messages (an exception frame, say) are counted.
    ws.on('message', (data: RawData) => {
      if (step === 'chatting' && (data as Buffer).includes('"exception"')) exceptions++;
    });
  });
}

serve({
  /** `count` clients, at most `concurrency` on their way in at a time, in `rooms` rooms round robin. */
  async join({ url, count, rooms, concurrency }: { url: string; count: number; rooms: number; concurrency: number }) {
    const started = nowNs();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        await open(url, `person ${i}`, `room ${i % rooms}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return { ms: (nowNs() - started) / 1e6 };
  },

  /** `rate` messages a second, from clients picked at random, for `seconds`; then every delivery is awaited. */
  async chat({ seconds, rate }: { seconds: number; rate: number }) {
    latencies = [];
    received = 0;
    exceptions = 0;
    expected = 0;
    const started = nowNs();
    const end = started + seconds * 1e9;
    let sent = 0;
    // Ticks of 10 ms, each sending what the rate owes by then: no drift, no bursts of catch-up.
    while (nowNs() < end) {
      const owed = Math.floor(((nowNs() - started) / 1e9) * rate);
      while (sent < owed) {
        const client = clients[Math.floor(Math.random() * clients.length)];
        expected += roomSizes.get(client.room)! - 1;
        const text = String(nowNs());
        client.ws.send(JSON.stringify({ event: 'say', data: { room: client.room, text } }));
        sent++;
      }
      await sleep(10);
    }
    const sendingMs = (nowNs() - started) / 1e6;
    if (received < expected) {
      await Promise.race([new Promise<void>((resolve) => (caughtUp = resolve)), sleep(30_000)]);
      caughtUp = undefined;
    }
    return {
      sent,
      expected,
      received,
      exceptions,
      closedEarly,
      ms: (nowNs() - started) / 1e6,
      sendingMs,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
    };
  },

  /** Every client closes; resolves once each has seen its close. */
  async leave() {
    leaving = true;
    const started = nowNs();
    await Promise.all(
      clients.map(
        ({ ws }) =>
          new Promise<void>((resolve) => {
            ws.once('close', () => resolve());
            ws.close();
          }),
      ),
    );
    clients.length = 0;
    roomSizes.clear();
    return { ms: (nowNs() - started) / 1e6 };
  },
});
