import { createHash } from 'node:crypto';

/** `NOTIFY`'s payload limit: 8000 bytes including a terminator, so 7999 of text. */
export const MAX_NOTIFY_PAYLOAD = 7999;
/** Marks a payload carried in the notification itself, base64 (a payload is text: no NUL, valid UTF-8). */
export const INLINE = 'b';
/** Marks a payload stored in the payload table: the row's id follows. */
export const STORED = '#';

/** Prefix + ':' + 32 hex digits stays within Postgres's 63-byte identifiers. */
const MAX_PREFIX_BYTES = 30;

export function isValidChannelPrefix(prefix: string): boolean {
  const bytes = Buffer.byteLength(prefix, 'utf8');
  return bytes > 0 && bytes <= MAX_PREFIX_BYTES && !prefix.includes('\0');
}

/**
 * The Postgres channel of a cluster channel: the prefix and the first 128 bits of the SHA-256 of
 * its UTF-8, so that any room name fits the 63-byte identifier limit (a longer name would be cut
 * short by `LISTEN` and refused by `pg_notify`). Another language builds the same name; in SQL,
 * `prefix || ':' || left(encode(sha256(convert_to(channel, 'UTF8')), 'hex'), 32)`.
 */
export function channelNameOf(prefix: string, channel: string): string {
  return `${prefix}:${createHash('sha256').update(channel, 'utf8').digest('hex').slice(0, 32)}`;
}
