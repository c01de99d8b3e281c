import { WsException } from '@nestjs/websockets';
import type { RawData } from 'ws';
import { PARSED_NOT_AN_EVENT, PARSED_NOTHING, PARSER_FAILED } from '../rooms.messages.js';
import type { MessageParser } from '../rooms.options.js';

/**
 * Runs the app's parser on one frame. Returns the frame object for the router's usual checks, or,
 * when the parser refused it, the message to answer with: the router stays the one place that
 * refuses frames.
 */
export function parseWith(parser: MessageParser, raw: RawData, isBinary: boolean): object | string {
  let frame: unknown;
  try {
    // ws hands a socket's binary frames over as one Buffer (its binaryType is never changed).
    frame = parser(isBinary ? (raw as Buffer) : raw.toString(), isBinary);
  } catch (error) {
    // A WsException is the app's words for the client; anything else may hold server internals.
    // Nothing is logged: a parser throwing on a client's bad frame is the usual way to refuse it.
    if (error instanceof WsException) {
      const reason = error.getError();
      if (typeof reason === 'string') return reason;
    }
    return PARSER_FAILED;
  }
  if (frame === undefined || frame === null) return PARSED_NOTHING;
  if (typeof frame !== 'object' || Array.isArray(frame)) return PARSED_NOT_AN_EVENT;
  return frame;
}
