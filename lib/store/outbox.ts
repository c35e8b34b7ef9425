/**
 * A sensor's on-disk queue of MQTT messages not yet delivered, in the
 * `outbox` table of the SQLite file sqlite-log uses (one file per box to back
 * up and watch). Every message passes through it: added rows are inserted
 * together (one transaction per 20 ms tick, so a burst of 10,000 alerts is a
 * handful of commits), sent in id order, and deleted when the broker
 * acknowledged them (PUBACK). A crash, a broker restart or a network cut of
 * minutes therefore loses nothing: what was not acknowledged is still in the
 * file and is sent again, in order, once the broker is back.
 *
 * The queue is bounded: past `maxRows` the oldest rows are deleted and
 * counted (`dropped`); the sensor shows both. At ~1 KiB per alert the default
 * 100,000 rows is about 100 MB of disk, hours of a busy sensor's alerts.
 */
import { EventEmitter } from 'node:events';
import { migrate } from './schema';
import { all, closeDb, exec, get, openDb, run, type Db } from './sqlite';

export interface OutboxRow {
  id: number;
  topic: string;
  payload: string;
}

const TICK_MS = 20;

/** Events: 'dropped' (count) when the bound deleted rows, 'fault' (message) when the file cannot be written. */
export class Outbox extends EventEmitter {
  private db: Db | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private waiting: [string, string][] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Rows in the table. */
  size = 0;
  /** Rows deleted by the bound since the node started. */
  dropped = 0;

  constructor(readonly file: string, public maxRows: number) {
    super();
  }

  /** Open (creating or migrating the file) and count what an earlier run left undelivered. */
  async open(): Promise<number> {
    await this.serial(async () => {
      const db = await openDb(this.file);
      db.configure('busyTimeout', 10_000);
      await get(db, 'PRAGMA journal_mode = WAL');
      await exec(db, 'PRAGMA synchronous = NORMAL');
      await migrate(db);
      this.db = db;
      this.size = (await get<{ n: number }>(db, 'SELECT count(*) AS n FROM outbox'))?.n ?? 0;
    });
    return this.size;
  }

  /** Queue a message; it is on disk within one tick. */
  add(topic: string, payload: string): void {
    if (this.closed) throw new Error('the outbox is closed');
    this.waiting.push([topic, payload]);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flush().catch((err: Error) => this.emit('fault', `outbox ${this.file}: ${err.message}`));
    }, TICK_MS);
  }

  /** Write what add() gathered, then apply the bound. Resolves with the new rows' count. */
  flush(): Promise<number> {
    return this.serial(async () => {
      const rows = this.waiting;
      if (rows.length === 0 || !this.db) return 0;
      this.waiting = [];
      const db = this.db;
      await exec(db, 'BEGIN IMMEDIATE');
      try {
        await run(db, 'INSERT INTO outbox (topic, payload, queued) SELECT value->>0, value->>1, ? FROM json_each(?)', [Date.now(), JSON.stringify(rows)]);
        let excess = this.size + rows.length - this.maxRows;
        if (excess > 0) {
          excess = (await run(db, 'DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)', [excess])).changes;
        }
        await exec(db, 'COMMIT');
        this.size += rows.length - Math.max(0, excess);
        if (excess > 0) {
          this.dropped += excess;
          this.emit('dropped', excess);
        }
      } catch (err) {
        await exec(db, 'ROLLBACK').catch(() => undefined);
        this.waiting = rows.concat(this.waiting);
        throw err;
      }
      return rows.length;
    });
  }

  /** Up to `n` rows after id `after`, oldest first. */
  next(after: number, n: number): Promise<OutboxRow[]> {
    return this.serial(async () => (this.db ? all<OutboxRow>(this.db, 'SELECT id, topic, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?', [after, n]) : []));
  }

  /** Delete delivered rows. */
  remove(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.serial(async () => {
      if (!this.db) return;
      const { changes } = await run(this.db, 'DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))', [JSON.stringify(ids)]);
      this.size -= changes;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush().catch(() => undefined);
    this.closed = true;
    await this.serial(async () => {
      const db = this.db;
      this.db = null;
      if (db) await closeDb(db);
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
