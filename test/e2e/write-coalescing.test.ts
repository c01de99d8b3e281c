import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { NestFactory } from '@nestjs/core';
import { RoomsAdapter, type RoomSocket } from '../../lib/index.js';
import { INVALID_COALESCE_WRITES } from '../../lib/rooms.messages.js';
import { startApp, type TestApp } from '../support/app.js';
import { ChatModule } from '../support/chat.fixture.js';
import { TestClient, type Frame } from '../support/client.js';
import { nextTurn } from '../support/timing.js';

/*
 * Write coalescing: what one socket is written within one turn of the event loop leaves in at most
 * two writes, its first frame at once and the rest in one write at the end of the turn; in one, at
 * the end of the turn, once a turn has brought it several frames. The writes are counted on the
 * server's TCP socket itself (its `_write` and `_writev`, called through), which is where Node
 * hands bytes to the kernel.
 */

interface WriteCounts {
  /** One chunk handed to the kernel. */
  write: number;
  /** Several chunks handed to the kernel in one `writev`. */
  writev: number;
}

type Writer = (this: Socket, ...args: unknown[]) => unknown;

/** Counts the kernel writes of a server socket's TCP socket from now on. */
function countWrites(socket: RoomSocket): WriteCounts {
  const transport = (socket as unknown as { _socket: Socket & { _write: Writer; _writev: Writer } })._socket;
  const counts = { write: 0, writev: 0 };
  const write = transport._write;
  const writev = transport._writev;
  transport._write = function (...args) {
    counts.write++;
    return write.apply(this, args);
  };
  transport._writev = function (...args) {
    counts.writev++;
    return writev.apply(this, args);
  };
  return counts;
}

async function frames(client: TestClient, count: number): Promise<Frame[]> {
  const read: Frame[] = [];
  for (let i = 0; i < count; i++) read.push(await client.next());
  return read;
}

/** Five frames to one socket in one synchronous block, each through a different part of the write path. */
function fiveWays(app: TestApp, socket: RoomSocket): void {
  socket.sendEvent('one');
  app.rooms.to('feed').emit('two');
  app.rooms.to(socket.id).volatile.emit('three');
  socket.send(JSON.stringify({ event: 'four' }));
  app.rooms.to('feed').except('nobody').emit('five');
}

const FIVE = ['one', 'two', 'three', 'four', 'five'].map((event) => ({ event }));

for (const coalesceWrites of [true, false]) {
  describe(`writes of one turn (coalesceWrites: ${coalesceWrites})`, () => {
    let app: TestApp;
    before(async () => {
      app = await startApp(ChatModule, { coalesceWrites });
    });
    after(() => app.close());

    async function joined(): Promise<{ client: TestClient; socket: RoomSocket }> {
      const client = await TestClient.connect(app.url('/chat'));
      assert.deepEqual(await client.request('join', { room: 'feed' }), { event: 'joined', data: 'feed' });
      return { client, socket: app.socket(client.id) };
    }

    /** A turn that brings the socket two frames, read: its next turn holds its first frame (when coalescing). */
    async function merge(client: TestClient, socket: RoomSocket): Promise<void> {
      app.rooms.to(socket.id).emit('merge', 1);
      app.rooms.to(socket.id).emit('merge', 2);
      assert.deepEqual(await frames(client, 2), [
        { event: 'merge', data: 1 },
        { event: 'merge', data: 2 },
      ]);
    }

    for (const afterMerge of [false, true]) {
      const title = coalesceWrites
        ? afterMerge
          ? 'after a turn that merged, holds the first frame too and writes the whole turn in one writev, in order'
          : "writes a turn's first frame at once and the rest in one writev when the turn ends, in order"
        : afterMerge
          ? 'after a turn of several frames, still writes each frame as it comes, in order'
          : 'writes each frame of a turn as it comes, in order';
      it(title, async () => {
        const { client, socket } = await joined();
        if (afterMerge) await merge(client, socket);
        const counts = countWrites(socket);
        fiveWays(app, socket);
        if (coalesceWrites) {
          // Held, frames are unsent bytes as the watermarks count them; written, the kernel took them.
          assert.deepEqual(counts, afterMerge ? { write: 0, writev: 0 } : { write: 1, writev: 0 });
          assert.ok(socket.bufferedAmount > 0, 'the rest waits for the end of the turn');
        }
        await nextTurn();
        if (coalesceWrites) assert.deepEqual(counts, afterMerge ? { write: 0, writev: 1 } : { write: 1, writev: 1 });
        else assert.equal(counts.write + counts.writev, 5);
        assert.equal(socket.bufferedAmount, 0);
        assert.deepEqual(await frames(client, 5), FIVE);
        await client.close();
      });
    }

    it(
      coalesceWrites
        ? 'after a turn that merged, holds a lone frame out of the stream and writes it as it is, in one write, when the turn ends; the turn after that writes at once again'
        : 'writes a lone frame as it comes',
      async () => {
        const { client, socket } = await joined();
        await merge(client, socket);
        const counts = countWrites(socket);
        app.rooms.to('feed').emit('alone', 'x');
        const frameBytes = 2 + JSON.stringify({ event: 'alone', data: 'x' }).length;
        // Held, it is unsent as `bufferedAmount` and the watermarks count it, but not in the stream.
        if (coalesceWrites) assert.equal(socket.bufferedAmount, frameBytes);
        assert.deepEqual(counts, coalesceWrites ? { write: 0, writev: 0 } : { write: 1, writev: 0 });
        await nextTurn();
        assert.deepEqual(counts, { write: 1, writev: 0 });
        assert.equal(socket.bufferedAmount, 0);
        assert.deepEqual(await client.next(), { event: 'alone', data: 'x' });
        // Its last turn brought it one frame: the next leaves as it is written.
        app.rooms.to('feed').emit('alone', 'y');
        assert.deepEqual(counts, { write: 2, writev: 0 });
        assert.deepEqual(await client.next(), { event: 'alone', data: 'y' });
        await client.close();
      },
    );

    it('sends a sendEvent written just before a close, then the close frame', async () => {
      const { client, socket } = await joined();
      socket.sendEvent('bye', 'see you');
      socket.close(4000, 'done');
      assert.deepEqual(await client.next(), { event: 'bye', data: 'see you' });
      assert.equal((await client.closed).code, 4000);
    });

    it('sends what a socket closed mid-turn was written before its close frame, and drops what came after', async () => {
      const { client, socket } = await joined();
      const droppedBefore = app.rooms.metrics().dropped.not_open;
      app.rooms.to('feed').emit('before');
      socket.disconnect();
      app.rooms.to('feed').emit('after');
      assert.deepEqual(await client.next(), { event: 'before' });
      assert.equal((await client.closed).code, 1000);
      assert.deepEqual(client.pending, []);
      assert.equal(app.rooms.metrics().dropped.not_open, droppedBefore + 1);
    });

    it('serves other sockets on when one is cut mid-turn', async () => {
      const [{ client: cut, socket }, { client: other }] = await Promise.all([joined(), joined()]);
      await merge(cut, socket);
      app.rooms.to('feed').emit('held');
      socket.disconnect(true);
      app.rooms.to('feed').emit('next');
      assert.equal((await cut.closed).code, 1006);
      // Held frames die with the connection: a cut socket was handed nothing of this turn.
      if (coalesceWrites) assert.deepEqual(cut.pending, []);
      assert.deepEqual(await frames(other, 2), [{ event: 'held' }, { event: 'next' }]);
      assert.deepEqual(await other.request('echo', 'still served'), { event: 'echo', data: 'still served' });
      await other.close();
    });
  });
}

describe('coalesceWrites option', () => {
  it('refuses anything but a boolean when the adapter is made', async () => {
    const app = await NestFactory.create(ChatModule, { logger: false });
    for (const coalesceWrites of ['yes', 1, null]) {
      assert.throws(() => new RoomsAdapter(app, { coalesceWrites: coalesceWrites as never }), {
        message: INVALID_COALESCE_WRITES,
      });
    }
    await app.close();
  });
});
