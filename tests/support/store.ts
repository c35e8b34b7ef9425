/** Shared bits for the store tests: temp dirs, contract objects, waiting on a condition. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Alert } from '../../lib/detect/alert';
import type { DeviceStats } from '../../lib/net/types';
import { all, closeDb, openDb, type SqlRow } from '../../lib/store/sqlite';

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ips-store-${tag}-`));
}

export function makeAlert(i: number, over: Partial<Alert> = {}): Alert {
  return {
    ts: 1_700_000_000_000 + i * 1000,
    rule: 'flood.syn',
    sid: 1000 + i,
    signature: 'SYN flood',
    category: 'flood',
    severity: 'high',
    action: 'alert',
    src: `10.0.0.${(i % 250) + 1}`,
    dst: '10.0.1.1',
    proto: 'tcp',
    dport: 80,
    count: 500,
    windowMs: 1000,
    threshold: 200,
    reason: `500 SYN in 1 s (threshold 200) #${i}`,
    detector: 'flood-detect',
    ...over,
  };
}

export function makeDevice(ip: string, rxBps: number, txBps: number, over: Partial<DeviceStats> = {}): DeviceStats {
  return { ip, rxBytes: rxBps * 10, txBytes: txBps * 10, rxBps, txBps, flows: 3, lastSeen: 1_700_000_000_000, ...over };
}

/** Read rows with a separate connection, as another program would. */
export async function readRows(file: string, sql: string): Promise<SqlRow[]> {
  const db = await openDb(file, true);
  try {
    return await all(db, sql);
  } finally {
    await closeDb(db);
  }
}

export async function waitFor(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Strings that break naive SQL or CSV handling; each must come back unchanged. */
export const NASTY_TEXT = [
  "it's a 'quoted' string",
  'double "quotes", commas, and\r\nnew lines',
  'NUL\u0000inside\u0000text',
  "'); DROP TABLE alerts; --",
  '1 OR 1=1; SELECT * FROM sqlite_master',
  'naïve — 日本語 — emoji 🚀 — RTL \u202e',
  '\\x00 backslashes \\ and %s %d ? ?1 :name @x $y',
];
