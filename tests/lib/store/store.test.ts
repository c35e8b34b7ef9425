/**
 * LogStore on real SQLite files: round trips, batching, schema upgrade,
 * retention, block history, sharing one file, and the faults a user meets
 * (missing directory, file locked by another process through the sqlite3
 * CLI, read-only mount, full tmpfs) — rows are kept and land once the fault
 * clears.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { LogStore } from '../../../lib/store/store';
import type { StoreOptions } from '../../../lib/store/options';
import { acquireStore, openStores } from '../../../lib/store/registry';
import { recognise, rowOfAlert, rowOfDevice, blockSnapshot, type LogItem, type IncomingMessage } from '../../../lib/store/records';
import { SCHEMA_VERSION } from '../../../lib/store/schema';
import { all, exec, openDb, closeDb, run } from '../../../lib/store/sqlite';
import { toolMissing } from '../../support/netns';
import { tempDir, makeAlert, makeDevice, readRows, waitFor, NASTY_TEXT } from '../../support/store';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function dir(tag: string): string {
  const d = tempDir(tag);
  dirs.push(d);
  return d;
}

function startStore(file: string, opts: Partial<StoreOptions> = {}): { store: LogStore; faults: string[] } {
  const store = new LogStore(file, { flushMs: 50, retryMs: 100, retentionIntervalMs: 0, busyTimeoutMs: 200, ...opts });
  const faults: string[] = [];
  store.on('fault', (m: string) => faults.push(m));
  store.start();
  return { store, faults };
}

function alerts(from: number, to: number): LogItem[] {
  const out: LogItem[] = [];
  for (let i = from; i <= to; i++) out.push(rowOfAlert(makeAlert(i)));
  return out;
}

async function sids(file: string): Promise<number[]> {
  return (await readRows(file, 'SELECT sid FROM alerts ORDER BY id')).map((r) => Number(r.sid) - 1000);
}

/** The rows a message becomes (it must be a records message). */
function records(msg: IncomingMessage, now: number): LogItem[] {
  const r = recognise(msg, now);
  assert.equal(r.type, 'records');
  return r.type === 'records' ? r.items : [];
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

async function isRoot(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (mount)';
  return toolMissing('mount', 'umount');
}

describe('LogStore', () => {
  it('stores every record kind and returns text fields byte-for-byte (quotes, NULs, Unicode, SQL fragments)', async () => {
    const file = path.join(dir('roundtrip'), 'log.db');
    const { store, faults } = startStore(file);
    const items: LogItem[] = [];
    NASTY_TEXT.forEach((t, i) => items.push(rowOfAlert(makeAlert(i, { reason: t, evidence: t, signature: t, detector: t, rule: `rule.${i}` }))));
    items.push(rowOfDevice(makeDevice('10.0.0.5', 1000, 50, { hostname: NASTY_TEXT[2], vendor: NASTY_TEXT[5], mac: 'aa:bb:cc:dd:ee:ff' })));
    items.push(...records({ topic: 'flows', payload: { proto: 'tcp', src: '10.0.0.5', dst: '10.0.1.1', sport: 40000, dport: 443, origBytes: 10, origPackets: 1, replyBytes: 20, replyPackets: 2, state: NASTY_TEXT[3], start: 5 } }, 1));
    items.push(blockSnapshot({ blocked: [{ ip: '10.0.0.66', since: 10, expires: 0, reason: NASTY_TEXT[0], rule: 'scan.vertical' }] }, 'payload', 11));
    store.add(items);
    await store.flush();
    assert.deepEqual(faults, []);
    const rows = await readRows(file, 'SELECT rule, reason, evidence, signature, detector FROM alerts ORDER BY id');
    assert.equal(rows.length, NASTY_TEXT.length);
    rows.forEach((r, i) => {
      for (const col of ['reason', 'evidence', 'signature', 'detector']) {
        assert.equal(Buffer.compare(Buffer.from(String(r[col])), Buffer.from(NASTY_TEXT[i])), 0, `${col} of row ${i}`);
      }
    });
    const [dev] = await readRows(file, 'SELECT ip, hostname, vendor, mac, rx_bps FROM devices');
    assert.deepEqual(dev, { ip: '10.0.0.5', hostname: NASTY_TEXT[2], vendor: NASTY_TEXT[5], mac: 'aa:bb:cc:dd:ee:ff', rx_bps: 1000 });
    const [flow] = await readRows(file, 'SELECT src, dport, state, reply_bytes FROM flows');
    assert.deepEqual(flow, { src: '10.0.0.5', dport: 443, state: NASTY_TEXT[3], reply_bytes: 20 });
    const [block] = await readRows(file, 'SELECT event, ip, reason FROM blocks');
    assert.deepEqual(block, { event: 'block', ip: '10.0.0.66', reason: NASTY_TEXT[0] });
    // The SQL fragments did nothing: every table is still there.
    const tables = (await readRows(file, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).map((r) => r.name);
    assert.deepEqual(tables, ['alert_minutes', 'alerts', 'blocks', 'device_hours', 'devices', 'flows', 'outbox', 'sensors', 'sqlite_sequence']);
    await store.close();
  });

  it('stores numbers and text exactly as binding each value would (decimals SQLite misreads, integers past 2^53, lone surrogates)', async () => {
    const file = path.join(dir('exact'), 'log.db');
    const { store, faults } = startStore(file);
    const numbers = [
      468139190.3813878, 4405639.811546735, 353716463.1592758, 7.50736130248391e-301, 33060178997428480000, 0.1,
      1_700_000_000_000.123, 2 ** 31, 2 ** 31 + 0.5, -(2 ** 31) - 1, 2 ** 53 + 2, 4965364379481987000, -4965364379481987000,
      2 ** 63, 1e21, Number.MAX_VALUE, Number.MIN_VALUE, -2.5e-310, -0, 0,
    ];
    const texts = ['lone high \ud800 end', 'lone low \udc00', '\udbff', 'pair \ud83d\ude80 then lone \ud83d', 'literal \\ud800 backslash', 'NUL\u0000 and \ud800 together'];
    const items: LogItem[] = numbers.map((x, i) => rowOfAlert(makeAlert(i, { ts: x, count: x, threshold: x, reason: texts[i % texts.length], evidence: texts[(i + 1) % texts.length] })));
    // Two samples of one address in one hour: the hourly sums are computed, then stored.
    items.push(rowOfDevice(makeDevice('10.0.0.9', 0.1, 468139190.3813878), 3_600_000), rowOfDevice(makeDevice('10.0.0.9', 0.2, 1e-7), 3_600_001));
    store.add(items);
    await store.flush();
    assert.deepEqual(faults, []);

    // The reference: the same values bound one by one into columns of the same types.
    const ref = await openDb(':memory:');
    await exec(ref, 'CREATE TABLE r (id INTEGER PRIMARY KEY, ts REAL, count INTEGER, reason TEXT, evidence TEXT)');
    for (let i = 0; i < numbers.length; i++) {
      await run(ref, 'INSERT INTO r (ts, count, reason, evidence) VALUES (?, ?, ?, ?)', [numbers[i], numbers[i], texts[i % texts.length], texts[(i + 1) % texts.length]]);
    }
    const shape = 'SELECT typeof(ts) AS tt, quote(ts) AS qt, typeof(count) AS tc, quote(count) AS qc, hex(reason) AS hr, hex(evidence) AS he FROM';
    const want = await all(ref, `${shape} r ORDER BY id`);
    await closeDb(ref);
    assert.deepEqual(await readRows(file, `${shape} alerts ORDER BY id`), want);
    // And read back through JS: the very same doubles (quote() prints 17 digits, not every bit).
    const back = await readRows(file, 'SELECT ts, threshold FROM alerts ORDER BY id');
    back.forEach((r, i) => {
      assert.ok(Object.is(r.ts, numbers[i] === 0 ? 0 : numbers[i]), `ts ${numbers[i]} came back as ${r.ts}`);
      assert.ok(Object.is(r.threshold, numbers[i] === 0 ? 0 : numbers[i]), `threshold ${numbers[i]} came back as ${r.threshold}`);
    });
    const [hour] = await readRows(file, 'SELECT rx_sum, tx_sum, peak FROM device_hours');
    assert.ok(Object.is(hour.rx_sum, 0.1 + 0.2) && Object.is(hour.tx_sum, 468139190.3813878 + 1e-7), JSON.stringify(hour));
    assert.ok(Object.is(hour.peak, 0.1 + 468139190.3813878), JSON.stringify(hour));
    await store.close();
  });

  it('writes a flush whose text is too long for one statement in several, in order', async () => {
    const file = path.join(dir('long'), 'log.db');
    const { store, faults } = startStore(file, { flushMs: 600_000, batchRows: 1_000_000 });
    // 20 x 600,000 characters is more than one JSON value may carry.
    store.add(range(1, 20).map((i) => rowOfAlert(makeAlert(i, { evidence: `${i}:`.padEnd(600_000, 'x') }))));
    await store.flush();
    assert.deepEqual(faults, []);
    assert.deepEqual(await readRows(file, 'SELECT sid - 1000 AS i, length(evidence) AS n FROM alerts ORDER BY id'), range(1, 20).map((i) => ({ i, n: 600_000 })));
    await store.close();
  });

  it('writes the rows waiting at a flush in one transaction, in order, in WAL mode, and flushes on close', async () => {
    const file = path.join(dir('batch'), 'log.db');
    const { store } = startStore(file, { flushMs: 600_000, batchRows: 1_000_000 });
    const flushed: number[] = [];
    store.on('flushed', (f: { rows: number }) => flushed.push(f.rows));
    store.add(alerts(1, 2500));
    await store.flush();
    assert.deepEqual(flushed, [2500]);
    store.add(alerts(2501, 2600));
    const res = await store.close();
    assert.deepEqual(res, { unwritten: 0 });
    assert.deepEqual(flushed, [2500, 100]);
    assert.deepEqual(await sids(file), range(1, 2600));
    const [mode] = await readRows(file, 'PRAGMA journal_mode');
    assert.equal(mode.journal_mode, 'wal');
  });

  it('keeps input order in every table when one flush mixes kinds and odd run lengths', async () => {
    const file = path.join(dir('mixed'), 'log.db');
    const { store, faults } = startStore(file, { flushMs: 600_000, batchRows: 1_000_000 });
    const devices = (from: number, to: number) => range(from, to).map((i) => rowOfDevice(makeDevice(`10.1.0.${i}`, i * 10, i), 1_700_000_000_000 + i));
    store.add([...alerts(1, 1234), ...devices(1, 7), ...alerts(1235, 1847), blockSnapshot({ blocked: [{ ip: '10.0.0.9' }] }, 'payload', 5), ...alerts(1848, 1848), ...devices(8, 20)]);
    await store.flush();
    assert.deepEqual(faults, []);
    assert.deepEqual(await sids(file), range(1, 1848));
    assert.deepEqual((await readRows(file, 'SELECT ip FROM devices ORDER BY id')).map((r) => r.ip), range(1, 20).map((i) => `10.1.0.${i}`));
    const [{ n }] = await readRows(file, 'SELECT sum(n) AS n FROM alert_minutes');
    assert.equal(n, 1848);
    const [sums] = await readRows(file, 'SELECT sum(samples) AS samples, sum(rx_sum) AS rx FROM device_hours');
    assert.deepEqual(sums, { samples: 20, rx: range(1, 20).reduce((a, i) => a + i * 10, 0) });
    assert.equal((await readRows(file, 'SELECT * FROM blocks')).length, 1);
    await store.close();
  });

  it('writes none of a flush when a row in its middle fails, and keeps all of them', async () => {
    const file = path.join(dir('atomic'), 'log.db');
    const { store, faults } = startStore(file, { flushMs: 600_000, batchRows: 1_000_000, retryMs: 60_000 });
    // A row the recogniser would refuse, built directly so SQLite itself rejects it (ts NOT NULL)
    // after several multi-row INSERTs of the same flush have been queued.
    const bad = rowOfAlert(makeAlert(1500));
    bad.values[0] = null;
    store.add([...alerts(1, 1499), bad, ...alerts(1501, 2000)]);
    await assert.rejects(store.flush(), /NOT NULL/);
    assert.equal(faults.length, 1);
    assert.deepEqual(await readRows(file, 'SELECT count(*) AS n FROM alerts'), [{ n: 0 }]);
    assert.deepEqual(await readRows(file, 'SELECT count(*) AS n FROM alert_minutes'), [{ n: 0 }]);
    assert.equal(store.getStats().pending, 2000);
    const res = await store.close();
    assert.equal(res.unwritten, 2000);
  });

  it('flushes by itself after the interval and when the row count is reached', async () => {
    const file = path.join(dir('auto'), 'log.db');
    const { store } = startStore(file, { flushMs: 100, batchRows: 1000 });
    store.add(alerts(1, 10));
    await waitFor('timed flush', () => store.getStats().written.alerts === 10);
    const { store: big } = startStore(path.join(path.dirname(file), 'big.db'), { flushMs: 600_000, batchRows: 1000 });
    big.add(alerts(1, 1500));
    await waitFor('row-count flush', () => big.getStats().written.alerts === 1500);
    await store.close();
    await big.close();
  });

  it('upgrades a version 1 database in place (through every later migration) and keeps its rows', async () => {
    const file = path.join(dir('migrate'), 'old.db');
    const db = await openDb(file);
    // The first release's schema, written out by hand.
    await exec(db, `
      CREATE TABLE alerts (id INTEGER PRIMARY KEY, ts REAL NOT NULL, rule TEXT NOT NULL, sid INTEGER, signature TEXT,
        category TEXT, severity TEXT, action TEXT, src TEXT, dst TEXT, proto TEXT, sport INTEGER, dport INTEGER,
        count INTEGER, window_ms INTEGER, threshold REAL, reason TEXT, evidence TEXT, detector TEXT);
      CREATE INDEX alerts_ts ON alerts(ts);
      CREATE TABLE devices (id INTEGER PRIMARY KEY, ts REAL NOT NULL, ip TEXT NOT NULL, mac TEXT,
        rx_bytes INTEGER, tx_bytes INTEGER, rx_bps REAL, tx_bps REAL, flows INTEGER, last_seen REAL);
      CREATE INDEX devices_ip_ts ON devices(ip, ts);
      CREATE TABLE flows (id INTEGER PRIMARY KEY, ts REAL NOT NULL, proto TEXT, src TEXT, dst TEXT, sport INTEGER, dport INTEGER,
        orig_bytes INTEGER, orig_packets INTEGER, reply_bytes INTEGER, reply_packets INTEGER, state TEXT, start_ts REAL, end_ts REAL);
      CREATE INDEX flows_ts ON flows(ts);
      INSERT INTO alerts (ts, rule, sid, category, severity, src, dst, reason) VALUES
        (1000, 'scan.vertical', 7, 'scan', 'medium', '10.9.9.9', '10.0.0.1', 'old row one'),
        (2000, 'flood.icmp', 8, 'flood', 'low', '10.9.9.8', '10.0.0.1', 'old row two');
      INSERT INTO devices (ts, ip, mac, rx_bps, tx_bps) VALUES (1500, '10.0.0.7', '00:11:22:33:44:55', 10, 20);
      PRAGMA user_version = 1;`);
    await closeDb(db);

    const { store, faults } = startStore(file);
    store.add([rowOfAlert(makeAlert(1, { srcMac: '02:00:00:00:00:01', offender: '10.66.0.1' })), rowOfDevice(makeDevice('10.0.0.8', 1, 2, { vendor: 'Acme' }))]);
    store.add(records({ payload: { blocked: [{ ip: '10.9.9.9', since: 3000, expires: 0, reason: 'scan', rule: 'scan.vertical' }] } }, 3000));
    await store.flush();
    await store.close();
    assert.deepEqual(faults, []);
    const [{ user_version: version }] = await readRows(file, 'PRAGMA user_version');
    assert.equal(version, SCHEMA_VERSION);
    const old = await readRows(file, 'SELECT ts, logged, rule, reason, src_mac, offender FROM alerts ORDER BY id');
    assert.deepEqual(old.slice(0, 2), [
      { ts: 1000, logged: 1000, rule: 'scan.vertical', reason: 'old row one', src_mac: null, offender: null },
      { ts: 2000, logged: 2000, rule: 'flood.icmp', reason: 'old row two', src_mac: null, offender: null },
    ]);
    assert.equal(old[2].src_mac, '02:00:00:00:00:01');
    assert.equal(old[2].offender, '10.66.0.1', 'new rows keep who the alert names as safe to block');
    assert.deepEqual(await readRows(file, 'SELECT ip, mac, vendor FROM devices ORDER BY id'), [
      { ip: '10.0.0.7', mac: '00:11:22:33:44:55', vendor: null },
      { ip: '10.0.0.8', mac: null, vendor: 'Acme' },
    ]);
    assert.equal((await readRows(file, 'SELECT count(*) AS n FROM blocks'))[0].n, 1);
    assert.deepEqual((await readRows(file, 'SELECT hour, ip, rx_sum, tx_sum, samples FROM device_hours ORDER BY hour'))[0], { hour: 0, ip: '10.0.0.7', rx_sum: 10, tx_sum: 20, samples: 1 });
    // The per-minute counts were filled from the old rows, and the new alert added to its minute.
    assert.deepEqual(await readRows(file, 'SELECT minute, category, n FROM alert_minutes ORDER BY minute, category'), [
      { minute: 0, category: 'flood', n: 1 },
      { minute: 0, category: 'scan', n: 1 },
      { minute: Math.floor(makeAlert(1).ts / 60_000), category: 'flood', n: 1 },
    ]);
    const [check] = await readRows(file, 'PRAGMA integrity_check');
    assert.equal(check.integrity_check, 'ok');
  });

  it('refuses a database written by a newer version and leaves it untouched', async () => {
    const file = path.join(dir('newer'), 'new.db');
    const db = await openDb(file);
    await exec(db, 'CREATE TABLE future (x); PRAGMA user_version = 99;');
    await closeDb(db);
    const { store, faults } = startStore(file, { retryMs: 60_000 });
    await waitFor('fault', () => faults.length > 0);
    assert.match(faults[0], /schema version 99 is newer than this node understands/);
    await store.close();
    const [{ user_version: v }] = await readRows(file, 'PRAGMA user_version');
    assert.equal(v, 99);
  });

  it('applies retention by age (from when rows were logged) and by row count, in small batches', async () => {
    const file = path.join(dir('retention'), 'log.db');
    const DAY = 86_400_000;
    const now = Date.now();
    const { store } = startStore(file, {
      retentionBatch: 7,
      retention: {
        alerts: { maxAgeMs: 30 * DAY, maxRows: 0 },
        devices: { maxAgeMs: 0, maxRows: 40 },
        flows: { maxAgeMs: 0, maxRows: 0 },
        blocks: { maxAgeMs: 0, maxRows: 0 },
      },
    });
    // 25 alerts logged 40 days ago (their event time is recent: a replayed capture is judged by when it was logged).
    const old = Array.from({ length: 25 }, (_, i) => rowOfAlert(makeAlert(i, { ts: now }), now - 40 * DAY));
    const fresh = Array.from({ length: 10 }, (_, i) => rowOfAlert(makeAlert(100 + i, { ts: now - 90 * DAY }), now));
    store.add([...old, ...fresh]);
    store.add(Array.from({ length: 100 }, (_, i) => rowOfDevice(makeDevice('10.0.0.2', i, i))));
    await store.flush();
    const deleted = await store.applyRetention(now);
    assert.deepEqual(deleted, { alerts: 25, devices: 60, flows: 0, blocks: 0 });
    assert.deepEqual(await sids(file), range(100, 109));
    const rates = (await readRows(file, 'SELECT rx_bps FROM devices ORDER BY id')).map((r) => r.rx_bps);
    assert.deepEqual(rates, range(60, 99));
    await store.close();
  });

  it('runs retention by itself on its interval while rows keep coming', async () => {
    const file = path.join(dir('retention-timer'), 'log.db');
    const none = { maxAgeMs: 0, maxRows: 0 };
    const { store, faults } = startStore(file, { retentionIntervalMs: 100, retentionBatch: 5, retention: { alerts: { maxAgeMs: 0, maxRows: 20 }, devices: none, flows: none, blocks: none } });
    store.add(alerts(1, 100));
    await store.flush();
    store.add(alerts(101, 120));
    await waitFor('only the newest 20 kept', async () => (await sids(file)).join() === range(101, 120).join());
    assert.deepEqual(faults, []);
    await store.close();
  });

  it('records block history as block/update/unblock/expire events, and remembers the state across reopen', async () => {
    const file = path.join(dir('blocks'), 'log.db');
    // A is a device blocked by its MAC (iptables-block's MAC offenders), B an address.
    const A = { ip: '02:00:00:00:00:66', since: 1000, expires: 0, reason: 'spoofing', rule: 'lan.spoof.many' };
    const B = { ip: '10.0.0.77', since: 2000, expires: 9000, reason: 'flood', rule: 'flood.syn' };
    const snap = (ts: number, blocked: object[]) => records({ payload: { blocked } }, ts);
    let { store } = startStore(file);
    store.add(snap(1000, [A]));
    store.add(snap(2000, [A, B]));
    store.add(snap(2500, [A, B])); // no change, no event
    store.add(snap(3000, [{ ...B, expires: 12000 }, A]));
    store.add(snap(4000, [{ ...B, expires: 12000 }]));
    await store.close();
    ({ store } = startStore(file));
    store.add(snap(5000, [{ ...B, expires: 12000 }])); // same list after a restart: nothing new
    store.add(snap(13000, []));
    await store.close();
    const events = await readRows(file, 'SELECT ts, event, ip, expires FROM blocks ORDER BY id');
    assert.deepEqual(events, [
      { ts: 1000, event: 'block', ip: A.ip, expires: 0 },
      { ts: 2000, event: 'block', ip: B.ip, expires: 9000 },
      { ts: 3000, event: 'update', ip: B.ip, expires: 12000 },
      { ts: 4000, event: 'unblock', ip: A.ip, expires: 0 },
      { ts: 13000, event: 'expire', ip: B.ip, expires: 12000 },
    ]);
  });
});

describe('sharing one database file', () => {
  it('gives nodes on one path one store, and keeps the rows of all of them', async () => {
    const file = path.join(dir('shared'), 'log.db');
    const a = acquireStore(file, { flushMs: 20, retentionIntervalMs: 0 });
    const b = acquireStore(path.join(path.dirname(file), '.', 'log.db'), { flushMs: 20, retentionIntervalMs: 0 });
    assert.equal(a.store, b.store);
    assert.equal(openStores().get(file), 2);
    const faults: string[] = [];
    a.store.on('fault', (m: string) => faults.push(m));
    for (let round = 0; round < 20; round++) {
      a.store.add(alerts(round * 100 + 1, round * 100 + 50));
      b.store.add(alerts(round * 100 + 51, round * 100 + 100));
      await new Promise((r) => setTimeout(r, 5));
    }
    await a.release();
    assert.equal(openStores().get(file), 1);
    await b.release();
    assert.equal(openStores().has(file), false);
    assert.deepEqual(faults, []);
    assert.deepEqual(await sids(file), range(1, 2000));
  });

  it('lets two processes write the same file at once without "database is locked" failures', async () => {
    const file = path.join(dir('twoproc'), 'log.db');
    const storeJs = require.resolve('../../../lib/store/store');
    const helpersJs = require.resolve('../../support/store');
    const recordsJs = require.resolve('../../../lib/store/records');
    const script = `
      const { LogStore } = require(${JSON.stringify(storeJs)});
      const { rowOfAlert } = require(${JSON.stringify(recordsJs)});
      const { makeAlert } = require(${JSON.stringify(helpersJs)});
      const [file, base] = process.argv.slice(1);
      const store = new LogStore(file, { flushMs: 5, batchRows: 50, retentionIntervalMs: 0, busyTimeoutMs: 5000 });
      const faults = [];
      store.on('fault', (m) => faults.push(m));
      store.start();
      (async () => {
        for (let i = 0; i < 40; i++) {
          const rows = [];
          for (let k = 0; k < 50; k++) rows.push(rowOfAlert(makeAlert(Number(base) + i * 50 + k)));
          store.add(rows);
          await new Promise((r) => setTimeout(r, 2));
        }
        const res = await store.close();
        process.stdout.write(JSON.stringify({ faults, res }));
      })();`;
    const runOne = (base: number) => new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script, file, String(base)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`writer exited ${code}`))));
    });
    const outs = await Promise.all([runOne(1), runOne(10_001)]);
    for (const out of outs) assert.deepEqual(JSON.parse(out), { faults: [], res: { unwritten: 0 } });
    const got = (await sids(file)).sort((x, y) => x - y);
    assert.deepEqual(got, [...range(1, 2000), ...range(10_001, 12_000)]);
  });
});

describe('faults: the store keeps rows and retries', () => {
  it('reports a missing directory, keeps the rows, and writes them once the directory exists', async () => {
    const base = dir('missing');
    const file = path.join(base, 'not-yet', 'log.db');
    const { store, faults } = startStore(file);
    store.add(alerts(1, 30));
    await waitFor('fault', () => faults.length > 0);
    assert.match(faults[0], /directory .*not-yet does not exist/);
    assert.equal(store.getStats().pending, 30);
    fs.mkdirSync(path.dirname(file));
    await waitFor('kept rows written', () => store.getStats().written.alerts === 30);
    assert.equal(store.getStats().fault, null);
    await store.close();
    assert.deepEqual(await sids(file), range(1, 30));
  });

  it('reports a file locked by another process, keeps a bounded buffer (oldest dropped and counted), and writes when the lock goes', async (t) => {
    const missing = await toolMissing('sqlite3');
    if (missing) return t.skip(missing);
    const file = path.join(dir('locked'), 'log.db');
    const { store, faults } = startStore(file, { maxPending: 500 });
    store.add(alerts(1, 10));
    await store.flush();
    // Another process takes the write lock (sqlite3 CLI, BEGIN EXCLUSIVE) and holds it.
    const cli = spawn('sqlite3', [file], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      let out = '';
      cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
      cli.stdin.write("BEGIN EXCLUSIVE;\nSELECT 'holding';\n");
      await waitFor('CLI lock', () => out.includes('holding'));
      let dropped = 0;
      store.on('dropped', (n: number) => (dropped += n));
      for (let i = 11; i <= 810; i += 100) store.add(alerts(i, i + 99));
      await waitFor('lock fault', () => faults.length > 0);
      assert.match(faults[0], /is locked by another connection or process/);
      assert.equal(store.getStats().pending, 500);
      assert.equal(dropped, 300);
      assert.equal(store.getStats().dropped, 300);
      cli.stdin.end('COMMIT;\n');
      await waitFor('kept rows written', () => store.getStats().written.alerts === 510);
    } finally {
      cli.kill();
    }
    await store.close();
    // The first 10, then the newest 500 (the oldest 300 waiting were dropped).
    assert.deepEqual(await sids(file), [...range(1, 10), ...range(311, 810)]);
  });

  it('reports a read-only file system, keeps the rows, and writes them once it is writable again', async (t) => {
    const why = await isRoot();
    if (why) return t.skip(why);
    const base = dir('readonly');
    const real = path.join(base, 'real');
    const view = path.join(base, 'view');
    fs.mkdirSync(real);
    fs.mkdirSync(view);
    const seed = startStore(path.join(real, 'log.db'));
    seed.store.add(alerts(1, 5));
    await seed.store.close();
    execFileSync('mount', ['--bind', real, view]);
    try {
      execFileSync('mount', ['-o', 'remount,bind,ro', view]);
      const file = path.join(view, 'log.db');
      const { store, faults } = startStore(file);
      store.add(alerts(6, 20));
      await waitFor('read-only fault', () => faults.length > 0);
      assert.match(faults[0], /is read-only: the file system holding .*view is mounted read-only/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(store.getStats().pending, 15);
      execFileSync('mount', ['-o', 'remount,bind,rw', view]);
      await waitFor('kept rows written', () => store.getStats().written.alerts === 15);
      await store.close();
      assert.deepEqual(await sids(file), range(1, 20));
    } finally {
      execFileSync('umount', ['-l', view]); // lazy: still detaches if a failed test left the file open
    }
  });

  it('reports a full disk, keeps the rows, and writes them once space is freed; the file stays intact', async (t) => {
    const why = await isRoot();
    if (why) return t.skip(why);
    const mnt = dir('full');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
    try {
      const file = path.join(mnt, 'log.db');
      const { store, faults } = startStore(file);
      store.add(alerts(1, 5));
      await store.flush();
      // Fill the file system.
      const filler = path.join(mnt, 'filler');
      const fd = fs.openSync(filler, 'w');
      try {
        const chunk = Buffer.alloc(4096, 1);
        for (;;) fs.writeSync(fd, chunk);
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        fs.closeSync(fd);
      }
      const big = 'x'.repeat(300);
      store.add(Array.from({ length: 60 }, (_, i) => rowOfAlert(makeAlert(6 + i, { evidence: big }))));
      await waitFor('disk-full fault', () => faults.length > 0);
      assert.match(faults[0], /disk full|I\/O error/);
      assert.equal(store.getStats().pending, 60);
      fs.rmSync(filler);
      await waitFor('kept rows written', () => store.getStats().written.alerts === 65);
      await store.close();
      assert.deepEqual(await sids(file), range(1, 65));
      const [check] = await readRows(file, 'PRAGMA integrity_check');
      assert.equal(check.integrity_check, 'ok');
    } finally {
      execFileSync('umount', ['-l', mnt]);
    }
  });
});
