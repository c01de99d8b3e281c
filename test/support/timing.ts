import { once } from 'node:events';
import type { TestApp } from './app.js';

/*
 * Every way a test waits, in one place. Each waits for an event or a value and names what it
 * waited for when it gives up; none of them is a sleep standing in for an event.
 */

/** `promise`, or a rejection naming `what` when it has not settled within `ms` (a guard, not a sleep). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Re-reads `read()` every 20 ms until it returns `expected`, for at most `timeoutMs`; for effects
 * nothing announces (such as an unsubscribe, which a leave does not wait for). Returns the last value.
 */
export async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

/** A few turns of the event loop, so that timers set with 0 ms (rxjs error reports) have run. */
export async function turns(count = 3): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** One turn of the event loop (after pending I/O callbacks), to make a fixture's code asynchronous. */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** Resolves once every app counts every other one as a live peer. */
export async function untilMeshed(apps: TestApp[]): Promise<void> {
  await Promise.all(
    apps.map(async (app) => {
      const cluster = app.cluster();
      while (cluster.peerIds.length < apps.length - 1) await once(cluster, 'peer-up');
    }),
  );
}

/** Resolves once `app` has declared `node` gone. */
export async function untilGone(app: TestApp, node: string): Promise<void> {
  const cluster = app.cluster();
  while (cluster.peerIds.includes(node)) await once(cluster, 'peer-down');
}

/** Resolves at the next `broker-status` of `app` that reports `up`. Call it before causing the change. */
export async function untilBrokerStatus(app: TestApp, up: boolean): Promise<void> {
  const cluster = app.cluster();
  for (;;) {
    const [status] = await once(cluster, 'broker-status');
    if (status === up) return;
  }
}
