/**
 * The store's options and their defaults, apart from the store itself so
 * that the settings schema (settings.ts), which every node's scaffold loads,
 * does not load the SQLite binding.
 */
import type { TableName } from './records';

export interface RetentionRule {
  /** Delete rows logged longer ago than this; 0 = keep forever. */
  maxAgeMs: number;
  /** Keep at most this many newest rows; 0 = no limit. */
  maxRows: number;
}

export interface StoreOptions {
  flushMs: number;
  /** Flush as soon as this many rows wait. */
  batchRows: number;
  /** Bound on rows waiting (during a fault); the oldest are dropped beyond it. */
  maxPending: number;
  busyTimeoutMs: number;
  /** First retry delay after a failed flush or open; doubles up to 16x. */
  retryMs: number;
  retention: Record<TableName, RetentionRule>;
  retentionIntervalMs: number;
  /** Rows per retention DELETE. */
  retentionBatch: number;
}

export const DEFAULT_OPTIONS: StoreOptions = {
  flushMs: 1000,
  batchRows: 5000,
  maxPending: 200_000,
  busyTimeoutMs: 2000,
  retryMs: 1000,
  retention: {
    alerts: { maxAgeMs: 30 * 86_400_000, maxRows: 1_000_000 },
    devices: { maxAgeMs: 7 * 86_400_000, maxRows: 2_000_000 },
    flows: { maxAgeMs: 7 * 86_400_000, maxRows: 1_000_000 },
    blocks: { maxAgeMs: 365 * 86_400_000, maxRows: 100_000 },
  },
  retentionIntervalMs: 60_000,
  retentionBatch: 2000,
};
