/**
 * sqlite-log's settings, declared once: the database file, the writer and
 * retention options of its LogStore (their defaults are the store's own,
 * options.ts DEFAULT_OPTIONS), and how queries and exports are answered.
 */
import type { FieldSpec, Schema } from '../base/settings';
import { DEFAULT_OPTIONS, type StoreOptions } from './options';
import type { TableName } from './records';

export interface SqliteLogSettings {
  file: string;
  flushMs: number;
  batchRows: number;
  maxPending: number;
  retryMs: number;
  retentionS: number;
  alertsDays: number;
  alertsRows: number;
  devicesDays: number;
  devicesRows: number;
  flowsDays: number;
  flowsRows: number;
  blocksDays: number;
  blocksRows: number;
  queryLimit: number;
  exportDir: string;
}

const DAY_MS = 86_400_000;
const d = DEFAULT_OPTIONS;

type NumberField = Extract<FieldSpec, { type: 'number' | 'int' }>;

function keepDays(table: TableName): NumberField {
  return { type: 'number', min: 0, max: 36_500, default: d.retention[table].maxAgeMs / DAY_MS, unit: 'days', label: `Keep ${table}`, help: `delete ${table} logged longer ago than this; 0 = keep forever` };
}

function keepRows(table: TableName): NumberField {
  return { type: 'int', min: 0, max: 1e12, default: d.retention[table].maxRows, unit: 'rows', label: `Keep ${table}`, help: `keep at most this many newest ${table}; 0 = no limit` };
}

export const sqliteLogSchema: Schema<SqliteLogSettings> = {
  file: { type: 'string', maxLength: 4096, default: 'ips-log.db', label: 'File', help: 'the SQLite file, relative to the Node-RED user directory' },
  flushMs: { type: 'int', min: 10, max: 600_000, default: d.flushMs, unit: 'ms', label: 'Flush', help: 'write the rows gathered in one transaction this often ...' },
  batchRows: { type: 'int', min: 1, max: 1_000_000, default: d.batchRows, unit: 'rows', label: 'or rows', help: '... or as soon as this many wait' },
  maxPending: { type: 'int', min: 100, max: 10_000_000, default: d.maxPending, unit: 'rows', label: 'Keep unwritten', help: 'rows kept while the file cannot be written; beyond it the oldest are dropped and counted' },
  retryMs: { type: 'int', min: 10, max: 600_000, default: d.retryMs, unit: 'ms', label: 'Retry', help: 'first retry after a failed write (doubling up to 16 times as long)' },
  retentionS: { type: 'number', min: 0, max: 86_400, default: d.retentionIntervalMs / 1000, unit: 's', label: 'Retention every', help: 'how often old rows are deleted; 0 = never' },
  alertsDays: keepDays('alerts'),
  alertsRows: keepRows('alerts'),
  devicesDays: keepDays('devices'),
  devicesRows: keepRows('devices'),
  flowsDays: keepDays('flows'),
  flowsRows: keepRows('flows'),
  blocksDays: keepDays('blocks'),
  blocksRows: keepRows('blocks'),
  queryLimit: { type: 'int', min: 1, max: 100_000, default: 1000, unit: 'rows', label: 'Query limit', help: 'most rows a query answers with' },
  exportDir: { type: 'string', maxLength: 4096, default: '', label: 'Export dir', help: "where exports are written, relative to the user directory; blank = the database file's directory" },
};

/** The LogStore options the settings give. */
export function storeOptionsOf(s: SqliteLogSettings): Partial<StoreOptions> {
  const rule = (days: number, rows: number) => ({ maxAgeMs: Math.round(days * DAY_MS), maxRows: rows });
  return {
    flushMs: s.flushMs,
    batchRows: s.batchRows,
    maxPending: s.maxPending,
    retryMs: s.retryMs,
    retentionIntervalMs: s.retentionS * 1000,
    retention: {
      alerts: rule(s.alertsDays, s.alertsRows),
      devices: rule(s.devicesDays, s.devicesRows),
      flows: rule(s.flowsDays, s.flowsRows),
      blocks: rule(s.blocksDays, s.blocksRows),
    },
  };
}
