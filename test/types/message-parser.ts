/**
 * Type-level tests: `npm test` compiles this file with the rest, and each `@ts-expect-error` line
 * fails the build if it ever compiles. Nothing here runs.
 */
import type { RawData } from 'ws';
import { RoomsAdapter, type MessageParser, type ParsedFrame } from '../../lib/index.js';

/** Typed as the wire contract writes a parser. */
const contractParser = (data: RawData): ParsedFrame | void => JSON.parse(data.toString()) as ParsedFrame;
/** Typed as a parser written for Nest's WsAdapter. */
const wsAdapterParser = (data: string | Buffer | ArrayBuffer | Buffer[]) => JSON.parse(data.toString()) as ParsedFrame;
/** One that takes the flag as well. */
const flagParser = (data: string | Buffer, isBinary: boolean) =>
  isBinary ? undefined : ({ event: 'text', data: data.toString() } satisfies ParsedFrame);

export function messageParsers(adapter: RoomsAdapter): MessageParser[] {
  adapter.setMessageParser(contractParser);
  adapter.setMessageParser(wsAdapterParser);
  adapter.setMessageParser(flagParser);
  // @ts-expect-error a parser must return a frame (or nothing), not a string
  adapter.setMessageParser((data: RawData) => data.toString());
  return [contractParser, wsAdapterParser, flagParser];
}
