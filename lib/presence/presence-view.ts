import type { WireEntry, WireOp } from '../cluster/presence-channel.js';
import type { PresenceDiff, PresenceEntries, PresenceMeta } from './presence.types.js';

/** One entry as this server holds it. */
interface Entry {
  readonly room: string;
  readonly key: string;
  readonly presence: PresenceMeta;
}

/** What one server has tracked, as this server last learnt it: its state after change number `seq`. */
export interface ServerEntries {
  seq: number;
  /** socketId -> room -> entry. */
  readonly sockets: Map<string, Map<string, Entry>>;
}

/** Receives one `'presence'` diff of one room. */
export type DiffListener = (room: string, diff: PresenceDiff) => void;

const emptyEntries = (): PresenceEntries => Object.create(null) as PresenceEntries;

/** Adds `presence` under `key` to one side of a diff. */
function add(entries: PresenceEntries, key: string, presence: PresenceMeta): void {
  (entries[key] ??= []).push(presence);
}

/** The diffs of several changes at once (a snapshot, a server gone), one per room. */
class DiffBatch {
  readonly rooms = new Map<string, PresenceDiff>();

  of(room: string): PresenceDiff {
    let diff = this.rooms.get(room);
    if (diff === undefined) this.rooms.set(room, (diff = { joins: emptyEntries(), leaves: emptyEntries() }));
    return diff;
  }
}

/**
 * Every server's presence entries as this server knows them (its own and its replicas of the
 * others'), indexed by room for reads; it turns every change into the room's diff. It knows
 * nothing of the cluster: the replication (./presence-replication.ts) feeds it.
 */
export class PresenceView {
  private readonly servers = new Map<string, ServerEntries>();
  /** room -> key -> socketId -> entry: what a read returns, grouped as it returns it. */
  private readonly rooms = new Map<string, Map<string, Map<string, PresenceMeta>>>();

  constructor(private readonly onDiff: DiffListener) {}

  /** The entries of `room`, cluster-wide, as a fresh null-prototype object. */
  read(room: string): PresenceEntries {
    const result = emptyEntries();
    const keys = this.rooms.get(room);
    if (keys === undefined) return result;
    for (const [key, sockets] of keys) result[key] = [...sockets.values()];
    return result;
  }

  /** What this server knows of `server`, created empty (its state before its first change). */
  server(server: string): ServerEntries {
    let entries = this.servers.get(server);
    if (entries === undefined) this.servers.set(server, (entries = { seq: 0, sockets: new Map() }));
    return entries;
  }

  knows(server: string): boolean {
    return this.servers.has(server);
  }

  /** Whether this server holds what any server other than `self` tracked. */
  hasReplicas(self: string): boolean {
    for (const server of this.servers.keys()) if (server !== self) return true;
    return false;
  }

  /** The room a socket is tracked in, with its key, or undefined. */
  entry(server: string, socketId: string, room: string): { key: string; presence: PresenceMeta } | undefined {
    return this.servers.get(server)?.sockets.get(socketId)?.get(room);
  }

  /** The rooms `socketId` is tracked in. */
  roomsOf(server: string, socketId: string): string[] {
    const rooms = this.servers.get(server)?.sockets.get(socketId);
    return rooms === undefined ? [] : [...rooms.keys()];
  }

  /** The entries of one socket of `server`, as servers send them. */
  entriesOfSocket(server: string, socketId: string): WireEntry[] {
    const rooms = this.servers.get(server)?.sockets.get(socketId);
    if (rooms === undefined) return [];
    return [...rooms.values()].map(({ room, key, presence }) => [socketId, room, key, presence.meta, presence.since]);
  }

  /** Every entry of `server`, as servers send them. */
  entriesOf(server: string): WireEntry[] {
    const entries: WireEntry[] = [];
    const sockets = this.servers.get(server)?.sockets;
    if (sockets === undefined) return entries;
    for (const [socketId, rooms] of sockets) {
      for (const { room, key, presence } of rooms.values()) {
        entries.push([socketId, room, key, presence.meta, presence.since]);
      }
    }
    return entries;
  }

  /** Applies one change of `server`'s entries; its room hears one diff. */
  apply(server: string, op: WireOp): void {
    const [socketId, room] = op;
    const diff = { joins: emptyEntries(), leaves: emptyEntries() };
    const old = this.remove(server, socketId, room);
    if (old !== undefined) add(diff.leaves, old.key, old.presence);
    if (op.length === 5) {
      const entry = this.insert(server, op);
      add(diff.joins, entry.key, entry.presence);
    }
    if (old !== undefined || op.length === 5) this.onDiff(room, diff);
  }

  /**
   * Replaces what this server knows of `server` with `entries`, its state after change `seq`:
   * each room that changed hears one diff (entries that differ leave and join; equal ones stay).
   */
  replace(server: string, seq: number, entries: readonly WireEntry[]): void {
    const batch = new DiffBatch();
    const state = this.server(server);
    const incoming = new Map<string, WireEntry>();
    for (const entry of entries) incoming.set(`${entry[0]}\n${entry[1]}`, entry);
    for (const [socketId, rooms] of [...state.sockets]) {
      for (const entry of [...rooms.values()]) {
        const next = incoming.get(`${socketId}\n${entry.room}`);
        if (next !== undefined && sameEntry(entry, next)) {
          incoming.delete(`${socketId}\n${entry.room}`);
          continue;
        }
        this.remove(server, socketId, entry.room);
        add(batch.of(entry.room).leaves, entry.key, entry.presence);
      }
    }
    for (const next of incoming.values()) {
      const entry = this.insert(server, next);
      add(batch.of(entry.room).joins, entry.key, entry.presence);
    }
    state.seq = seq;
    for (const [room, diff] of batch.rooms) this.onDiff(room, diff);
  }

  /** Forgets `server` (gone from the cluster): every room it had entries in hears their leaves. */
  drop(server: string): void {
    const state = this.servers.get(server);
    if (state === undefined) return;
    this.replace(server, state.seq, []);
    this.servers.delete(server);
  }

  private insert(server: string, [socketId, room, key, meta, since]: WireEntry): Entry {
    const presence: PresenceMeta = Object.freeze({ socketId, meta, since });
    const entry: Entry = { room, key, presence };
    const sockets = this.server(server).sockets;
    let rooms = sockets.get(socketId);
    if (rooms === undefined) sockets.set(socketId, (rooms = new Map()));
    rooms.set(room, entry);
    let keys = this.rooms.get(room);
    if (keys === undefined) this.rooms.set(room, (keys = new Map()));
    let bySocket = keys.get(key);
    if (bySocket === undefined) keys.set(key, (bySocket = new Map()));
    bySocket.set(socketId, presence);
    return entry;
  }

  private remove(server: string, socketId: string, room: string): Entry | undefined {
    const sockets = this.servers.get(server)?.sockets;
    const rooms = sockets?.get(socketId);
    const entry = rooms?.get(room);
    if (entry === undefined) return undefined;
    rooms!.delete(room);
    if (rooms!.size === 0) sockets!.delete(socketId);
    const keys = this.rooms.get(room)!;
    const bySocket = keys.get(entry.key)!;
    bySocket.delete(socketId);
    if (bySocket.size === 0) keys.delete(entry.key);
    if (keys.size === 0) this.rooms.delete(room);
    return entry;
  }
}

/** Whether a held entry is the one a snapshot lists (a re-track has a new `since` or key or meta). */
function sameEntry(entry: Entry, [, , key, meta, since]: WireEntry): boolean {
  return (
    entry.key === key && entry.presence.since === since && JSON.stringify(entry.presence.meta) === JSON.stringify(meta)
  );
}
