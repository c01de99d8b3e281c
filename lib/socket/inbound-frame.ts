import { AsyncLocalStorage } from 'node:async_hooks';
import type { WebSocket } from 'ws';

/** The inbound frame whose handler is running, so that every frame answering it can carry its `id`. */
export interface InboundFrame {
  readonly socket: WebSocket;
  readonly event: string;
  readonly id: string | number | undefined;
}

export const inboundFrame = new AsyncLocalStorage<InboundFrame>();

/** The `id` of the inbound frame of `socket` whose handler is running, if it had one. */
export function answeredId(socket: WebSocket): string | number | undefined {
  const frame = inboundFrame.getStore();
  return frame !== undefined && frame.socket === socket ? frame.id : undefined;
}
