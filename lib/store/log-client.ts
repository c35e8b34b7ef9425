/**
 * sqlite-log's engine: one node's use of the LogStore shared by every node
 * on its file (registry.ts). Records of a message are queued for the store's
 * batched writer; a query or export first writes what is waiting (so it sees
 * it) and is answered from the read connection. The store's faults,
 * recoveries and drops are reported in words; `close()` aborts running
 * exports and releases the store (the last node on a file flushes and
 * closes it).
 */
import path from 'node:path';
import { acquireStore, type StoreLease } from './registry';
import { recognise, type IncomingMessage } from './records';
import { parseQuery, runQuery } from './queries';
import { exportTable, parseExport, type ExportResult } from './export';
import { storeOptionsOf, type SqliteLogSettings } from './settings';
import { sqliteCode } from './sqlite';
import type { LogStore, StoreStats } from './store';

/** What a query or export answers: the reply message's properties. */
export interface LogReply {
  topic: string;
  payload: unknown;
  /** Rows or chart points of a query. */
  count?: number;
  /** The bucket of a chart query. */
  bucketMs?: number;
}

/** How the client reports what happens to its store. */
export interface LogClientEvents {
  error(message: string): void;
  warn(message: string): void;
  log(message: string): void;
  /** Rows were written or dropped, or a fault came or went: the counts changed. */
  changed(): void;
}

export class LogClient {
  private readonly exports = new AbortController();
  /** What the client hears from its store. */
  private readonly listeners: [string, Parameters<LogStore['on']>[1]][] = [
    ['fault', (message: string) => {
      this.events.error(`${message}; ${this.lease.store.getStats().pending} rows kept and retried`);
      this.events.changed();
    }],
    ['recovered', (message: string) => {
      this.events.log(message);
      this.events.changed();
    }],
    ['dropped', (count: number) => {
      this.events.warn(`dropped ${count} oldest unwritten rows: more than ${this.lease.store.options.maxPending} waiting while the database cannot be written`);
      this.events.changed();
    }],
    ['flushed', () => this.events.changed()],
  ];
  private lease: StoreLease;

  /** Relative file paths are taken from `baseDir` (Node-RED's user directory). */
  constructor(private settings: SqliteLogSettings, private readonly baseDir: string, private readonly events: LogClientEvents) {
    this.lease = this.acquire(settings);
  }

  /** The database file, resolved. */
  get file(): string {
    return this.lease.store.file;
  }

  get stats(): StoreStats {
    return this.lease.store.getStats();
  }

  /** Resolves once the store's first attempt to open the file has finished (its fault, if any, reported). */
  opened(): Promise<void> {
    return this.lease.opened;
  }

  /**
   * One message: records are queued (null; a batch with bad records stores
   * the good ones and then throws naming the bad); a query or export is
   * answered.
   */
  handle(msg: IncomingMessage, now = Date.now()): Promise<LogReply> | null {
    const what = recognise(msg, now);
    if (what.type === 'records') {
      if (what.items.length) this.lease.store.add(what.items);
      if (what.refused.length) throw new Error(`refused ${what.refused.length} record(s), stored ${what.items.length}: ${what.refused.slice(0, 3).join('; ')}`);
      return null;
    }
    return this.answer(what.type, what.request);
  }

  /** New settings: another file or other writer options take a new lease (the old one is released first, its rows written). */
  async configure(next: SqliteLogSettings): Promise<void> {
    const prev = this.settings;
    this.settings = next;
    if (this.resolve(next.file) === this.file && JSON.stringify(storeOptionsOf(next)) === JSON.stringify(storeOptionsOf(prev))) return;
    // Released before the new lease is taken: on the same file the store then reopens with the new options, after the old one's last flush.
    const released = this.release(this.lease);
    this.lease = this.acquire(next);
    await released;
  }

  /** Abort running exports and release the store. */
  async close(): Promise<void> {
    this.exports.abort();
    await this.release(this.lease);
  }

  private acquire(settings: SqliteLogSettings): StoreLease {
    const lease = acquireStore(this.resolve(settings.file), storeOptionsOf(settings));
    for (const [event, fn] of this.listeners) lease.store.on(event, fn);
    if (lease.warning) this.events.warn(lease.warning);
    return lease;
  }

  private async release(lease: StoreLease): Promise<void> {
    for (const [event, fn] of this.listeners) lease.store.off(event, fn);
    try {
      const res = await lease.release();
      if (res.unwritten) this.events.error(`closing: ${res.unwritten} rows could not be written to ${lease.store.file}: ${res.error ?? 'unknown fault'}`);
    } catch (err) {
      this.events.error(`closing ${lease.store.file}: ${(err as Error).message}`);
    }
  }

  private resolve(file: string): string {
    return path.resolve(this.baseDir, file);
  }

  private async answer(type: 'query' | 'export', request: unknown): Promise<LogReply> {
    const store = this.lease.store;
    // Rows still waiting are written first so the answer includes them; a write fault does not stop reading.
    await store.flush().catch(() => undefined);
    try {
      if (type === 'query') {
        const result = await runQuery(await store.readConnection(), parseQuery(request, this.settings.queryLimit));
        return { topic: result.name, payload: result.payload, count: result.count, ...(result.bucketMs !== undefined ? { bucketMs: result.bucketMs } : {}) };
      }
      const exportDir = this.settings.exportDir ? this.resolve(this.settings.exportDir) : path.dirname(this.file);
      const result: ExportResult = await exportTable(await store.readConnection(), parseExport(request, exportDir), this.exports.signal);
      return { topic: 'export', payload: result };
    } catch (err) {
      // A database error may have left the read connection unusable: the next request opens a fresh one.
      if (sqliteCode(err)) void store.resetReader();
      throw err;
    }
  }
}
