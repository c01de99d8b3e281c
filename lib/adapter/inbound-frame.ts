import { AsyncLocalStorage } from 'node:async_hooks';
import type { WebSocket } from 'ws';

/** The inbound frame whose handler is running, so that every frame answering it can carry its `id`. */
export interface InboundFrame {
  readonly socket: WebSocket;
  readonly event: string;
  readonly id: string | number | undefined;
}

export const inboundFrame = new AsyncLocalStorage<InboundFrame>();

/** Adds `"id"` to a frame already serialised as a JSON object (`{...}`). */
export function withReplyId(json: string, id: string | number): string {
  return `${json.slice(0, -1)},"id":${JSON.stringify(id)}}`;
}
