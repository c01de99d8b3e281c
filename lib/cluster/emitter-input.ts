/**
 * What a server accepts from an emitter. Emitters are outside the cluster (a worker, a script, a
 * program in another language), so their messages are checked before anything acts on them: a
 * malformed one is ignored with the reason, and no socket ever gets a frame that is not an event.
 */

import { isUtf8 } from 'node:buffer';
import type { WriteFlags } from '../broadcast/frame.js';
import type { Target } from '../broadcast/target.js';
import { MessageType, type EmitterMessage, type EmitterRequestKind } from './cluster-messages.js';

/** An emitter's message, checked, with its defaults filled in. */
export type EmitterCommand =
  | {
      readonly type: 'broadcast';
      readonly target: Target;
      readonly flags: WriteFlags;
      readonly payload: Buffer;
      /** The frame's cluster-wide name, from the emitter's `i`. */
      readonly key: string | undefined;
    }
  | { readonly type: 'request'; readonly kind: EmitterRequestKind; readonly target: Target; readonly args: unknown }
  | { readonly type: 'server-event'; readonly event: string; readonly args: unknown[] };

/** The longest `i` an emitter may give a broadcast. */
const MAX_ID_LENGTH = 128;

const REQUEST_KINDS: ReadonlySet<unknown> = new Set<EmitterRequestKind>(['join', 'leave', 'disconnect']);

const isRoomList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((room) => typeof room === 'string' && room.length > 0);

/** The command, or why the message is refused. */
export function readEmitterMessage(message: EmitterMessage, payload: Buffer | undefined): EmitterCommand | string {
  switch (message.t) {
    case MessageType.Broadcast: {
      const target = targetOf(message);
      if (typeof target === 'string') return target;
      const problem = payloadProblem(payload);
      if (problem !== undefined) return problem;
      const { i: id } = message;
      if (id !== undefined && !(typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH)) {
        return `"i" must be a string of 1 to ${MAX_ID_LENGTH} characters`;
      }
      const flags = { volatile: message.v === true, compress: message.c !== false };
      return { type: 'broadcast', target, flags, payload: payload!, key: id === undefined ? undefined : `e.${id}` };
    }
    case MessageType.Request: {
      const target = targetOf(message);
      if (typeof target === 'string') return target;
      const { k: kind, a: args } = message;
      if (!REQUEST_KINDS.has(kind)) return `"k" must be "join", "leave" or "disconnect"`;
      if (kind === 'disconnect' ? args !== undefined && typeof args !== 'boolean' : !isRoomList(args)) {
        return kind === 'disconnect' ? '"a" of a disconnect must be a boolean' : `"a" of a ${kind} must list rooms`;
      }
      return { type: 'request', kind, target, args };
    }
    case MessageType.ServerEvent: {
      const { e: event, a: args = [] } = message;
      if (typeof event !== 'string' || event.length === 0) return '"e" must be a non-empty event name';
      if (!Array.isArray(args)) return '"a" must be the list of arguments';
      return { type: 'server-event', event, args };
    }
    default:
      return `"t" must be "b", "req" or "sse"`;
  }
}

function targetOf(message: { r?: unknown; x?: unknown }): Target | string {
  const { r = [], x = [] } = message;
  return isRoomList(r) && isRoomList(x) ? { r, x } : '"r" and "x" must be lists of room names';
}

/** Sockets get the payload as it is, so it must be an event frame: UTF-8 JSON `{"event": "...", "data"}`. */
function payloadProblem(payload: Buffer | undefined): string | undefined {
  const shape = 'the payload must be UTF-8 JSON {"event": "<name>", "data": <any>} after the header line';
  if (payload === undefined || !isUtf8(payload)) return shape;
  let frame: unknown;
  try {
    frame = JSON.parse(payload.toString());
  } catch {
    return shape;
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return shape;
  const { event } = frame as { event?: unknown };
  if (typeof event !== 'string' || event.length === 0) return shape;
  if ('ack' in frame) return 'an emitter cannot ask for acks: the payload must not carry "ack"';
  return undefined;
}
