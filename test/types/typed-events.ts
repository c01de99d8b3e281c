/**
 * Type-level tests: `npm test` compiles this file with the rest, and each `@ts-expect-error` line
 * fails the build if it ever compiles. Nothing here runs.
 */
import type { BroadcastOperator, RemoteSocket, RoomService } from '../../lib/index.js';

interface ServerEvents {
  said: { text: string };
  'user left': { id: string };
  tick: void;
  maybe: number | undefined;
}

export async function typedEvents(rooms: RoomService<ServerEvents>, untyped: RoomService): Promise<void> {
  rooms.to('r').emit('said', { text: 'hi' });
  rooms.emit('user left', { id: 'x' });
  rooms.to('r').except('s').local.volatile.timeout(10).emit('tick');
  rooms.emit('maybe');
  rooms.emit('maybe', 3);
  await rooms.to('r').emitWithAck('said', { text: 'ack?' });

  // @ts-expect-error: wrong payload type
  rooms.to('x').emit('said', { text: 42 });
  // @ts-expect-error: payload missing
  rooms.emit('said');
  // @ts-expect-error: unknown event name
  rooms.emit('unknown', {});
  // @ts-expect-error: extra property on the payload
  rooms.emit('said', { text: 'hi', extra: true });
  // @ts-expect-error: acks are typed the same way
  await rooms.emitWithAck('said', { text: 1 });

  const operator: BroadcastOperator<ServerEvents> = rooms.in('r');
  // @ts-expect-error: an operator keeps its events through every modifier
  operator.compress(false).timeout(5).emit('said', 'text');

  const [socket]: RemoteSocket<ServerEvents>[] = await rooms.fetchSockets();
  await socket.emit('said', { text: 'direct' });
  // @ts-expect-error: remote sockets are typed too
  await socket.emit('user left', { name: 'x' });

  // Without a map, anything goes, as in plain Socket.IO.
  untyped.to('r').emit('anything', { at: 'all' });
  untyped.emit('no-data');
}
