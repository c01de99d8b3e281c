import type pg from 'pg';
import type { BrokerLogger } from '../cluster/broker-logger.js';
import { STORED } from './postgres-channels.js';

/** Rows deleted per statement, so that a cleanup never holds a long lock. */
const CLEANUP_BATCH = 1000;
/** Statements per cleanup round; what is left waits for the next round. */
const CLEANUP_ROUNDS = 10;

/**
 * The table that carries messages too large for `NOTIFY`: the sender inserts the message and
 * notifies its row's id in one statement (so the notification goes out at commit, when the row is
 * visible), each receiver reads the row, and rows older than the retention are deleted on a timer
 * by any broker that has stored one. The table is created on first use, unlogged (a crash may lose
 * it: its rows are only worth a few seconds).
 */
export class PayloadTable {
  private readonly table: string;
  private readonly index: string;
  private readonly lockKey: string;
  private ready: Promise<void> | undefined;
  private cleaner: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly pool: pg.Pool,
    prefix: string,
    private readonly retention: number,
  ) {
    this.table = escapeIdentifier(`${prefix}_payloads`);
    this.index = escapeIdentifier(`${prefix}_payloads_at`);
    this.lockKey = `${prefix}:schema`;
  }

  /** Stores `message` and notifies its id on `channel`. */
  async notify(channel: string, message: Buffer): Promise<void> {
    await (this.ready ??= this.create().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    }));
    await this.pool.query(
      `WITH row AS (INSERT INTO ${this.table} (body) VALUES ($2) RETURNING id) ` +
        `SELECT pg_notify($1, '${STORED}' || row.id) FROM row`,
      [channel, message],
    );
    this.startCleaning();
  }

  /** The stored message of row `id`; `undefined` (and a warning) when it cannot be read. */
  async read(id: string, logger: BrokerLogger): Promise<Buffer | undefined> {
    try {
      const result = await this.pool.query<{ body: Buffer }>(`SELECT body FROM ${this.table} WHERE id = $1`, [id]);
      if (result.rows.length > 0) return result.rows[0]!.body;
      logger.warn(`Postgres payload ${id} was already deleted; a message was lost`);
    } catch (error) {
      logger.warn(`Postgres payload ${id} could not be read (${String(error)}); a message was lost`);
    }
    return undefined;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.cleaner);
    this.cleaner = undefined;
  }

  /**
   * Servers may start together: concurrent `CREATE TABLE IF NOT EXISTS` can fail on the catalog's
   * unique index, so the creation runs under a transaction-scoped advisory lock.
   */
  private async create(): Promise<void> {
    const client = await this.pool.connect();
    let failed: unknown;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.lockKey]);
      await client.query(
        `CREATE UNLOGGED TABLE IF NOT EXISTS ${this.table} ` +
          '(id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), body bytea NOT NULL)',
      );
      await client.query(`CREATE INDEX IF NOT EXISTS ${this.index} ON ${this.table} (at)`);
      await client.query('COMMIT');
    } catch (error) {
      failed = error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release(failed instanceof Error ? failed : undefined);
    }
  }

  private startCleaning(): void {
    if (this.cleaner !== undefined || this.stopped) return;
    this.cleaner = setInterval(() => void this.clean(), this.retention);
    this.cleaner.unref();
  }

  /** Deletes rows older than the retention, a bounded number per round; failures wait for the next round. */
  private async clean(): Promise<void> {
    try {
      for (let round = 0; round < CLEANUP_ROUNDS && !this.stopped; round++) {
        const { rowCount } = await this.pool.query(
          `DELETE FROM ${this.table} WHERE id IN (SELECT id FROM ${this.table} ` +
            `WHERE at < now() - make_interval(secs => $1) LIMIT ${CLEANUP_BATCH})`,
          [this.retention / 1000],
        );
        if ((rowCount ?? 0) < CLEANUP_BATCH) return;
      }
    } catch {
      // Postgres away: the listener reports that.
    }
  }
}

/** `pg.escapeIdentifier` without a runtime import of `pg` here. */
function escapeIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
