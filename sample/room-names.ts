/**
 * The sample's room names. Public chat rooms are `chat:<name>` and are the only ones listed;
 * `user:<name>` (every tab of one person) and `project:<id>` (a project's followers) are private,
 * as is the room every socket has under its own id.
 */
const LABEL = /^[\p{L}\p{N}_.-](?:[\p{L}\p{N} _.-]{0,30}[\p{L}\p{N}_.-])?$/u;
const SOCKET_ID = /^[A-Za-z0-9_-]{22}$/;
const PUBLIC = 'chat:';
const USER = 'user:';
const PROJECT = 'project:';

/** Rooms every page lists, even while nobody is in them. */
export const DEFAULT_ROOMS: readonly string[] = ['lobby', 'random'];

export const LABEL_RULE = '1 to 32 letters, digits, spaces, ".", "_" or "-"';

/** A name, room name or project id as typed: trimmed, or `undefined` when it breaks `LABEL_RULE`. */
export function label(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return LABEL.test(trimmed) ? trimmed : undefined;
}

export function isSocketId(value: unknown): value is string {
  return typeof value === 'string' && SOCKET_ID.test(value);
}

export const publicRoom = (name: string): string => PUBLIC + name;
export const userRoom = (name: string): string => USER + name;
export const projectRoom = (id: string): string => PROJECT + id;

export const isPublicRoom = (room: string): boolean => room.startsWith(PUBLIC);
export const isUserRoom = (room: string): boolean => room.startsWith(USER);

/** `chat:lobby` -> `lobby`. */
export const publicName = (room: string): string => room.slice(PUBLIC.length);
