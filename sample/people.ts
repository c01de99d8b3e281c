import { WsException } from '@nestjs/websockets';
import type { RoomSocket } from '../lib/index.js';

/** Who sent something: the socket (one tab) and the name its person picked. */
export interface Person {
  id: string;
  name: string;
}

/** The name this socket said `hello` with; handlers that need one refuse sockets without it. */
export function personOf(socket: RoomSocket): Person {
  const name = socket.data.name;
  if (typeof name !== 'string') throw new WsException('Say "hello" with a name first.');
  return { id: socket.id, name };
}
