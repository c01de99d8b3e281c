/**
 * Run as its own process by e2e/debug-trace.test.ts, with or without NODE_DEBUG=nestjs-rooms (which
 * Node reads when the library loads): two apps on one in-memory broker; a client of the second
 * joins a room with a frame, and the first broadcasts to that room, so every hop happens once:
 * a frame in, a join, a broadcast out, cluster messages out and in. Prints `done` when the client
 * has the broadcast.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { InMemoryBroker, RoomsModule } from '../../lib/index.js';
import { startApp } from './app.js';
import { ChatGateway } from './chat.fixture.js';
import { TestClient } from './client.js';
import { untilMeshed } from './timing.js';

const broker = new InMemoryBroker({ heartbeatInterval: 100, heartbeatTimeout: 2000 });

@Module({ imports: [RoomsModule.forRoot({ broker })], providers: [ChatGateway] })
class TracedModule {}

const apps = [await startApp(TracedModule), await startApp(TracedModule)];
await untilMeshed(apps);
const client = await TestClient.connect(apps[1].url('/chat'));
const joined = await client.request('join', { room: 'traced-room' });
if (joined.event !== 'joined') throw new Error(`expected joined, got ${JSON.stringify(joined)}`);
apps[0].rooms.to('traced-room').emit('traced', 1);
const traced = await client.next();
if (traced.event !== 'traced') throw new Error(`expected traced, got ${JSON.stringify(traced)}`);
await client.close();
await Promise.all(apps.map((app) => app.close()));
process.stdout.write('done\n');
