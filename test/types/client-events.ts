/**
 * Type-level tests of `RoomsClient`'s typed events: compiled by `npm test`, never run; each
 * `@ts-expect-error` line fails the build if it ever compiles.
 */
import { RoomsClient } from '../../lib/client/index.js';

interface ServerEvents {
  said: { room: string; text: string };
  question: number;
  ping: void;
}

interface ClientEvents {
  say: { room: string; text: string };
  join: { room: string };
  leave: void;
}

export async function typedClient(
  client: RoomsClient<ServerEvents, ClientEvents>,
  untyped: RoomsClient,
): Promise<void> {
  client.on('said', (data) => data.text.toUpperCase());
  client.on('question', (n) => n * 2);
  client.once('ping', () => undefined);
  client.on('open', ({ recovered, reason }) => [recovered, reason?.length]);
  client.on('close', ({ code }) => code + 1);
  client.on('reconnecting', ({ attempt, delay }) => attempt + delay);
  client.on('error', (error) => error.message);
  client.send('say', { room: 'r', text: 'hi' });
  client.send('leave');
  const reply: { ok: boolean } = await client.request<'join', { ok: boolean }>('join', { room: 'r' }, { timeout: 10 });
  void reply;
  untyped.send('anything', 42);
  untyped.on('whatever', (data) => data);

  // @ts-expect-error: unknown server event
  client.on('unknown', () => undefined);
  // @ts-expect-error: the data of 'said' has no number field
  client.on('said', (data) => data.count);
  // @ts-expect-error: unknown client event
  client.send('shout', {});
  // @ts-expect-error: wrong payload
  client.send('say', { room: 'r' });
  // @ts-expect-error: payload missing
  client.send('join');
  // @ts-expect-error: request payload checked too
  await client.request('join', { room: 7 });
}
