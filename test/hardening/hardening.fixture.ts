import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Records every `unhandledRejection` and `uncaughtException` of this process while installed.
 * A recorder also keeps the process alive through them, so that a test can report what fired
 * instead of the whole file dying.
 */
export class ProcessErrors {
  readonly seen: Array<{ kind: string; error: unknown }> = [];
  private readonly onRejection = (error: unknown) => void this.seen.push({ kind: 'unhandledRejection', error });
  private readonly onException = (error: unknown) => void this.seen.push({ kind: 'uncaughtException', error });

  install(): this {
    process.on('unhandledRejection', this.onRejection);
    process.on('uncaughtException', this.onException);
    return this;
  }

  dispose(): void {
    process.off('unhandledRejection', this.onRejection);
    process.off('uncaughtException', this.onException);
  }

  /** One line per error, for assertion messages. */
  describe(): string {
    return this.seen
      .map(({ kind, error }) => `${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
      .join('\n');
  }
}

/** A `global.gc` without starting Node with `--expose-gc`. */
export function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
