/**
 * Export one table for a time range to CSV, JSON Lines or EVE JSON (alerts
 * and flows, one Suricata EVE record per line: eve.ts), streamed: rows are
 * stepped one at a time from a read cursor and written with backpressure, so
 * memory stays flat however large the range. The file is written under a
 * temporary name and renamed when complete. Columns are the table's; an
 * alert's references (`refs`, JSON text) stay text in CSV and are the array
 * they are in JSON Lines.
 */
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { csvLine } from '../base/csv';
import { alertOfRow, decodeList, TABLES, TABLE_NAMES, type TableName } from './records';
import { eveAlert, eveFlow } from './eve';
import type { Alert } from '../detect/alert';
import type { FlowRecord } from '../net/types';
import { finalize, prepare, stmtNext, type Db, type SqlValue } from './sqlite';

export type ExportFormat = 'csv' | 'jsonl' | 'eve';
const FORMATS: readonly ExportFormat[] = ['csv', 'jsonl', 'eve'];
/** The tables with an EVE form (eve.ts): device samples and block events have none. */
const EVE_TABLES: readonly TableName[] = ['alerts', 'flows'];
const EXTENSION: Record<ExportFormat, string> = { csv: 'csv', jsonl: 'jsonl', eve: 'eve.json' };

export interface ExportRequest {
  table: TableName;
  format: ExportFormat;
  from: number;
  to: number;
  /** Absolute path of the file to write (inside the export directory). */
  file: string;
}

export interface ExportResult {
  file: string;
  table: TableName;
  format: ExportFormat;
  rows: number;
  bytes: number;
  from: number;
  to: number;
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;
const KEYS = ['table', 'format', 'from', 'to', 'file'];

function timeArg(v: unknown, key: string, fallback: number): number {
  if (v === undefined || v === null || v === '') return fallback;
  const t = typeof v === 'number' ? v : typeof v === 'string' ? (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : Date.parse(v)) : NaN;
  if (!Number.isFinite(t)) throw new Error(`export ${key} must be a time (ms since epoch or an ISO date), got ${JSON.stringify(v)}`);
  return t;
}

/**
 * Validate `{ table, format, from?, to?, file? }`. `file` is a plain file
 * name (no directories) written inside `exportDir`; by default
 * `<table>-<from>-<to>.<csv|jsonl|eve.json>`.
 */
export function parseExport(request: unknown, exportDir: string, now = Date.now()): ExportRequest {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new Error('an export request is an object { table, format, from?, to?, file? }');
  }
  const r = request as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!KEYS.includes(key)) throw new Error(`unknown export parameter '${key}': expected ${KEYS.join(', ')}`);
  const table = r.table;
  if (typeof table !== 'string' || !(TABLE_NAMES as readonly string[]).includes(table)) {
    throw new Error(`export table must be one of ${TABLE_NAMES.join(', ')}, got ${JSON.stringify(table)}`);
  }
  const format = r.format ?? 'csv';
  if (!(FORMATS as readonly unknown[]).includes(format)) throw new Error(`export format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  if (format === 'eve' && !EVE_TABLES.includes(table as TableName)) {
    throw new Error(`export format 'eve' is for ${EVE_TABLES.join(' and ')} (EVE has no record for ${table}); use csv or jsonl`);
  }
  const from = timeArg(r.from, 'from', 0);
  const to = timeArg(r.to, 'to', now);
  if (from > to) throw new Error(`export from (${from}) is after to (${to})`);
  const name = r.file ?? `${table}-${Math.floor(from)}-${Math.floor(to)}.${EXTENSION[format as ExportFormat]}`;
  if (typeof name !== 'string' || !FILE_NAME.test(name)) {
    throw new Error(`export file must be a plain file name (letters, digits, . _ -; no directories), got ${JSON.stringify(name)}`);
  }
  return { table: table as TableName, format: format as ExportFormat, from, to, file: path.join(exportDir, name) };
}

type Row = Record<string, SqlValue>;
const opt = <T extends SqlValue>(v: SqlValue): T | undefined => (v === null || v === undefined ? undefined : (v as T));

/** A stored alert or flow row as its EVE record; `host` is the sensor it came from. */
function eveOfRow(table: TableName, r: Row): object {
  const ctx = { host: opt<string>(r.sensor) };
  if (table === 'flows') {
    const flow: FlowRecord = {
      proto: String(r.proto), src: String(r.src), dst: String(r.dst), sport: opt(r.sport), dport: opt(r.dport),
      origBytes: Number(r.orig_bytes ?? 0), origPackets: Number(r.orig_packets ?? 0), replyBytes: Number(r.reply_bytes ?? 0),
      replyPackets: Number(r.reply_packets ?? 0), state: opt(r.state), start: Number(r.start_ts ?? r.ts), end: opt(r.end_ts),
    };
    return eveFlow(flow, ctx, Number(r.ts));
  }
  const f = alertOfRow(r) as Partial<Alert> & Pick<Alert, 'ts' | 'rule' | 'category' | 'severity'>;
  // What a row written before a column existed (or by an older writer) lacks, as an alert would say it.
  const alert: Alert = {
    ...f, sid: f.sid ?? 0, signature: f.signature ?? f.rule, action: f.action === 'drop' ? 'drop' : 'alert', src: f.src ?? '', dst: f.dst ?? '',
    proto: f.proto ?? '', count: f.count ?? 1, windowMs: f.windowMs ?? 0, threshold: f.threshold ?? 0, reason: f.reason ?? '', detector: f.detector ?? '',
  };
  return eveAlert(alert, ctx, opt<string>(r.uid));
}

/** A row for JSON Lines: an alert's references (JSON text in `refs`, kept as such in CSV) as the array they are. */
function jsonRow(row: Record<string, SqlValue>): object {
  return typeof row.refs === 'string' ? { ...row, refs: decodeList(row.refs) } : row;
}

export async function exportTable(db: Db, req: ExportRequest, signal?: AbortSignal): Promise<ExportResult> {
  const def = Object.values(TABLES).find((t) => t.table === req.table);
  if (!def) throw new Error(`unknown table ${req.table}`);
  const columns = ['id', ...def.columns];
  const tmp = `${req.file}.${process.pid}.partial`;
  const out = fs.createWriteStream(tmp, { flags: 'wx' });
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  const stmt = await prepare(db, `SELECT ${columns.join(', ')} FROM ${req.table} WHERE ts >= ? AND ts <= ? ORDER BY ts`);
  let rows = 0;
  let bytes = 0;
  try {
    await new Promise<void>((resolve, reject) => stmt.bind([req.from, req.to], (err: Error | null) => (err ? reject(err) : resolve())));
    const write = async (line: string) => {
      bytes += Buffer.byteLength(line);
      if (!out.write(line)) await Promise.race([once(out, 'drain'), failed]);
    };
    if (req.format === 'csv') await write(csvLine(columns));
    for (;;) {
      if (signal?.aborted) throw new Error('export aborted (node closed)');
      const row = await stmtNext<Record<string, SqlValue>>(stmt);
      if (!row) break;
      await write(req.format === 'csv' ? csvLine(columns.map((c) => row[c])) : `${JSON.stringify(req.format === 'eve' ? eveOfRow(req.table, row) : jsonRow(row))}\n`);
      rows++;
    }
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
    await fs.promises.rename(tmp, req.file);
  } catch (err) {
    out.destroy();
    await fs.promises.rm(tmp, { force: true });
    throw err;
  } finally {
    await finalize(stmt);
  }
  return { file: req.file, table: req.table, format: req.format, rows, bytes, from: req.from, to: req.to };
}
