import { createHash } from 'node:crypto';

/**
 * Longest base64url token kept as it is; a longer one is hashed. NATS refuses a control line over
 * 4 KiB (`SUB <subject> <sid>`) by disconnecting, and the client would send it again on every
 * reconnect, so every subject stays far below that whatever the room name.
 */
const MAX_TOKEN = 192;
/** Longest prefix accepted, leaving room for the token under the same bound. */
const MAX_PREFIX = 128;

/**
 * Channel names as NATS subjects: `<prefix>.<base64url of the UTF-8 name>`, whose alphabet
 * (A-Z a-z 0-9 - _) has no `.`, wildcard or whitespace whatever the room name; or, for a long name,
 * `<prefix>.h.<sha256 hex>` (a base64url token is never one character long, so `h` is no name's
 * token). It remembers the subjects it subscribed to, to name the channel of what arrives.
 */
export class SubjectMap {
  private readonly prefix: string;
  private readonly channels = new Map<string, string>();
  private readonly subjects = new Map<string, string>();

  constructor(prefix: string) {
    this.prefix = `${prefix}.`;
  }

  /** Non-empty tokens with no whitespace, wildcard or leading `$` (NATS's own subjects). */
  static validPrefix(prefix: string): boolean {
    if (prefix.length === 0 || prefix.length > MAX_PREFIX || prefix.startsWith('$')) return false;
    return prefix.split('.').every((token) => token.length > 0 && !/[\s*>]/.test(token));
  }

  subjectOf(channel: string): string {
    const known = this.subjects.get(channel);
    if (known !== undefined) return known;
    const token = Buffer.from(channel, 'utf8').toString('base64url');
    if (token.length <= MAX_TOKEN) return this.prefix + token;
    return `${this.prefix}h.${createHash('sha256').update(channel, 'utf8').digest('hex')}`;
  }

  /** The subject of `channel`, remembered until `forget(channel)`. */
  subscribed(channel: string): string {
    const subject = this.subjectOf(channel);
    this.subjects.set(channel, subject);
    this.channels.set(subject, channel);
    return subject;
  }

  forget(channel: string): void {
    const subject = this.subjects.get(channel);
    if (subject === undefined) return;
    this.subjects.delete(channel);
    this.channels.delete(subject);
  }

  /** The channel a subscribed subject stands for. */
  channelOf(subject: string): string | undefined {
    return this.channels.get(subject);
  }
}
