import { fileURLToPath } from 'node:url';
import { Child, sleep } from '../ipc.js';
import type { Sizes } from '../sizes.js';
import { CLIENT_CORE, SERVER_CORE, type Row } from './processes.js';

const script = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The sample chat app (sample/, as `npm start` runs it, in memory) under scripted clients that
 * speak its page's protocol: `chatClients` clients say hello and join one of `chatRooms` rooms,
 * chat for `chatSeconds` at `chatRate` messages a second in all, then leave. Latency is from the
 * sender's clock to each receiver's; server CPU is its own `process.cpuUsage()`.
 */
export async function chat(run: number, sizes: Sizes): Promise<Row> {
  const server = Child.spawn('sample chat', script('../servers/sample-chat.js'), [], {
    core: SERVER_CORE,
    nodeArgs: ['--expose-gc'],
  });
  let clients: Child | undefined;
  try {
    const info = (await server.ready) as { port: number; path: string };
    const url = `ws://127.0.0.1:${info.port}${info.path}`;
    clients = Child.spawn('chat clients', script('../chat-clients.js'), [], { core: CLIENT_CORE });
    await clients.ready;
    const count = sizes.chatClients;
    const before = await server.call<{ heapUsed: number }>('memory');

    await server.call('markCpu');
    const joined = await clients.call<{ ms: number }>('join', {
      url,
      count,
      rooms: sizes.chatRooms,
      concurrency: 100,
    });
    const joinCpu = await server.call<number>('cpu');
    await sleep(500);
    const after = await server.call<{ heapUsed: number }>('memory');

    await server.call('markCpu');
    const talk = await clients.call<{
      sent: number;
      expected: number;
      received: number;
      exceptions: number;
      closedEarly: number;
      ms: number;
      p50: number;
      p99: number;
    }>('chat', { seconds: sizes.chatSeconds, rate: sizes.chatRate });
    const chatCpu = await server.call<number>('cpu');
    // Missing deliveries are shown, not hidden: a client too slow for the server's watermarks is shed.
    if (talk.exceptions > 0) throw new Error(`chat: ${talk.exceptions} exception frames while chatting`);

    await server.call('markCpu');
    const left = await clients.call<{ ms: number }>('leave');
    const deadline = Date.now() + 120_000;
    while ((await server.call<number>('sockets')) > 0) {
      if (Date.now() > deadline) throw new Error('chat: sockets still connected after leaving');
      await sleep(20);
    }
    const leaveCpu = await server.call<number>('cpu');

    return {
      scenario: 'chat',
      peer: 'nestjs-rooms',
      size: count,
      run,
      metrics: {
        joinMs: joined.ms,
        joinCpuMsPerClient: joinCpu / 1e6 / count,
        heapPerClient: (after.heapUsed - before.heapUsed) / count,
        messagesPerSec: talk.sent / (talk.ms / 1000),
        deliveriesPerSec: talk.received / (talk.ms / 1000),
        deliveredShare: talk.received / talk.expected,
        closedWhileChatting: talk.closedEarly,
        latencyP50Us: talk.p50,
        latencyP99Us: talk.p99,
        serverCpu: chatCpu / (talk.ms * 1e6),
        cpuUsPerMessage: chatCpu / 1000 / talk.sent,
        leaveMs: left.ms,
        leaveCpuMsPerClient: leaveCpu / 1e6 / count,
      },
    };
  } finally {
    await Promise.all([server.stop(), clients?.stop()]);
  }
}
