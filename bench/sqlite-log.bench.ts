/**
 * sqlite-log figures:
 *  1. sustained insert rate of alerts and of device-stat rows through the
 *     node in a real Node-RED runtime (batches of 1,000 records per message
 *     handed to the node with receive(), timed until the last row is
 *     committed, as seen by a second connection), and of flow records;
 *  2. time of each dashboard query on a database of 1,000,000 alerts and
 *     1,000,000 device-traffic rows spread over 24 h (written with the
 *     LogStore engine in big transactions).
 * Targets: >= 50,000 rows/s; every dashboard query < 50 ms.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRuntime } from '../tests/support/red-runtime';
import type { Alert } from '../lib/detect/alert';
import type { DeviceStats, FlowRecord } from '../lib/net/types';
import { LogStore } from '../lib/store/store';
import { rowOfAlert, rowOfDevice, blockSnapshot, type LogItem } from '../lib/store/records';
import { parseQuery, runQuery } from '../lib/store/queries';
import { closeDb, get, openDb } from '../lib/store/sqlite';

const RULES = ['flood.syn', 'flood.icmp', 'flood.udp', 'scan.vertical', 'scan.horizontal', 'scan.xmas', 'payload.sqli', 'payload.xss', 'payload.traversal', 'bandwidth.rx', 'policy.blocked'];
const SEVERITIES: Alert['severity'][] = ['high', 'medium', 'low'];

function alertAt(i: number, ts: number): Alert {
  const rule = RULES[i % RULES.length];
  return {
    ts, rule, sid: 1000 + (i % RULES.length), signature: rule, category: rule.split('.')[0] as Alert['category'],
    severity: SEVERITIES[i % 3], action: 'alert', src: `10.0.${Math.floor((i % 2000) / 250)}.${(i % 250) + 1}`,
    dst: '192.168.1.1', proto: 'tcp', sport: 40000 + (i % 20000), dport: 80, count: 10 + (i % 100), windowMs: 1000, threshold: 10,
    reason: `${10 + (i % 100)} hits in 1 s (threshold 10)`, detector: 'bench',
  };
}

function deviceAt(i: number, lastSeen: number): DeviceStats {
  return { ip: `192.168.${(i >> 8) & 255}.${i & 255}`, mac: `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, vendor: 'Bench', hostname: `dev-${i}`, rxBytes: i * 1000, txBytes: i * 100, rxBps: (i * 7919) % 100_000, txBps: (i * 104_729) % 20_000, flows: i % 40, lastSeen };
}

function flowAt(i: number, end: number): FlowRecord {
  return { proto: i % 3 ? 'tcp' : 'udp', src: `192.168.1.${(i % 250) + 1}`, dst: `203.0.113.${(i * 7) % 250 + 1}`, sport: 30000 + (i % 30000), dport: [443, 80, 53][i % 3],
    origBytes: i * 300, origPackets: 1 + (i % 500), replyBytes: i * 1200, replyPackets: 1 + (i % 900), state: 'ESTABLISHED', start: end - 60_000 - i, end };
}

async function countRows(file: string, table: string): Promise<number> {
  if (!fs.existsSync(file)) return 0;
  const db = await openDb(file, true);
  try {
    return (await get<{ n: number | null }>(db, `SELECT max(id) AS n FROM ${table}`))?.n ?? 0;
  } catch {
    return 0;
  } finally {
    await closeDb(db);
  }
}

interface Receiver { receive(msg: Record<string, unknown>): void }

/**
 * CPU seconds so far of this process's main thread and of all its other
 * threads (SQLite runs on libuv's pool), from /proc; null where there is none.
 * On a machine with two free CPUs the slower of the two bounds the rate.
 */
function threadCpu(): { main: number; others: number } | null {
  const dir = `/proc/${process.pid}/task`;
  if (!fs.existsSync(dir)) return null;
  const tick = 100; // USER_HZ on Linux
  let main = 0;
  let others = 0;
  for (const tid of fs.readdirSync(dir)) {
    try {
      const stat = fs.readFileSync(`${dir}/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const secs = (Number(fields[11]) + Number(fields[12])) / tick; // utime + stime
      if (Number(tid) === process.pid) main += secs;
      else others += secs;
    } catch {
      // the thread ended meanwhile
    }
  }
  return { main, others };
}

async function insertRate(dir: string): Promise<void> {
  const file = path.join(dir, 'rate.db');
  const rt = await startRuntime([
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'log', type: 'sqlite-log', z: 'tab', name: 'bench log', file, flushMs: '1000', batchRows: '20000', maxPending: '2000000', retryMs: '1000', retentionS: '0', queryLimit: '1000', exportDir: '', wires: [[]] },
  ]);
  try {
    const deadline = Date.now() + 20_000;
    while (!rt.RED.nodes.getNode('log') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const node = rt.RED.nodes.getNode('log') as Receiver;
    const BATCH = 1000;
    const now = Date.now();
    const alertBatch = Array.from({ length: BATCH }, (_, i) => alertAt(i, now + i));
    const deviceBatch = Array.from({ length: BATCH }, (_, i) => deviceAt(i, now));
    const flowBatch = Array.from({ length: BATCH }, (_, i) => flowAt(i, now));
    // A live detector's alerts come in time order: each message carries the next 1,000 ms of them
    // (a copy with new ts, made in the timed loop). The replay case re-sends the same 1,000 timestamps,
    // so every index insert lands inside the B-trees instead of at their ends (a capture replayed again).
    const cases: [string, string, (sent: number) => Record<string, unknown>][] = [
      ['alerts (time-ordered, as from a live source)', 'alerts', (sent) => ({ topic: 'flood.syn', payload: alertBatch.map((a, i) => ({ ...a, ts: now + sent + i })) })],
      ['alerts (same 1,000 timestamps re-sent: replay)', 'alerts', () => ({ topic: 'flood.syn', payload: alertBatch })],
      ['device-stat rows', 'devices', () => ({ topic: 'devices', payload: deviceBatch })],
      ['flow records', 'flows', () => ({ topic: 'flows', payload: flowBatch })],
    ];
    const total = 500_000;
    for (const [label, table, message] of cases) {
      const before = await countRows(file, table);
      const start = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      const threads0 = threadCpu();
      for (let sent = 0; sent < total; sent += BATCH) {
        node.receive(message(sent));
        // Yield now and then so flushes run alongside, as with a live source.
        if ((sent / BATCH) % 20 === 19) await new Promise((r) => setImmediate(r));
      }
      const handed = Number(process.hrtime.bigint() - start) / 1e9;
      while ((await countRows(file, table)) < before + total) await new Promise((r) => setTimeout(r, 20));
      const secs = Number(process.hrtime.bigint() - start) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const cpuSecs = (cpu.user + cpu.system) / 1e6;
      const threads1 = threadCpu();
      const per100k = (s: number) => ((s * 100_000) / total).toFixed(2);
      const split = threads0 && threads1
        ? `; per 100k rows: main thread ${per100k(threads1.main - threads0.main)} CPU-s, other threads ${per100k(threads1.others - threads0.others)} CPU-s` : '';
      console.log(`insert ${label} through the node: ${total.toLocaleString('en')} rows in ${secs.toFixed(2)} s = ${Math.round(total / secs).toLocaleString('en')} rows/s committed ` +
        `(handed to the node in ${handed.toFixed(2)} s; process CPU ${cpuSecs.toFixed(2)} s = ${Math.round(total / cpuSecs).toLocaleString('en')} rows per CPU-second${split})`);
    }
  } finally {
    await rt.stop();
  }
}

async function queryTimes(dir: string): Promise<void> {
  const file = path.join(dir, 'big.db');
  const store = new LogStore(file, { flushMs: 600_000, batchRows: 10_000_000, retentionIntervalMs: 0 });
  store.start();
  const N = 1_000_000;
  const DAY = 86_400_000;
  const now = Date.now();
  const t0 = process.hrtime.bigint();
  const CHUNK = 100_000;
  for (let base = 0; base < N; base += CHUNK) {
    const items: LogItem[] = [];
    for (let i = base; i < base + CHUNK; i++) items.push(rowOfAlert(alertAt(i, now - DAY + (i * DAY) / N), now));
    store.add(items);
    await store.flush();
  }
  // 200 devices sampled every 17.28 s for 24 h = 1,000,000 rows.
  const DEVICES = 200;
  const samples = N / DEVICES;
  for (let s0 = 0; s0 < samples; s0 += CHUNK / DEVICES) {
    const items: LogItem[] = [];
    for (let s = s0; s < s0 + CHUNK / DEVICES; s++) {
      const ts = now - DAY + (s * DAY) / samples;
      for (let d = 0; d < DEVICES; d++) {
        const dev = deviceAt(d + 1, ts);
        dev.rxBps = (dev.rxBps + s * 13) % 100_000;
        items.push(rowOfDevice(dev, ts));
      }
    }
    store.add(items);
    await store.flush();
  }
  // 2,000 block events.
  for (let i = 0; i < 1000; i++) {
    const ip = `10.9.${i >> 8}.${(i & 255) + 1}`;
    const ts = now - DAY + i * 60_000;
    store.add([blockSnapshot({ blocked: [{ ip, since: ts, expires: ts + 600_000, reason: 'bench', rule: 'flood.syn' }] }, 'payload', ts)]);
  }
  await store.flush();
  const genSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`generated 1,000,000 alerts + 1,000,000 device rows + 2,000 block events with the writer engine in ${genSecs.toFixed(1)} s (${Math.round(2 * N / genSecs).toLocaleString('en')} rows/s); file ${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB`);

  const db = await store.readConnection();
  const cases: [string, Record<string, unknown>][] = [
    ['recentAlerts (newest 100)', { name: 'recentAlerts' }],
    ['recentAlerts rule=payload.sqli', { name: 'recentAlerts', rule: 'payload.sqli' }],
    ['recentAlerts severity=high, last hour', { name: 'recentAlerts', severity: 'high', last: 3_600_000 }],
    ['recentAlerts src=10.0.0.7', { name: 'recentAlerts', src: '10.0.0.7' }],
    ['recentAlerts time range 1 h, 12 h ago', { name: 'recentAlerts', from: now - 13 * 3_600_000, to: now - 12 * 3_600_000 }],
    ['alertsPerMinute last hour', { name: 'alertsPerMinute', last: 3_600_000 }],
    ['alertsPerMinute last 24 h (6-min buckets)', { name: 'alertsPerMinute', last: DAY }],
    ['topTalkers last hour', { name: 'topTalkers', last: 3_600_000 }],
    ['topTalkers last 24 h', { name: 'topTalkers', last: DAY }],
    ['deviceHistory one device, 24 h', { name: 'deviceHistory', ip: '192.168.0.7', last: DAY }],
    ['deviceHistory 10 busiest devices, last hour (router chart)', { name: 'deviceHistory', last: 3_600_000, limit: 60 }],
    ['blockHistory (newest 100)', { name: 'blockHistory' }],
    ['blockHistory one ip', { name: 'blockHistory', ip: '10.9.1.5' }],
  ];
  console.log('query times (ms, 7 runs after one warm-up; median / max):');
  for (const [label, request] of cases) {
    const req = parseQuery(request, 1000);
    let count = 0;
    await runQuery(db, req, now);
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const s = process.hrtime.bigint();
      count = (await runQuery(db, req, now)).count;
      times.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    times.sort((a, b) => a - b);
    const median = times[3];
    console.log(`  ${label.padEnd(44)} ${median.toFixed(1).padStart(7)} / ${times[6].toFixed(1).padStart(7)}   (${count} rows/points)${median >= 50 ? '  over the 50 ms target' : ''}`);
  }
  await store.close();
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-bench-sqlite-'));
  console.log(`sqlite-log on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg()[0].toFixed(1)}, files in ${dir}`);
  try {
    // IPS_BENCH_PART=insert or =query runs one half (for interleaved before/after runs).
    const part = process.env.IPS_BENCH_PART;
    if (part !== 'query') await insertRate(dir);
    if (part !== 'insert') await queryTimes(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
