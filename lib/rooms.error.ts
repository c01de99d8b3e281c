import { WsException } from '@nestjs/websockets';

/**
 * Every refusal and failure of nestjs-rooms. It is a `WsException`, so when it is thrown inside a
 * gateway handler Nest turns it into an `exception` frame for that client.
 */
export class RoomsError extends WsException {
  /** For a timed-out `emitWithAck` or cluster request: the answers that did arrive. */
  readonly responses?: unknown[];

  constructor(message: string, responses?: unknown[], options?: { cause?: unknown }) {
    super(message);
    this.name = 'RoomsError';
    if (responses !== undefined) this.responses = responses;
    // What the broker rejected with, when that is why (`Error#cause`; WsException's constructor takes no options).
    if (options !== undefined && 'cause' in options) this.cause = options.cause;
  }
}
