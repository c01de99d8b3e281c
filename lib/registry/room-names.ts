/** Socket ids are 22 base64url characters; decorator joins refuse any room with that shape. */
const SOCKET_ID_SHAPE = /^[A-Za-z0-9_-]{22}$/;

export function looksLikeSocketId(room: string): boolean {
  return room.length === 22 && SOCKET_ID_SHAPE.test(room);
}

export function isValidRoomName(room: unknown, maxLength: number): room is string {
  return typeof room === 'string' && room.length > 0 && room.length <= maxLength;
}

/** Room arguments are `string | readonly string[]` everywhere. */
export function toRoomList(rooms: string | readonly string[]): readonly string[] {
  return typeof rooms === 'string' ? [rooms] : rooms;
}
