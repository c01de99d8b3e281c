import type { WsResponse } from '@nestjs/websockets';
import { EXCEPTION_MESSAGE_LIMIT } from '../rooms.constants.js';
import { HANDLER_FAILED } from '../rooms.messages.js';

/** A handler result that names its own event; anything else answers with the inbound event. */
export function isWsResponse(value: unknown): value is WsResponse {
  return typeof value === 'object' && value !== null && typeof (value as WsResponse).event === 'string';
}

/** `{event, data}` of a reply or a `@BroadcastTo` broadcast. */
export function replyEvent(value: unknown, inboundEvent: string): { event: string; data: unknown } {
  return isWsResponse(value) ? { event: value.event, data: value.data } : { event: inboundEvent, data: value };
}

/** A reply frame, carrying the inbound frame's `id` when it had one. */
export function replyFrame(value: unknown, inboundEvent: string, id: string | number | undefined): string {
  const { event, data } = replyEvent(value, inboundEvent);
  return JSON.stringify(id === undefined ? { event, data } : { event, data, id });
}

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
