import { createServer } from 'node:net';

/**
 * A port nobody listens on right now, for gateways and private servers that listen on their own
 * port. Its own file, without Nest, so that the benchmark's orchestrator can start the same
 * private servers as the tests.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
