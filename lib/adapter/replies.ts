import type { WsResponse } from '@nestjs/websockets';

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
