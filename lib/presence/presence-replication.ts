import { EventEmitter } from 'node:events';
import { MessageType, type PresenceMessage } from '../cluster/cluster-messages.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { PresenceChannel, WireEntry, WireOp } from '../cluster/presence-channel.js';
import type { CheckedPresence } from './presence-limits.js';
import { PresenceView, type ServerEntries } from './presence-view.js';
import type { PresenceDiff, PresenceEntries } from './presence.types.js';

/** The `'presence'` event, with its listeners' arguments. */
export interface PresenceEvents {
  /** Entries of `room` changed somewhere in the cluster. */
  presence: [room: string, diff: PresenceDiff];
}

/**
 * This server's presence: the only writer of its own entries, and the keeper of a replica of
 * every other server's, all answered from memory. Every change of this server's entries gets the
 * next change number and goes out as a delta; a replica applies a delta only when it is the next
 * number, and otherwise asks that server for a snapshot. Snapshots also go to every server that
 * appears, and to everyone when the broker comes back; heartbeats carry the latest number, so a
 * lost last delta is noticed too. A server declared gone takes its entries with it.
 */
export class Presence extends EventEmitter<PresenceEvents> implements PresenceChannel {
  private readonly view = new PresenceView((room, diff) => this.emit('presence', room, diff));
  private change = 0;
  /** This server's own entries, the ones it writes. */
  private readonly own: ServerEntries;
  /** When a snapshot was last asked of each server, so that one gap asks once per heartbeat interval. */
  private readonly asked = new Map<string, number>();

  constructor(private readonly cluster: ClusterNode) {
    super();
    this.own = this.view.server(cluster.id);
    cluster.presence = this;
    cluster.on('peer-up', (node) => this.peerUp(node));
    cluster.on('peer-down', (node) => this.peerDown(node));
    cluster.on('broker-status', (up) => up && this.brokerBack());
  }

  get latestChange(): number {
    return this.change;
  }

  /** The entries of `room` on every server. */
  read(room: string): PresenceEntries {
    return this.view.read(room);
  }

  /** Tracks (or re-tracks, replacing key and meta) a socket of this server in `room`. */
  track(socketId: string, room: string, { key, meta }: CheckedPresence): void {
    this.commit([[socketId, room, key, meta, Date.now()]]);
  }

  /** Stops tracking a socket in `room`; nothing when it is not tracked there. */
  untrack(socketId: string, room: string): void {
    // Leaves run through here whether or not presence is used: most are done after one check.
    if (this.own.sockets.size !== 0 && this.view.entry(this.cluster.id, socketId, room) !== undefined)
      this.commit([[socketId, room]]);
  }

  /** A socket's entries here, as `restore` takes them back (a dropped socket's session keeps them). */
  /** How many entries this server's own sockets hold, in every room (the `presence_entries` gauge). */
  get ownEntryCount(): number {
    let count = 0;
    for (const rooms of this.own.sockets.values()) count += rooms.size;
    return count;
  }

  entriesOf(socketId: string): WireEntry[] {
    return this.own.sockets.size === 0 ? [] : this.view.entriesOfSocket(this.cluster.id, socketId);
  }

  /** Tracks a recovered socket again as it was (keys, meta, `since`): one change, one diff per room. */
  restore(entries: readonly WireEntry[]): void {
    if (entries.length > 0) this.commit([...entries]);
  }

  /** Stops tracking a socket anywhere (it disconnected): one change, one diff per room. */
  untrackAll(socketId: string): void {
    if (this.own.sockets.size === 0) return;
    const rooms = this.view.roomsOf(this.cluster.id, socketId);
    if (rooms.length > 0) this.commit(rooms.map((room): WireOp => [socketId, room]));
  }

  // ---- from the cluster ------------------------------------------------------------------------

  received(message: PresenceMessage): void {
    const sender = message.n;
    switch (message.t) {
      case MessageType.PresenceDelta: {
        const { s: change, o: ops } = message;
        const replica = this.view.server(sender);
        if (change <= replica.seq) return; // seen already (in a snapshot or before)
        if (change !== replica.seq + 1) return this.ask(sender);
        for (const op of ops) this.view.apply(sender, op);
        replica.seq = change;
        return;
      }
      case MessageType.PresenceSnapshot: {
        const { s: change, e: entries, w: wantsOurs } = message;
        this.asked.delete(sender);
        if (change > this.view.server(sender).seq) this.view.replace(sender, change, entries);
        if (wantsOurs === true) this.sendSnapshot(sender);
        return;
      }
      case MessageType.PresenceSyncRequest:
        this.sendSnapshot(sender);
        return;
    }
  }

  heartbeat(node: string, latestChange: number | undefined): void {
    if (latestChange !== undefined && latestChange > (this.view.knows(node) ? this.view.server(node).seq : 0)) {
      this.ask(node);
    }
  }

  // ---- internals -------------------------------------------------------------------------------

  /** Applies one change of this server's entries here, then tells the others. */
  private commit(ops: WireOp[]): void {
    const id = this.cluster.id;
    const change = ++this.change;
    for (const op of ops) this.view.apply(id, op);
    this.view.server(id).seq = change;
    // A delta the broker cannot take now is recovered by the snapshot sent when it is back.
    this.cluster.sendPresence({ t: MessageType.PresenceDelta, n: id, s: change, o: ops });
  }

  private ask(node: string): void {
    const now = Date.now();
    const last = this.asked.get(node);
    if (last !== undefined && now - last < this.cluster.broker.heartbeatInterval) return;
    if (this.cluster.sendPresence({ t: MessageType.PresenceSyncRequest, n: this.cluster.id }, node)) {
      this.asked.set(node, now);
    }
  }

  private snapshot(wantsTheirs?: boolean): PresenceMessage {
    const id = this.cluster.id;
    const e: WireEntry[] = this.view.entriesOf(id);
    return wantsTheirs === true
      ? { t: MessageType.PresenceSnapshot, n: id, s: this.change, e, w: true }
      : { t: MessageType.PresenceSnapshot, n: id, s: this.change, e };
  }

  private sendSnapshot(node: string): void {
    this.cluster.sendPresence(this.snapshot(), node);
  }

  /** A server appeared: it learns this server's entries now rather than at the next heartbeat. */
  private peerUp(node: string): void {
    if (this.change > 0) this.sendSnapshot(node);
  }

  private peerDown(node: string): void {
    this.asked.delete(node);
    this.view.drop(node);
  }

  /**
   * The broker is back: deltas may have been lost both ways. Everyone gets this server's entries
   * and answers with theirs. A server that never used presence stays silent: the others'
   * heartbeats would tell it of any entries it lacks.
   */
  private brokerBack(): void {
    if (this.change > 0 || this.view.hasReplicas(this.cluster.id)) this.cluster.sendPresence(this.snapshot(true));
  }
}
