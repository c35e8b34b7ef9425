/**
 * Editor settings of `sqlite-log` (strings, as Node-RED stores them) to
 * validated StoreOptions. Empty means the default; a bad value is refused
 * with the setting's name and the allowed range.
 */
import { DEFAULT_OPTIONS, type RetentionRule, type StoreOptions } from './store';
import type { TableName } from './records';

export interface StoreSettings {
  flushMs?: string;
  batchRows?: string;
  maxPending?: string;
  retryMs?: string;
  retentionS?: string;
  alertsDays?: string;
  alertsRows?: string;
  devicesDays?: string;
  devicesRows?: string;
  flowsDays?: string;
  flowsRows?: string;
  blocksDays?: string;
  blocksRows?: string;
}

const DAY = 86_400_000;

/** An editor setting as a number in range (empty: `fallback`); throws naming the setting and the range. */
export function numberSetting(value: string | number | undefined, fallback: number, name: string, min: number, max: number, integer = true): number {
  const n = value === undefined || value === '' ? fallback : Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} ${min}..${max}, got '${value}'`);
  }
  return n;
}

export function storeOptionsFromSettings(s: StoreSettings): Partial<StoreOptions> {
  const d = DEFAULT_OPTIONS;
  const rule = (table: TableName, days: string | undefined, rows: string | undefined): RetentionRule => ({
    maxAgeMs: Math.round(numberSetting(days, d.retention[table].maxAgeMs / DAY, `${table} retention days`, 0, 36_500, false) * DAY),
    maxRows: numberSetting(rows, d.retention[table].maxRows, `${table} retention rows`, 0, 1e12),
  });
  return {
    flushMs: numberSetting(s.flushMs, d.flushMs, 'flush interval (ms)', 10, 600_000),
    batchRows: numberSetting(s.batchRows, d.batchRows, 'batch rows', 1, 1_000_000),
    maxPending: numberSetting(s.maxPending, d.maxPending, 'max unwritten rows', 100, 10_000_000),
    retryMs: numberSetting(s.retryMs, d.retryMs, 'retry interval (ms)', 10, 600_000),
    retentionIntervalMs: numberSetting(s.retentionS, d.retentionIntervalMs / 1000, 'retention interval (s)', 0, 86_400, false) * 1000,
    retention: {
      alerts: rule('alerts', s.alertsDays, s.alertsRows),
      devices: rule('devices', s.devicesDays, s.devicesRows),
      flows: rule('flows', s.flowsDays, s.flowsRows),
      blocks: rule('blocks', s.blocksDays, s.blocksRows),
    },
  };
}
