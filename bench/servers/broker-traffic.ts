import { Socket } from 'node:net';
import type { Handlers } from '../ipc.js';

/** Messages and bytes (payload and channel name) received from the broker. */
export interface Traffic {
  messages: number;
  bytes: number;
}

/** What one server received from its broker since the last mark, split by whether it has members in the room. */
export interface TrafficReport {
  /** On a room's channel, with members of that room on this server. */
  member: Traffic;
  /** On a room's channel, with no member of that room on this server: traffic routing could have spared it. */
  stray: Traffic;
  /** On channels of no one room (heartbeats, requests, broadcasts to several rooms). */
  other: Traffic;
}

/**
 * Counts every message a server's broker subscriber hands over, by channel, so that the
 * benchmark can tell the messages for rooms where the server has members from the others. The
 * cost is one map look-up per message, in the bench server only.
 */
export class TrafficCounter {
  private readonly byChannel = new Map<string, Traffic>();

  constructor(
    /** The room a channel carries, or undefined for a channel of no one room. */
    private readonly roomOf: (channel: string) => string | undefined,
    private readonly hasMember: (room: string) => boolean | Promise<boolean>,
  ) {}

  count(channel: string, bytes: number): void {
    const entry = this.byChannel.get(channel);
    if (entry === undefined) this.byChannel.set(channel, { messages: 1, bytes: bytes + Buffer.byteLength(channel) });
    else {
      entry.messages++;
      entry.bytes += bytes + Buffer.byteLength(channel);
    }
  }

  mark(): void {
    this.byChannel.clear();
  }

  async report(): Promise<TrafficReport> {
    const report: TrafficReport = {
      member: { messages: 0, bytes: 0 },
      stray: { messages: 0, bytes: 0 },
      other: { messages: 0, bytes: 0 },
    };
    for (const [channel, traffic] of this.byChannel) {
      const room = this.roomOf(channel);
      const into = room === undefined ? report.other : (await this.hasMember(room)) ? report.member : report.stray;
      into.messages += traffic.messages;
      into.bytes += traffic.bytes;
    }
    return report;
  }
}

interface SocketBytes {
  read: number;
  written: number;
}

/**
 * Bytes this process read from and wrote to its connections to a broker on `port` since `mark`:
 * what the broker sent it and received from it, on the wire. A connection that closed meanwhile
 * (an idle pooled one) drops out rather than making the figure negative.
 */
class WireCounter {
  private marked = new Map<Socket, SocketBytes>();

  private sockets(port: number): Socket[] {
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
    return handles.filter((handle): handle is Socket => handle instanceof Socket && handle.remotePort === port);
  }

  mark(port: number): void {
    this.marked = new Map(this.sockets(port).map((s) => [s, { read: s.bytesRead, written: s.bytesWritten }]));
  }

  since(port: number): SocketBytes {
    const total = { read: 0, written: 0 };
    for (const socket of this.sockets(port)) {
      const before = this.marked.get(socket) ?? { read: 0, written: 0 };
      total.read += socket.bytesRead - before.read;
      total.written += socket.bytesWritten - before.written;
    }
    return total;
  }
}

/** The orchestrator's commands for broker traffic: `markTraffic`, then `traffic` after the stretch. */
export function trafficHandlers(counter: TrafficCounter | undefined): Handlers {
  const wire = new WireCounter();
  return {
    markTraffic({ port }: { port: number }) {
      counter?.mark();
      wire.mark(port);
    },
    async traffic({ port }: { port: number }) {
      const wireBytes = wire.since(port);
      return { wire: wireBytes, ...(await counter?.report()) };
    },
  };
}
