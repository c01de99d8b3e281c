import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import type { Peer, WsTransport } from './peer.js';

/** How a raw `ws` server writes a broadcast, and whether it answers a join. */
export interface RawOptions {
  /** `send`: `JSON.stringify` once and `ws.send(text)` per socket; `frame`: one pre-built frame buffer per socket. */
  write: 'send' | 'frame';
  /** Answer each join with a `ws.send` (as a library that replies on join does). */
  replyOnJoin: boolean;
}

/** An unmasked text frame, header and payload in one buffer. */
function buildFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, header);
  return frame;
}

/** What a user writes by hand on `ws`: a `Map` of room -> `Set` of sockets. */
export function rawPeer(options: RawOptions): Peer {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, path: '/ws' });
  const rooms = new Map<string, Set<WebSocket>>();

  wss.on('connection', (ws) => {
    ws.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { event: string; data: string | string[] | { room: string } };
      if (message.event === 'say') return say(ws, message.data as { room: string });
      if (message.event !== 'join') return;
      for (const room of ([] as string[]).concat(message.data as string | string[])) {
        let members = rooms.get(room);
        if (members === undefined) rooms.set(room, (members = new Set()));
        members.add(ws);
      }
      if (options.replyOnJoin) ws.send(JSON.stringify({ event: 'joined', data: message.data }));
    });
    ws.on('close', () => {
      for (const members of rooms.values()) members.delete(ws);
    });
  });

  /** The chat storm's message, to the sender's room but the sender, written as a broadcast is. */
  const say = (sender: WebSocket, data: { room: string }) => {
    const members = rooms.get(data.room);
    if (members === undefined) return;
    const text = JSON.stringify({ event: 'said', data });
    if (options.write === 'send') {
      for (const ws of members) if (ws !== sender && ws.readyState === WebSocket.OPEN) ws.send(text);
      return;
    }
    const frame = buildFrame(text);
    for (const ws of members) {
      if (ws !== sender && ws.readyState === WebSocket.OPEN) (ws as unknown as WsTransport)._socket!.write(frame);
    }
  };

  const broadcast =
    options.write === 'send'
      ? (room: string, data: unknown) => {
          const members = rooms.get(room);
          if (members === undefined) return;
          const text = JSON.stringify({ event: 'tick', data });
          for (const ws of members) if (ws.readyState === WebSocket.OPEN) ws.send(text);
        }
      : (room: string, data: unknown) => {
          const members = rooms.get(room);
          if (members === undefined) return;
          const frame = buildFrame(JSON.stringify({ event: 'tick', data }));
          for (const ws of members) {
            if (ws.readyState === WebSocket.OPEN) (ws as unknown as WsTransport)._socket!.write(frame);
          }
        };

  return {
    path: '/ws',
    start: () =>
      new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve((http.address() as { port: number }).port))),
    members: (room) => rooms.get(room)?.size ?? 0,
    broadcast,
    transports: () => wss.clients as unknown as Set<WsTransport>,
  };
}
