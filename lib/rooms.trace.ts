import { debuglog } from 'node:util';

/**
 * A trace of every hop, for `NODE_DEBUG=nestjs-rooms`: a frame in, a join or leave, a broadcast
 * out, a cluster message in or out. Each call site tests `TRACING` first, so that with tracing
 * off no argument is built and no call is made; nothing is traced per socket of a broadcast.
 */
const log = debuglog('nestjs-rooms');

/** Whether `NODE_DEBUG` names nestjs-rooms; read once, when the library loads. */
export const TRACING: boolean = log.enabled;

/** Writes one trace line (`util.format` arguments) to stderr; only call it when `TRACING`. */
export const trace: (format: string, ...args: unknown[]) => void = log;
