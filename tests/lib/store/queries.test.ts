/**
 * Dashboard queries and exports on a real SQLite file seeded with known
 * rows: shapes node-red-dashboard renders, filters, limits, refusals, and
 * exports that read back to the stored values.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore } from '../../../lib/store/store';
import { rowOfAlert, rowOfDevice, rowOfFlow, blockSnapshot, type LogItem } from '../../../lib/store/records';
import { parseQuery, runQuery, type ChartData } from '../../../lib/store/queries';
import { parseExport, exportTable } from '../../../lib/store/export';
import type { Db } from '../../../lib/store/sqlite';
import { tempDir, makeAlert, makeDevice, readRows, NASTY_TEXT } from '../../support/store';
import { parseCsv } from '../../support/csv';

const MIN = 60_000;
const HOUR = 3_600_000;
const NOW = 1_800_000_000_000; // on a minute boundary
let dir: string;
let store: LogStore;
let db: Db;

async function q(request: Record<string, unknown>, maxLimit = 1000) {
  return runQuery(db, parseQuery(request, maxLimit), NOW);
}

before(async () => {
  dir = tempDir('queries');
  store = new LogStore(path.join(dir, 'log.db'), { retentionIntervalMs: 0 });
  store.start();
  const items: LogItem[] = [];
  let n = 0;
  // Ten minutes of alerts: minute m has m+1 floods from 10.0.0.1 and, on even minutes, 2 scans from 10.0.0.2.
  for (let m = 0; m < 10; m++) {
    const t0 = NOW - (10 - m) * MIN;
    for (let k = 0; k <= m; k++) items.push(rowOfAlert(makeAlert(n++, { ts: t0 + k * 1000, src: '10.0.0.1' }), NOW));
    if (m % 2 === 0) {
      for (let k = 0; k < 2; k++) {
        items.push(rowOfAlert(makeAlert(n++, { ts: t0 + 30_000 + k, rule: 'scan.vertical', category: 'scan', severity: 'medium', src: '10.0.0.2', reason: NASTY_TEXT[(m + k) % NASTY_TEXT.length] }), NOW));
      }
    }
  }
  // Thirty minutes of device samples every 10 s.
  for (let t = NOW - 30 * MIN; t < NOW; t += 10_000) {
    items.push(rowOfDevice(makeDevice('10.0.0.1', 1000, 100), t));
    items.push(rowOfDevice(makeDevice('10.0.0.2', 5000 + ((t / 10_000) % 2) * 1000, 500, { hostname: t === NOW - 10_000 ? 'nas' : 'old-name', vendor: 'Synology' }), t));
    items.push(rowOfDevice(makeDevice('10.0.0.3', 10, 1), t));
  }
  // 10.0.0.9, a day earlier: a sample every 10 min for 5 h, rx 100 in the first hour, 200 in the second, ...
  for (let k = 0; k < 30; k++) items.push(rowOfDevice(makeDevice('10.0.0.9', 100 * (Math.floor(k / 6) + 1), 10), NOW - 30 * HOUR + k * 10 * MIN));
  items.push(rowOfFlow({ proto: 'tcp', src: '10.0.0.1', dst: '10.0.1.1', sport: 50000, dport: 443, origBytes: 100, origPackets: 2, replyBytes: 900, replyPackets: 3, start: NOW - 5000 }, NOW - 1000));
  items.push(blockSnapshot({ blocked: [{ ip: '10.0.0.2', since: NOW - 5 * MIN, expires: NOW + MIN, reason: 'scan', rule: 'scan.vertical' }] }, 'payload', NOW - 5 * MIN));
  items.push(blockSnapshot({ blocked: [] }, 'payload', NOW - 2 * MIN));
  store.add(items);
  await store.flush();
  db = await store.readConnection();
});

after(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('queries', () => {
  it('recentAlerts: newest first, filtered by rule, severity, source and time, bounded by the limit', async () => {
    const all = await q({ name: 'recentAlerts', limit: 1000 });
    assert.equal(all.count, 55 + 10);
    const ts = (all.payload as { ts: number }[]).map((r) => r.ts);
    assert.deepEqual(ts, [...ts].sort((a, b) => b - a));
    const five = await q({ name: 'recentAlerts', limit: 5 });
    assert.deepEqual((five.payload as { ts: number }[]).map((r) => r.ts), ts.slice(0, 5));
    const scans = (await q({ name: 'recentAlerts', rule: 'scan.vertical' })).payload as Record<string, unknown>[];
    assert.equal(scans.length, 10);
    assert.ok(scans.every((r) => r.src === '10.0.0.2' && r.severity === 'medium' && r.category === 'scan'));
    assert.ok(scans.some((r) => r.reason === NASTY_TEXT[2]), 'text with NULs comes back as stored');
    assert.equal((await q({ name: 'recentAlerts', severity: 'high', src: '10.0.0.1' })).count, 55);
    const lastTwoMinutes = await q({ name: 'recentAlerts', last: 2 * MIN });
    assert.equal(lastTwoMinutes.count, 10 + 9 + 2);
    const row = scans[0];
    assert.equal(typeof row.time, 'string');
    assert.equal(new Date(row.time as string).getTime(), row.ts);
  });

  it('alertsPerMinute: a ui_chart line payload with one zero-filled series per category', async () => {
    const res = await q({ name: 'alertsPerMinute', from: NOW - 10 * MIN, to: NOW - 1 });
    const [chart] = res.payload as ChartData[];
    assert.deepEqual(chart.series, ['flood', 'scan']);
    assert.deepEqual(chart.labels, ['']);
    assert.deepEqual(chart.data[0].map((p) => p.y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(chart.data[1].map((p) => p.y), [2, 0, 2, 0, 2, 0, 2, 0, 2, 0]);
    assert.deepEqual(chart.data[0].map((p) => p.x), Array.from({ length: 10 }, (_, m) => NOW - (10 - m) * MIN));
    // A range wider than the limit widens the buckets instead of returning more points.
    const wide = await q({ name: 'alertsPerMinute', from: NOW - 10 * MIN, to: NOW - 1, limit: 5 });
    assert.equal(wide.bucketMs, 2 * MIN);
    const [w] = wide.payload as ChartData[];
    assert.deepEqual(w.data[0].map((p) => p.y), [3, 7, 11, 15, 19]);
    const scanOnly = await q({ name: 'alertsPerMinute', category: 'scan', last: 10 * MIN });
    assert.deepEqual((scanOnly.payload as ChartData[])[0].series, ['scan']);
  });

  it('topTalkers: devices ordered by average rate, with the latest name', async () => {
    const res = await q({ name: 'topTalkers', last: 30 * MIN });
    const rows = res.payload as Record<string, unknown>[];
    assert.deepEqual(rows.map((r) => r.ip), ['10.0.0.2', '10.0.0.1', '10.0.0.3']);
    assert.deepEqual(rows[1], { ip: '10.0.0.1', mac: null, vendor: null, hostname: null, rxBps: 1000, txBps: 100, totalBps: 1100, peakBps: 1100, samples: 180 });
    assert.equal(rows[0].hostname, 'nas');
    assert.equal(rows[0].rxBps, 5500);
    assert.equal(rows[0].peakBps, 6500);
    assert.deepEqual((await q({ name: 'topTalkers', limit: 1 })).payload.map((r) => (r as { ip: string }).ip), ['10.0.0.2']);
  });

  it('topTalkers over several hours: whole hours from the hourly sums plus the partial hours at each end give the exact averages', async () => {
    // Samples at minute 20, 30, 40, 50 of the first hour (rx 100), all six of hours 2-5 (rx 200..500).
    const res = await q({ name: 'topTalkers', from: NOW - 30 * HOUR + 17 * MIN, to: NOW - 25 * HOUR - 1 });
    const rows = res.payload as Record<string, unknown>[];
    assert.deepEqual(rows.map((r) => r.ip), ['10.0.0.9']);
    assert.equal(rows[0].samples, 28);
    assert.equal(rows[0].rxBps, Math.round((4 * 100 + 6 * (200 + 300 + 400 + 500)) / 28));
    assert.equal(rows[0].txBps, 10);
    assert.equal(rows[0].peakBps, 510);
    // Ending inside the fifth hour: only its samples up to then count.
    const part = (await q({ name: 'topTalkers', from: NOW - 30 * HOUR, to: NOW - 26 * HOUR + 25 * MIN })).payload as Record<string, unknown>[];
    assert.equal(part[0].samples, 6 * 4 + 3);
    assert.equal(part[0].rxBps, Math.round((6 * (100 + 200 + 300 + 400) + 3 * 500) / 27));
  });

  it('deviceHistory: rx/tx series for one device, averaged down to the limit', async () => {
    const full = await q({ name: 'deviceHistory', ip: '10.0.0.2', last: 30 * MIN, limit: 1000 });
    const [chart] = full.payload as ChartData[];
    assert.deepEqual(chart.series, ['10.0.0.2 rx B/s', '10.0.0.2 tx B/s']);
    assert.equal(chart.data[0].length, 180);
    assert.deepEqual(new Set(chart.data[0].map((p) => p.y)), new Set([5000, 6000]));
    const small = await q({ name: 'deviceHistory', ip: '10.0.0.2', last: 30 * MIN, limit: 10 });
    const [s] = small.payload as ChartData[];
    assert.equal(s.data[0].length, 10);
    assert.ok(s.data[0].every((p) => p.y === 5500), 'alternating samples average out');
    assert.ok(s.data[1].every((p) => p.y === 500));
  });

  it('deviceHistory without ip: one rx+tx series per device, busiest first', async () => {
    const res = await q({ name: 'deviceHistory', last: 30 * MIN, limit: 10 });
    const [chart] = res.payload as ChartData[];
    assert.deepEqual(chart.series, ['10.0.0.2 B/s', '10.0.0.1 B/s', '10.0.0.3 B/s']);
    assert.equal(chart.data[1].length, 10);
    assert.ok(chart.data[0].every((p) => p.y === 5500 + 500), 'rx and tx summed');
    assert.ok(chart.data[1].every((p) => p.y === 1100));
  });

  it('blockHistory and recentFlows: rows for tables', async () => {
    const blocks = (await q({ name: 'blockHistory' })).payload as Record<string, unknown>[];
    assert.deepEqual(blocks.map((b) => [b.event, b.ip]), [['unblock', '10.0.0.2'], ['block', '10.0.0.2']]);
    assert.equal(blocks[1].expiresAt, new Date(NOW + MIN).toISOString());
    assert.equal((await q({ name: 'blockHistory', ip: '10.9.9.9' })).count, 0);
    const flows = (await q({ name: 'recentFlows', src: '10.0.0.1' })).payload as Record<string, unknown>[];
    assert.equal(flows.length, 1);
    assert.equal(flows[0].replyBytes, 900);
  });

  it('refuses bad requests with the reason', () => {
    assert.throws(() => parseQuery({ name: 'dropTables' }, 100), /unknown query "dropTables": expected one of recentAlerts/);
    assert.throws(() => parseQuery('recentAlerts', 100), /a query is an object/);
    assert.throws(() => parseQuery({ name: 'recentAlerts', sql: 'x' }, 100), /unknown parameter 'sql' for recentAlerts/);
    assert.throws(() => parseQuery({ name: 'recentAlerts', limit: 5000 }, 100), /limit must be an integer 1..100/);
    assert.throws(() => parseQuery({ name: 'recentAlerts', limit: 0 }, 100), /limit must be an integer/);
  });

  it('refuses bad parameter values when running', async () => {
    await assert.rejects(q({ name: 'deviceHistory', ip: "1' OR '1'='1" }), /not a valid IP address/);
    await assert.rejects(q({ name: 'recentAlerts', from: 'soon' }), /from must be a time/);
    await assert.rejects(q({ name: 'recentAlerts', from: NOW, to: NOW - 1 }), /is after to/);
  });
});

describe('export', () => {
  it('writes CSV that reads back to the stored values, quotes and NULs included', async () => {
    const req = parseExport({ table: 'alerts', format: 'csv', from: NOW - 10 * MIN, to: NOW, file: 'alerts.csv' }, dir);
    const res = await exportTable(db, req);
    assert.equal(res.rows, 65);
    assert.equal(res.file, path.join(dir, 'alerts.csv'));
    const text = fs.readFileSync(res.file, 'utf8');
    assert.equal(res.bytes, Buffer.byteLength(text));
    const [header, ...rows] = parseCsv(text);
    assert.deepEqual(header.slice(0, 4), ['id', 'ts', 'logged', 'rule']);
    const stored = await readRows(path.join(dir, 'log.db'), 'SELECT * FROM alerts ORDER BY ts');
    assert.equal(rows.length, stored.length);
    rows.forEach((r, i) => {
      header.forEach((col, j) => assert.equal(r[j], stored[i][col] === null ? '' : String(stored[i][col]), `row ${i} ${col}`));
    });
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('partial')), []);
  });

  it('writes JSON Lines for a time range', async () => {
    const res = await exportTable(db, parseExport({ table: 'devices', format: 'jsonl', from: NOW - MIN, to: NOW }, dir));
    assert.equal(path.basename(res.file), `devices-${NOW - MIN}-${NOW}.jsonl`);
    const lines = fs.readFileSync(res.file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 18);
    assert.equal(res.rows, 18);
    assert.ok(lines.every((l) => (l.ts as number) >= NOW - MIN && (l.ts as number) <= NOW));
    assert.deepEqual(Object.keys(lines[0]).slice(0, 3), ['id', 'ts', 'ip']);
  });

  it('refuses paths outside the export directory, unknown tables and formats', () => {
    assert.throws(() => parseExport({ table: 'alerts', file: '../etc/passwd' }, dir), /plain file name/);
    assert.throws(() => parseExport({ table: 'alerts', file: '/tmp/x.csv' }, dir), /plain file name/);
    assert.throws(() => parseExport({ table: 'users' }, dir), /table must be one of alerts, devices, flows, blocks/);
    assert.throws(() => parseExport({ table: 'alerts', format: 'xlsx' }, dir), /format must be one of csv, jsonl, eve/);
    assert.throws(() => parseExport({ table: 'alerts', where: '1=1' }, dir), /unknown export parameter 'where'/);
  });
});
