/**
 * What connection recovery must show on every broker: a session that moves between servers keeps
 * its id, rooms and data and gets every frame exactly once, in order, from any server.
 */
import assert from 'node:assert/strict';
import type { TestApp } from './app.js';
import { HookRecorder } from './hook-recorder.js';
import { RecoveringClient, type RecoveryFrame } from './recovery.fixture.js';
import { eventually } from './timing.js';

/** Numbered `tick`s to `room` from `app`, one per millisecond, until stopped. */
export function steadyBroadcast(app: TestApp, room: string): { stop(): void; readonly sent: number } {
  let sent = 0;
  const timer = setInterval(() => app.rooms.to(room).emit('tick', sent++), 1);
  return {
    stop: () => clearInterval(timer),
    get sent() {
      return sent;
    },
  };
}

/** The `tick` numbers among frames, which must be 0, 1, 2, ... with nothing twice or missing. */
function assertEveryTickOnce(frames: RecoveryFrame[], what: string): number[] {
  const numbers = frames.filter((frame) => frame.event === 'tick').map((frame) => frame.data as number);
  assert.deepEqual(
    numbers,
    numbers.map((_, index) => index),
    `${what}: every tick exactly once, in order`,
  );
  return numbers;
}

/**
 * Three servers with recovery on (recovery.fixture.ts's module): a socket on A drops while a third
 * server broadcasts to its room, comes back on B, drops again, and comes back on C.
 */
export async function sessionMovesBetweenServers(apps: TestApp[]): Promise<void> {
  const [a, b, c] = apps;
  const first = await RecoveringClient.connect(a.url('/recovery'));
  const id = first.session.id;
  await first.until('welcome');
  await first.client.request('join', { room: 'moving' });
  await first.client.request('remember', { name: 'ada' });
  // Ticks from a third server, and frames to the socket's id from the new one, as it moves.
  const ticks = steadyBroadcast(c, 'moving');
  const received: RecoveryFrame[] = [];
  while (received.length < 20) received.push(await first.next());
  first.drop();
  await a.app.get(HookRecorder).wait('handleDisconnect', id);
  const sentWhileAway = ticks.sent;
  await eventually(async () => ticks.sent > sentWhileAway + 20, true);
  b.rooms.to(id).emit('to its id', 'while away');
  const second = await first.reconnect(b.url('/recovery'));
  assert.equal(second.session.recovered, true);
  assert.equal(second.session.id, id);
  const { frame: welcome, before: replayed } = await second.until('welcome');
  assert.deepEqual(welcome.data, { id, recovered: true, rooms: [id, 'moving'], data: { name: 'ada' } });
  received.push(...replayed);
  const target = ticks.sent + 20;
  for (;;) {
    const frame = await second.next();
    received.push(frame);
    if (frame.event === 'tick' && (frame.data as number) >= target) break;
  }
  ticks.stop();
  assert.equal(received.filter((frame) => frame.event === 'to its id').length, 1);
  // Server A holds nothing for it any more; B has it, in its room.
  assert.deepEqual(await eventually(async () => a.recoveryState().waiting + a.recoveryState().heldRooms, 0), 0);
  assert.deepEqual([...b.socket(id).rooms], [id, 'moving']);
  assert.equal(a.findSocket(id), undefined);
  // Offsets are B's now: a second drop recovers on C from them.
  second.drop();
  await b.app.get(HookRecorder).wait('handleDisconnect', id);
  b.rooms.to('moving').emit('after the second drop', 1);
  const third = await second.reconnect(c.url('/recovery'));
  assert.equal(third.session.recovered, true);
  // Ticks still on their way at the drop come first, then the frame sent after it.
  const { before: inFlight } = await third.until('after the second drop');
  received.push(...inFlight);
  assertEveryTickOnce(received, 'the socket, over three connections on three servers');
  await third.close();
}
