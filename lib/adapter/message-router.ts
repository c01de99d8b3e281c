import { Logger } from '@nestjs/common';
import { Subscription, type Observable } from 'rxjs';
import { WebSocket, type RawData } from 'ws';
import {
  BAD_ID,
  BINARY_FRAME,
  NO_EVENT,
  NOT_AN_OBJECT,
  NOT_JSON,
  HANDLER_FAILED,
  PARSED_NOT_AN_EVENT,
  PARSED_NOTHING,
  STRAY_ACK,
  TOO_MANY_PENDING,
  UNSERIALISABLE_REPLY,
  UNKNOWN_EVENT,
} from '../rooms.messages.js';
import { BadFrame } from '../metrics/metric-labels.js';
import type { MessageParser } from '../rooms.options.js';
import { trace, TRACING } from '../rooms.trace.js';
import { exceptionFrame } from '../socket/exception-frame.js';
import { inboundFrame } from '../socket/inbound-frame.js';
import type { BoundHandler, RoomSocket } from '../socket/room-socket.js';
import { writeMessage } from '../socket/write-path.js';
import { withinBadFrameBudget } from './bad-frame-budget.js';
import { handlerFor } from './handler-table.js';
import { parseWith } from './parsed-frame.js';
import { replyFrame } from './replies.js';

const logger = new Logger('RoomsAdapter');

type FrameId = string | number | undefined;

function isFrameId(id: unknown): id is FrameId {
  return id === undefined || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

function refuse(socket: RoomSocket, message: string, id?: FrameId): void {
  if (TRACING) trace('frame refused: socket %s, id %j: %s', socket.id, id, message);
  if (socket.readyState === WebSocket.OPEN) writeMessage(socket, exceptionFrame(message, id));
}

/** A frame no handler can take (`kind`: `BadFrame` in metrics/metric-labels.ts): answered while the socket is within its bad-frame budget. */
function refuseBad(socket: RoomSocket, kind: number, message: string, id?: FrameId): void {
  socket.settings.metrics.badFrames[kind]++;
  if (socket.readyState === WebSocket.OPEN && withinBadFrameBudget(socket)) refuse(socket, message, id);
}

/** Which parser row of the bad-input table a refusal message of `parseWith` is. */
function parserRefusalKind(message: string): number {
  if (message === PARSED_NOTHING) return BadFrame.ParserEmpty;
  if (message === PARSED_NOT_AN_EVENT) return BadFrame.ParserNotAnEvent;
  return BadFrame.ParserFailed;
}

/** Nest's transform of a handler's result into the replies to send. */
export type ResultTransform = (result: unknown) => Observable<unknown>;

/**
 * Reads every inbound frame of one adapter's sockets. Bad frames are answered with an exception
 * frame and go no further; acks settle their request; events run their Nest handler inside the
 * frame's context so that every answer carries its `id`. Frames are JSON unless the app brought a
 * `messageParser`, whose result meets the same checks.
 */
export class MessageRouter {
  /** The app's parser; without one frames are the wire protocol's JSON. */
  parser: MessageParser | undefined;
  /**
   * Nest's handler-result transform. Nest hands one to the adapter for every client, but they are
   * all alike, so the first is kept for every socket rather than one per socket.
   */
  resultTransform: ResultTransform | undefined;

  /** The sockets' `message` listener: one function for every socket of the adapter (`this` is the socket). */
  readonly listener: (this: WebSocket, raw: RawData, isBinary: boolean) => void;

  constructor(parser: MessageParser | undefined) {
    this.parser = parser;
    const route = this.route.bind(this);
    this.listener = function routeFrame(raw, isBinary) {
      route(this as RoomSocket, raw, isBinary);
    };
  }

  route(socket: RoomSocket, raw: RawData, isBinary: boolean): void {
    const settings = socket.settings;
    settings.metrics.framesReceived++;
    // ws hands a socket's messages over as one Buffer (its binaryType is never changed).
    settings.metrics.bytesReceived += (raw as Buffer).length;
    const parser = this.parser;
    let frame: unknown;
    if (parser !== undefined) {
      frame = parseWith(parser, raw, isBinary);
      if (typeof frame === 'string') return refuseBad(socket, parserRefusalKind(frame), frame);
    } else {
      // The default JSON stays inline: it is every frame's path when the app brings no parser.
      if (isBinary) return refuseBad(socket, BadFrame.Binary, BINARY_FRAME);
      try {
        frame = JSON.parse(raw.toString());
      } catch {
        return refuseBad(socket, BadFrame.NotJson, NOT_JSON);
      }
      if (typeof frame !== 'object' || frame === null || Array.isArray(frame))
        return refuseBad(socket, BadFrame.NotAnObject, NOT_AN_OBJECT);
    }
    const { event, data, id, ack } = frame as Record<string, unknown>;
    if (!isFrameId(id)) return refuseBad(socket, BadFrame.BadId, BAD_ID);
    if (event === undefined && ack !== undefined) {
      if (TRACING) trace('ack in: socket %s, ack %j', socket.id, ack);
      if (!socket.server.answerAck(socket, ack, data)) refuseBad(socket, BadFrame.StrayAck, STRAY_ACK, id);
      return;
    }
    if (typeof event !== 'string') return refuseBad(socket, BadFrame.NoEvent, NO_EVENT, id);
    if (TRACING) trace('frame in: socket %s, event %j, id %j', socket.id, event, id);
    const handler = handlerFor(socket, event);
    if (handler === undefined) return refuseBad(socket, BadFrame.UnknownEvent, UNKNOWN_EVENT(event.slice(0, 100)), id);
    // A client that sends faster than its handlers finish is answered, not queued without end.
    const { maxPendingFrames } = settings;
    if (socket.pendingFrames >= maxPendingFrames) {
      settings.metrics.badFrames[BadFrame.TooManyPending]++;
      return refuse(socket, TOO_MANY_PENDING(maxPendingFrames), id);
    }
    const transform = this.resultTransform!;
    // Only a frame with an `id` needs its context carried into Nest's exception filter, and
    // AsyncLocalStorage turns on promise hooks for the whole process once used: skip it otherwise.
    if (id === undefined) runHandler(socket, transform, handler, data, event, id);
    else inboundFrame.run({ socket, event, id }, runHandler, socket, transform, handler, data, event, id);
  }
}

function runHandler(
  socket: RoomSocket,
  transform: ResultTransform,
  handler: BoundHandler,
  data: unknown,
  event: string,
  id: FrameId,
): void {
  const replies = new Subscription();
  let finished = false;
  socket.pendingFrames++;
  const finish = () => {
    finished = true;
    socket.pendingFrames--;
    const open = socket.openReplies;
    // An idle socket holds no set: most replies complete, and one set per socket adds up.
    if (open !== undefined && open.delete(replies) && open.size === 0) socket.openReplies = undefined;
  };
  replies.add(
    transform(handler(data, event)).subscribe({
      next(value) {
        if (value === null || value === undefined || socket.readyState !== WebSocket.OPEN) return;
        let frame: string;
        try {
          frame = replyFrame(value, event, id);
        } catch (error) {
          // A reply JSON cannot write (a cycle, a BigInt, nesting deeper than the stack) is
          // answered, never thrown: rxjs would rethrow it where nothing catches it.
          logger.error(error);
          socket.settings.metrics.badFrames[BadFrame.UnserialisableReply]++;
          frame = exceptionFrame(UNSERIALISABLE_REPLY(event), id);
        }
        writeMessage(socket, frame);
      },
      // Nest's filters answer the client themselves; this is reached when one rethrew or failed
      // itself (Nest 12's cannot write back, as `cause`, data nested deeper than the stack).
      error(error: unknown) {
        logger.error(error);
        refuse(socket, HANDLER_FAILED, id);
        finish();
      },
      complete: finish,
    }),
  );
  if (!finished) (socket.openReplies ??= new Set()).add(replies);
}
