/**
 * LogStore: one SQLite file, one write connection, one batched writer.
 *
 * Rows wait in a bounded FIFO and are written together, in order, in one
 * transaction per flush (every `flushMs`, or at once when `batchRows` are
 * waiting; at most 20,000 rows per transaction), each run of rows of one
 * kind as one JSON value unpacked by one INSERT (bulk.ts). The file runs in WAL
 * mode with synchronous=NORMAL: a committed flush survives a process crash,
 * a power cut can lose at most the last flush or so, and the file is never
 * corrupt (SQLite's WAL guarantee). A failed flush rolls back, keeps its rows
 * at the head of the FIFO and is retried with backoff; the connection is
 * reopened first unless the fault was a lock held by someone else. When the
 * FIFO is over `maxPending`, the oldest unwritten rows are dropped and counted.
 *
 * Retention deletes small batches in their own short transactions, queued on
 * the same serial write path as flushes so a flush waits for at most one
 * batch. Queries and exports use a separate read-only connection: WAL readers
 * neither block nor wait for the writer.
 */
import { EventEmitter } from 'node:events';
import type { BlockEntry } from '../net/types';
import { DEFAULT_OPTIONS, type StoreOptions } from './options';
import { TABLES, TABLE_NAMES, type LogItem, type RowItem, type RowKind, type TableName, type BlockSnapshotItem } from './records';
import { BULK_PROBE, bulkInsertSql, bulkShape, encodeRows, type BulkShape } from './bulk';
import { migrate } from './schema';
import {
  all, closeDb, describeDbError, exec, finalize, get, isBusy, openDb, prepare, run, stmtRun,
  type Db, type SqlValue, type Stmt,
} from './sqlite';

export interface StoreStats {
  written: Record<TableName, number>;
  pending: number;
  dropped: number;
  /** Alerts not stored because an alert with their id already was (a sensor's redelivery). */
  duplicates: number;
  flushes: number;
  /** Set while writes are failing. */
  fault: string | null;
}

export interface CloseResult {
  /** Rows that could not be written before closing (the fault persisted). */
  unwritten: number;
  error?: string;
}

/** Rows per transaction: big enough to amortise the commit, small enough to stay within the page cache. */
const MAX_TX = 20_000;
const ALERT_TS = TABLES.alert.columns.indexOf('ts');
const ALERT_CATEGORY = TABLES.alert.columns.indexOf('category');
const ALERT_UID = TABLES.alert.columns.indexOf('uid');
const DEVICE_TS = TABLES.device.columns.indexOf('ts');
const DEVICE_IP = TABLES.device.columns.indexOf('ip');
const DEVICE_RX = TABLES.device.columns.indexOf('rx_bps');
const DEVICE_TX = TABLES.device.columns.indexOf('tx_bps');
const AGE_COLUMN: Record<TableName, string> = { alerts: 'logged', devices: 'ts', flows: 'ts', blocks: 'ts' };
const ROWS: Record<RowKind, BulkShape> = { alert: bulkShape(TABLES.alert), device: bulkShape(TABLES.device), flow: bulkShape(TABLES.flow) };
const MINUTES = bulkShape({ table: 'alert_minutes', columns: ['minute', 'category', 'n'], numeric: ['minute', 'n'] });
const HOURS = bulkShape({ table: 'device_hours', columns: ['hour', 'ip', 'rx_sum', 'tx_sum', 'samples', 'peak'], numeric: ['hour', 'rx_sum', 'tx_sum', 'samples', 'peak'] });
const UPSERT_MINUTES = 'ON CONFLICT (minute, category) DO UPDATE SET n = n + excluded.n';
const UPSERT_HOURS = 'ON CONFLICT (hour, ip) DO UPDATE SET rx_sum = rx_sum + excluded.rx_sum, tx_sum = tx_sum + excluded.tx_sum, ' +
  'samples = samples + excluded.samples, peak = max(peak, excluded.peak)';

/**
 * Events: 'fault' (message) when writing or opening fails, 'recovered'
 * (message) when it works again, 'flushed' ({ rows, lastIds }) after each
 * committed flush, 'dropped' (count) when the FIFO overflowed.
 */
export class LogStore extends EventEmitter {
  readonly file: string;
  readonly options: StoreOptions;
  private db: Db | null = null;
  private reader: Db | null = null;
  private readerOpening: Promise<Db> | null = null;
  private readonly statements = new Map<string, Stmt>();
  private pending: LogItem[] = [];
  /** Items at the head of `pending` that the running flush is writing. */
  private inFlight = 0;
  private writeChain: Promise<unknown> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | null = null;
  private flushQueued = false;
  private retentionTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  /** Each sensor's block list as last stored ('' = this box). */
  private blockState = new Map<string, Map<string, BlockEntry>>();
  private readonly stats: StoreStats = { written: { alerts: 0, devices: 0, flows: 0, blocks: 0 }, pending: 0, dropped: 0, duplicates: 0, flushes: 0, fault: null };

  constructor(file: string, options: Partial<StoreOptions> = {}, private readonly after: Promise<unknown> = Promise.resolve()) {
    super();
    this.file = file;
    this.options = { ...DEFAULT_OPTIONS, ...options, retention: { ...DEFAULT_OPTIONS.retention, ...options.retention } };
  }

  /**
   * Open (and migrate) now so a bad path is reported at deploy; a failure is retried like a failed flush.
   * Resolves once this first attempt has finished, opened or with its fault raised (it never rejects).
   */
  start(): Promise<void> {
    const opened = this.serial(async () => {
      await this.after;
      await this.ensureOpen();
    }).then(() => this.faultCleared(), (err) => this.faultRaised(err));
    if (this.options.retentionIntervalMs > 0) {
      this.retentionTimer = setInterval(() => void this.applyRetention().catch((err) => this.emit('fault', `retention: ${describeDbError(err, this.file)}`)), this.options.retentionIntervalMs);
      this.retentionTimer.unref();
    }
    return opened;
  }

  getStats(): StoreStats {
    return { ...this.stats, written: { ...this.stats.written }, pending: this.pending.length };
  }

  /** Queue rows; they are written on the next flush. */
  add(items: readonly LogItem[]): void {
    if (this.closed) throw new Error(`database ${this.file} is closed`);
    for (const item of items) this.pending.push(item);
    const over = this.pending.length - this.options.maxPending;
    if (over > 0) {
      // Drop the oldest rows that are not being written right now.
      const drop = Math.min(over, this.pending.length - this.inFlight);
      this.pending.splice(this.inFlight, drop);
      this.stats.dropped += drop;
      this.emit('dropped', drop);
    }
    if (this.stats.fault) return; // the retry timer is already set
    if (this.pending.length >= this.options.batchRows) this.queueFlush(0);
    else this.queueFlush(this.options.flushMs);
  }

  /** Write everything waiting now; rejects with the fault if writing fails (rows are kept and retried). */
  async flush(): Promise<void> {
    try {
      await this.serial(() => this.flushPending());
    } catch (err) {
      if (!this.stats.fault) this.faultRaised(err);
      throw err;
    }
    if (this.stats.fault && this.pending.length === 0) this.faultCleared();
  }

  private queueFlush(delayMs: number): void {
    if (this.closed) return;
    if (this.flushTimer) {
      if (delayMs > 0) return;
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (delayMs === 0 && this.flushQueued) return;
    const go = () => {
      this.flushTimer = null;
      this.flushQueued = true;
      this.serial(() => this.flushPending()).then(
        () => {
          this.flushQueued = false;
          this.faultCleared();
          if (this.pending.length >= this.options.batchRows) this.queueFlush(0);
          else if (this.pending.length > 0) this.queueFlush(this.options.flushMs);
        },
        (err) => {
          this.flushQueued = false;
          this.faultRaised(err);
        },
      );
    };
    this.flushTimer = setTimeout(go, delayMs);
  }

  private faultRaised(err: unknown): void {
    const message = describeDbError(err, this.file);
    this.failures++;
    if (!isBusy(err)) void this.dropConnection();
    if (message !== this.stats.fault) this.emit('fault', message);
    this.stats.fault = message;
    if (this.closed) return;
    const delay = this.options.retryMs * 2 ** Math.min(this.failures - 1, 4);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.serial(async () => {
        await this.ensureOpen();
        await this.flushPending();
      }).then(() => {
        this.faultCleared();
        if (this.pending.length > 0) this.queueFlush(this.options.flushMs);
      }, (e) => this.faultRaised(e));
    }, delay);
  }

  private faultCleared(): void {
    this.failures = 0;
    if (this.stats.fault) {
      this.stats.fault = null;
      this.emit('recovered', `database ${this.file} is writable again`);
    }
  }

  /** Run `fn` after every earlier write job (flushes, retention batches, open/close). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.writeChain.then(fn, fn);
    this.writeChain = next.catch(() => undefined);
    return next;
  }

  private async ensureOpen(): Promise<Db> {
    if (this.db) return this.db;
    const db = await openDb(this.file);
    try {
      db.configure('busyTimeout', this.options.busyTimeoutMs);
      const mode = await get<{ journal_mode: string }>(db, 'PRAGMA journal_mode = WAL');
      if (mode?.journal_mode !== 'wal') throw Object.assign(new Error(`could not switch to WAL mode (got ${mode?.journal_mode})`), { code: 'SQLITE_READONLY' });
      // In WAL mode NORMAL never corrupts; a power cut may lose the last commit(s).
      await exec(db, 'PRAGMA synchronous = NORMAL');
      // Index pages of a large history stay cached between flushes (default is 2 MiB).
      await exec(db, 'PRAGMA cache_size = -32768');
      // Checkpoint when the WAL reaches 64 MiB instead of 4 MiB: a checkpoint copies a hot index page once
      // however many flushes rewrote it, and its copying and fsync stall the writer less often.
      await exec(db, 'PRAGMA wal_autocheckpoint = 16384');
      // A bulk INSERT inside a transaction keeps a statement journal (a copy of each page it changes, to undo
      // just that statement); past 64 KiB SQLite spills it to a temp file. Keep it in memory instead.
      await exec(db, 'PRAGMA temp_store = MEMORY');
      await migrate(db);
      await get(db, BULK_PROBE).catch((err: Error) => {
        throw new Error(`the SQLite library of npm sqlite3 lacks JSONB or math functions (${err.message}): ` +
          'sqlite-log needs SQLite 3.45 or newer with math functions, as bundled with sqlite3 6 (reinstall it without --sqlite)');
      });
      const rows = await all<{ ip: string; event: string; since: number; expires: number; reason: string | null; rule: string | null; sensor: string | null }>(
        db, 'SELECT ip, event, since, expires, reason, rule, sensor FROM blocks WHERE id IN (SELECT max(id) FROM blocks GROUP BY sensor, ip)');
      this.blockState = new Map();
      for (const r of rows) {
        if (r.event !== 'block' && r.event !== 'update') continue;
        const key = r.sensor ?? '';
        let list = this.blockState.get(key);
        if (!list) this.blockState.set(key, (list = new Map()));
        list.set(r.ip, { ip: r.ip, since: r.since, expires: r.expires, reason: r.reason ?? '', rule: r.rule ?? '' });
      }
    } catch (err) {
      await closeDb(db).catch(() => undefined);
      throw err;
    }
    this.db = db;
    return db;
  }

  private async dropConnection(): Promise<void> {
    await this.serial(async () => {
      const db = this.db;
      this.db = null;
      for (const stmt of this.statements.values()) await finalize(stmt);
      this.statements.clear();
      if (db) await closeDb(db).catch(() => undefined);
    });
    const reader = this.reader;
    this.reader = null;
    if (reader) await closeDb(reader).catch(() => undefined);
  }

  private async cachedStatement(db: Db, key: string, sql: string): Promise<Stmt> {
    let stmt = this.statements.get(key);
    if (!stmt) {
      stmt = await prepare(db, sql);
      this.statements.set(key, stmt);
    }
    return stmt;
  }

  private blockStatement(db: Db): Promise<Stmt> {
    const { table, columns } = TABLES.block;
    return this.cachedStatement(db, table, `INSERT INTO ${table} (${columns.join(',')}) VALUES (${columns.map(() => '?').join(',')})`);
  }

  /** Insert `rows` (values in `shape` order) in as few statements as their size allows. */
  private async bulkInsert(db: Db, shape: BulkShape, rows: readonly (readonly SqlValue[])[], tail = ''): Promise<void> {
    const stmt = await this.cachedStatement(db, `${shape.table}:bulk`, bulkInsertSql(shape, tail));
    for (let k = 0; k < rows.length;) {
      const { json, end } = encodeRows(rows, k, rows.length, shape);
      await stmtRun(stmt, [json]);
      k = end;
    }
  }

  /** Write every row waiting now, in transactions of at most MAX_TX rows. */
  private async flushPending(): Promise<void> {
    let left = this.pending.length;
    while (left > 0 && this.pending.length > 0) {
      const n = Math.min(left, this.pending.length, MAX_TX);
      await this.writeTransaction(n);
      left -= n;
    }
  }

  /** One transaction with the first `n` waiting rows. */
  private async writeTransaction(n: number): Promise<void> {
    const db = await this.ensureOpen();
    this.inFlight = n;
    const batch = this.pending.slice(0, n);
    const counts: Record<TableName, number> = { alerts: 0, devices: 0, flows: 0, blocks: 0 };
    const lastIds: Partial<Record<TableName, number>> = {};
    const blockState = new Map(this.blockState);
    let duplicates = 0;
    const perMinute = new Map<string, { minute: number; category: SqlValue; n: number }>();
    const perHour = new Map<string, { hour: number; ip: string; rx: number; tx: number; n: number; peak: number }>();
    try {
      await exec(db, 'BEGIN IMMEDIATE');
      try {
        let i = 0;
        while (i < batch.length) {
          const item = batch[i];
          if (item.kind === 'health') {
            await run(db, 'INSERT INTO sensors (name, last_seen, health) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen, health = excluded.health',
              [item.sensor, item.ts, JSON.stringify(item.health)]);
            i++;
            continue;
          }
          if (item.kind === 'blocklist') {
            const key = item.sensor ?? '';
            const { events, state } = diffBlocks(blockState.get(key) ?? new Map(), item);
            blockState.set(key, state);
            for (const ev of events) await stmtRun(await this.blockStatement(db), ev);
            counts.blocks += events.length;
            i++;
            continue;
          }
          // A run of rows of one kind.
          const kind = item.kind;
          let j = i;
          while (j < batch.length && batch[j].kind === kind) j++;
          let rows = (batch.slice(i, j) as RowItem[]).map((r) => r.values);
          if (kind === 'alert') {
            const kept = await this.withoutStoredIds(db, rows);
            duplicates += rows.length - kept.length;
            rows = kept;
          }
          for (const values of rows) {
            if (kind === 'alert') {
              const minute = Math.floor((values[ALERT_TS] as number) / 60_000);
              const category = values[ALERT_CATEGORY];
              const key = `${minute}|${category}`;
              const m = perMinute.get(key);
              if (m) m.n++;
              else perMinute.set(key, { minute, category, n: 1 });
            } else if (kind === 'device') {
              const hour = Math.floor((values[DEVICE_TS] as number) / 3_600_000);
              const ip = values[DEVICE_IP] as string;
              const rx = values[DEVICE_RX] as number;
              const tx = values[DEVICE_TX] as number;
              const key = `${hour}|${ip}`;
              const h = perHour.get(key);
              if (h) {
                h.rx += rx;
                h.tx += tx;
                h.n++;
                h.peak = Math.max(h.peak, rx + tx);
              } else perHour.set(key, { hour, ip, rx, tx, n: 1, peak: rx + tx });
            }
          }
          if (rows.length) await this.bulkInsert(db, ROWS[kind], rows);
          counts[TABLES[kind].table] += rows.length;
          i = j;
        }
        if (perMinute.size) {
          await this.bulkInsert(db, MINUTES, [...perMinute.values()].map((m) => [m.minute, m.category, m.n]), UPSERT_MINUTES);
        }
        if (perHour.size) {
          await this.bulkInsert(db, HOURS, [...perHour.values()].map((h) => [h.hour, h.ip, h.rx, h.tx, h.n, h.peak]), UPSERT_HOURS);
        }
        for (const name of TABLE_NAMES) {
          if (counts[name] > 0) lastIds[name] = (await get<{ id: number }>(db, `SELECT max(id) AS id FROM ${name}`))?.id;
        }
        await exec(db, 'COMMIT');
      } catch (err) {
        await exec(db, 'ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      this.inFlight = 0;
    }
    this.pending.splice(0, n);
    this.blockState = blockState;
    this.stats.duplicates += duplicates;
    for (const name of TABLE_NAMES) this.stats.written[name] += counts[name];
    this.stats.flushes++;
    this.emit('flushed', { rows: n, counts, lastIds });
  }

  /** Alert rows minus those whose id is stored already or repeats one earlier in `rows` (MQTT's at-least-once redeliveries). */
  private async withoutStoredIds(db: Db, rows: readonly SqlValue[][]): Promise<SqlValue[][]> {
    const ids = rows.flatMap((r) => (typeof r[ALERT_UID] === 'string' ? [r[ALERT_UID] as string] : []));
    if (ids.length === 0) return rows as SqlValue[][];
    const stored = await all<{ uid: string }>(db, 'SELECT uid FROM alerts WHERE uid IN (SELECT value FROM json_each(?))', [JSON.stringify(ids)]);
    const seen = new Set(stored.map((r) => r.uid));
    return rows.filter((r) => {
      const id = r[ALERT_UID];
      if (typeof id !== 'string') return true;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  }

  /** One retention pass: small DELETE batches per table, each its own job on the write path. */
  async applyRetention(now = Date.now()): Promise<Record<TableName, number>> {
    const deleted: Record<TableName, number> = { alerts: 0, devices: 0, flows: 0, blocks: 0 };
    const B = this.options.retentionBatch;
    for (const name of TABLE_NAMES) {
      const rule = this.options.retention[name];
      if (rule.maxAgeMs > 0) {
        const cutoff = now - rule.maxAgeMs;
        for (;;) {
          if (this.closed) return deleted;
          // Rows are logged in id order, so the oldest are the first ids.
          const { changes } = await this.serial(async () => run(await this.ensureOpen(),
            `DELETE FROM ${name} WHERE id IN (SELECT id FROM ${name} ORDER BY id LIMIT ?) AND ${AGE_COLUMN[name]} < ?`, [B, cutoff]));
          deleted[name] += changes;
          if (changes < B) break;
        }
        // Per-minute counts and hourly device sums follow their table's age limit; a row-count limit leaves them, so charts keep their history.
        if (name === 'alerts') await this.serial(async () => run(await this.ensureOpen(), 'DELETE FROM alert_minutes WHERE minute < ?', [Math.floor(cutoff / 60_000)]));
        if (name === 'devices') await this.serial(async () => run(await this.ensureOpen(), 'DELETE FROM device_hours WHERE hour < ?', [Math.floor(cutoff / 3_600_000)]));
      }
      if (rule.maxRows > 0) {
        for (;;) {
          if (this.closed) return deleted;
          const { changes } = await this.serial(async () => {
            const db = await this.ensureOpen();
            const span = await get<{ lo: number | null; hi: number | null }>(db, `SELECT min(id) AS lo, max(id) AS hi FROM ${name}`);
            if (!span || span.lo === null || span.hi === null || span.hi - span.lo + 1 <= rule.maxRows) return { changes: 0 };
            const count = (await get<{ n: number }>(db, `SELECT count(*) AS n FROM ${name}`))?.n ?? 0;
            const excess = count - rule.maxRows;
            if (excess <= 0) return { changes: 0 };
            return run(db, `DELETE FROM ${name} WHERE id IN (SELECT id FROM ${name} ORDER BY id LIMIT ?)`, [Math.min(excess, B)]);
          });
          deleted[name] += changes;
          if (changes < B) break;
        }
      }
    }
    return deleted;
  }

  /** The read-only connection for queries and exports (opened after the writer created the file). */
  async readConnection(): Promise<Db> {
    if (this.reader) return this.reader;
    if (!this.readerOpening) {
      this.readerOpening = (async () => {
        await this.serial(() => this.ensureOpen());
        const db = await openDb(this.file, true);
        db.configure('busyTimeout', this.options.busyTimeoutMs);
        this.reader = db;
        return db;
      })().finally(() => {
        this.readerOpening = null;
      });
    }
    return this.readerOpening;
  }

  /** Close the read connection after a failed read so the next one reopens. */
  async resetReader(): Promise<void> {
    const reader = this.reader;
    this.reader = null;
    if (reader) await closeDb(reader).catch(() => undefined);
  }

  /** Flush what is waiting (one try), stop timers, close connections. */
  async close(): Promise<CloseResult> {
    if (this.closed) return { unwritten: 0 };
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.flushTimer = null;
    this.retentionTimer = null;
    let error: string | undefined;
    try {
      await this.serial(async () => {
        await this.ensureOpen();
        await this.flushPending();
      });
    } catch (err) {
      error = describeDbError(err, this.file);
    }
    const unwritten = this.pending.length;
    await this.dropConnection();
    return error ? { unwritten, error } : { unwritten };
  }
}

/** Block/unblock events between the stored block state and a new BlockList. */
export function diffBlocks(prev: Map<string, BlockEntry>, snap: BlockSnapshotItem): { events: SqlValue[][]; state: Map<string, BlockEntry> } {
  const events: SqlValue[][] = [];
  const state = new Map<string, BlockEntry>();
  for (const e of snap.entries) {
    state.set(e.ip, e);
    const before = prev.get(e.ip);
    let event: string | null = null;
    if (!before || before.since !== e.since) event = 'block';
    else if (before.expires !== e.expires || before.reason !== e.reason || before.rule !== e.rule) event = 'update';
    if (event) events.push([snap.ts, event, e.ip, e.since, e.expires, e.reason, e.rule, snap.sensor]);
  }
  for (const [ip, before] of prev) {
    if (state.has(ip)) continue;
    const event = before.expires > 0 && before.expires <= snap.ts ? 'expire' : 'unblock';
    events.push([snap.ts, event, ip, before.since, before.expires, before.reason, before.rule, snap.sensor]);
  }
  return { events, state };
}
