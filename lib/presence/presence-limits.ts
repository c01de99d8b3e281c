import { isValidRoomName } from '../registry/room-names.js';
import { RoomsError } from '../rooms.error.js';
import { INVALID_PRESENCE_KEY, PRESENCE_META_TOO_LARGE, UNSERIALISABLE_PRESENCE_META } from '../rooms.messages.js';
import { PRESENCE_MAX_KEY_LENGTH } from '../rooms.constants.js';

/** A key and meta that passed the limits: the meta as every server will hold it. */
export interface CheckedPresence {
  key: string;
  meta: unknown;
}

/**
 * Checks a `track` call's key and meta, throwing a `RoomsError` before anything changes. The meta
 * is kept as a copy parsed back from its JSON, so that every server holds the same value and later
 * changes to the caller's object change nothing.
 */
export function checkPresence(key: unknown, meta: unknown, maxMetaBytes: number): CheckedPresence {
  if (!isValidRoomName(key, PRESENCE_MAX_KEY_LENGTH))
    throw new RoomsError(INVALID_PRESENCE_KEY(PRESENCE_MAX_KEY_LENGTH));
  if (meta === undefined) return { key, meta: null };
  let json: string | undefined;
  try {
    json = JSON.stringify(meta);
  } catch (error) {
    throw new RoomsError(UNSERIALISABLE_PRESENCE_META(error));
  }
  // A function or a symbol serialises to nothing: there is no JSON to send.
  if (json === undefined) throw new RoomsError(UNSERIALISABLE_PRESENCE_META('it is not a JSON value'));
  if (json.length > maxMetaBytes / 3 && Buffer.byteLength(json) > maxMetaBytes) {
    throw new RoomsError(PRESENCE_META_TOO_LARGE(maxMetaBytes));
  }
  return { key, meta: JSON.parse(json) as unknown };
}
