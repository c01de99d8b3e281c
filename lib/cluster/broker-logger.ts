/**
 * Where a broker reports trouble with its transport. Nest's `Logger` fits it, and so does
 * `console`: brokers run in processes without Nest too (workers that only emit).
 */
export interface BrokerLogger {
  /** A transport problem the broker recovers from by itself (a lost connection it re-opens). */
  warn(message: string): void;
}

/** The default: the console, with the broker's name in front. */
export function consoleLogger(name: string): BrokerLogger {
  return { warn: (message) => console.warn(`[${name}] ${message}`) };
}
