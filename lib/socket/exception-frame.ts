import { EXCEPTION_MESSAGE_LIMIT } from '../rooms.constants.js';
import { HANDLER_FAILED } from '../rooms.messages.js';

/** How every exception frame's JSON starts, Nest's and ours. */
const EXCEPTION_FRAME_START = '{"event":"exception"';

/**
 * The one shape of every exception frame the server sends, ours and Nest's alike:
 * `{"event":"exception","data":{"status":"error","message"}[,"id"]}`, the message cut to
 * `EXCEPTION_MESSAGE_LIMIT` characters. It never carries what the client sent (Nest 12's filter
 * would echo it back as `cause`), so an answer is never larger than a bounded size.
 */
export function exceptionFrame(message: string, id: string | number | undefined): string {
  const data = { status: 'error', message: message.slice(0, EXCEPTION_MESSAGE_LIMIT) };
  return JSON.stringify(id === undefined ? { event: 'exception', data } : { event: 'exception', data, id });
}

/** The message of what Nest's exception filter answers with: its `message` when a string, else Nest's generic one. */
export function exceptionMessage(payload: unknown): string {
  const message =
    typeof payload === 'object' && payload !== null ? (payload as { message?: unknown }).message : payload;
  return typeof message === 'string' ? message : HANDLER_FAILED;
}

/** Whether `data`, written with `socket.send`, is an exception frame (as Nest 12's exception filter writes them). */
export function isExceptionFrame(data: unknown): data is string {
  return typeof data === 'string' && data.startsWith(EXCEPTION_FRAME_START);
}

/** Nest 12's exception frame (`{"event":"exception","data":...}`, serialised by its filter) in our shape. */
export function reshapeExceptionFrame(json: string, id: string | number | undefined): string {
  let payload: unknown;
  try {
    payload = (JSON.parse(json) as { data?: unknown }).data;
  } catch {
    payload = undefined;
  }
  return exceptionFrame(exceptionMessage(payload), id);
}
