/** Where one socket's answer to an `emitWithAck` goes; sockets keep one per pending ack. */
export interface AckSink {
  answer(response: unknown): void;
  /** The socket left before answering. */
  forget(): void;
}

/** What keeps pending acks (a socket), as the ack bookkeeping sees it. */
export interface AckHolder {
  /** @internal (as on `RoomSocket`) */
  pendingAcks: Map<number, AckSink> | undefined;
}
