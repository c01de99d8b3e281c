/** Socket ids are 22 base64url characters; decorator joins refuse any room with that shape. */
const SOCKET_ID_SHAPE = /^[A-Za-z0-9_-]{22}$/;

export function looksLikeSocketId(room: string): boolean {
  return room.length === 22 && SOCKET_ID_SHAPE.test(room);
}

/**
 * A non-empty string of at most `maxLength` characters, counted in code points (an emoji is one).
 * Only a name longer in UTF-16 units than the limit needs counting: no name is longer in code points.
 */
export function isValidRoomName(room: unknown, maxLength: number): room is string {
  if (typeof room !== 'string' || room.length === 0) return false;
  return room.length <= maxLength || (room.length <= 2 * maxLength && codePointsWithin(room, maxLength));
}

/** Whether `text` has at most `max` code points; a lone surrogate counts as one, as `for...of` sees it. */
function codePointsWithin(text: string, max: number): boolean {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    if (++count > max) return false;
  }
  return true;
}

/** Room arguments are `string | readonly string[]` everywhere. */
export function toRoomList(rooms: string | readonly string[]): readonly string[] {
  return typeof rooms === 'string' ? [rooms] : rooms;
}
