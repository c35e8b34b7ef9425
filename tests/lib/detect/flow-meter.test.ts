import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowMeter } from '../../../lib/detect/flow/meter';
import { FLOW_FEATURES, type FlowRecord } from '../../../lib/detect/flow/features';
import { decodeIp } from '../../../lib/packet/decode';
import type { Packet } from '../../../lib/packet/types';
import { ipv4, tcp, udp } from '../../../bench/support/make-capture';

const C = '10.1.0.1';
const S = '10.1.0.2';
const T0 = 1_700_000_000_000;

/** A TCP segment decoded by the real decoder; `opts` bytes of options lengthen the header; `win` the window field. */
function seg(ms: number, src: string, dst: string, sport: number, dport: number, flags: string, payload = 0, o: { opts?: number; win?: number } = {}): Packet {
  const t = tcp(sport, dport, flags, Buffer.alloc(payload, 0x61), { options: Buffer.alloc(o.opts ?? 0, 1) });
  if (o.win !== undefined) t.writeUInt16BE(o.win, 14);
  return decodeIp(ipv4(src, dst, 6, t), T0 + ms);
}

function dgram(ms: number, src: string, dst: string, sport: number, dport: number, payload: number): Packet {
  return decodeIp(ipv4(src, dst, 17, udp(sport, dport, Buffer.alloc(payload))), T0 + ms);
}

function meter(packets: Packet[], settings = {}): { records: FlowRecord[]; m: FlowMeter } {
  const m = new FlowMeter(settings);
  const records: FlowRecord[] = [];
  m.process(packets, records);
  return { records, m };
}

const close = (actual: number, expected: number, name: string): void => assert.ok(Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${name}: ${actual} ≠ ${expected}`);

test('a small TCP connection: every feature as computed by hand, ended by FIN both ways, its last ACK absorbed', () => {
  const packets = [
    seg(0.0, C, S, 40000, 80, 'S', 0, { opts: 12, win: 64240 }),
    seg(0.1, S, C, 80, 40000, 'SA', 0, { opts: 12, win: 65160 }),
    seg(0.2, C, S, 40000, 80, 'A', 0, { win: 502 }),
    seg(0.3, C, S, 40000, 80, 'PA', 100),
    seg(1.3, S, C, 80, 40000, 'PA', 300),
    seg(1.4, C, S, 40000, 80, 'A'),
    seg(2.4, S, C, 80, 40000, 'FA'),
    seg(2.5, C, S, 40000, 80, 'FA'),
    seg(2.6, S, C, 80, 40000, 'A'),
  ];
  const { records, m } = meter(packets);
  assert.equal(records.length, 1, 'one flow, ended at the second FIN');
  const r = records[0];
  assert.equal(r.reason, 'fin');
  assert.deepEqual([r.src, r.sport, r.dst, r.dport, r.proto, r.flowId], [C, 40000, S, 80, 'tcp', `${C}-${S}-40000-80-6`]);
  assert.equal(m.stats.absorbed, 1, 'the last ACK went to the closed flow');
  // By hand (µs): fwd packets at 0, 200, 300, 1400, 2500 with payloads 0,0,100,0,0; bwd at 100, 1300, 2400 with 0,300,0.
  const expected: Record<string, number> = {
    Protocol: 6,
    'Flow Duration': 2500,
    'Total Fwd Packet': 5,
    'Total Bwd packets': 3,
    'Total Length of Fwd Packet': 100,
    'Total Length of Bwd Packet': 300,
    'Fwd Packet Length Max': 100,
    'Fwd Packet Length Min': 0,
    'Fwd Packet Length Mean': 20,
    'Fwd Packet Length Std': Math.sqrt(2000),
    'Bwd Packet Length Max': 300,
    'Bwd Packet Length Min': 0,
    'Bwd Packet Length Mean': 100,
    'Bwd Packet Length Std': Math.sqrt(30000),
    'Flow Bytes/s': 400 / 0.0025,
    'Flow Packets/s': 8 / 0.0025,
    'Flow IAT Mean': 2500 / 7,
    'Flow IAT Std': Math.sqrt((2_050_000 - 6_250_000 / 7) / 6),
    'Flow IAT Max': 1000,
    'Flow IAT Min': 100,
    'Fwd IAT Total': 2500,
    'Fwd IAT Mean': 625,
    'Fwd IAT Std': 550,
    'Fwd IAT Max': 1100,
    'Fwd IAT Min': 100,
    'Bwd IAT Total': 2300,
    'Bwd IAT Mean': 1150,
    'Bwd IAT Std': Math.sqrt(5000),
    'Bwd IAT Max': 1200,
    'Bwd IAT Min': 1100,
    'Fwd PSH Flags': 1,
    'Bwd PSH Flags': 1,
    'Fwd URG Flags': 0,
    'Bwd URG Flags': 0,
    'Fwd Header Length': 32 + 20 * 4,
    'Bwd Header Length': 32 + 20 * 2,
    'Fwd Packets/s': 2000,
    'Bwd Packets/s': 1200,
    'Packet Length Min': 0,
    'Packet Length Max': 300,
    'Packet Length Mean': 50,
    'Packet Length Std': Math.sqrt(80000 / 7),
    'Packet Length Variance': 80000 / 7,
    'FIN Flag Count': 2,
    'SYN Flag Count': 2,
    'RST Flag Count': 0,
    'PSH Flag Count': 2,
    'ACK Flag Count': 7,
    'URG Flag Count': 0,
    'CWR Flag Count': 0,
    'ECE Flag Count': 0,
    'Down/Up Ratio': 0.6,
    'Average Packet Size': 50,
    'Fwd Segment Size Avg': 20,
    'Bwd Segment Size Avg': 100,
    'Fwd Bytes/Bulk Avg': 0,
    'Fwd Packet/Bulk Avg': 0,
    'Fwd Bulk Rate Avg': 0,
    'Bwd Bytes/Bulk Avg': 0,
    'Bwd Packet/Bulk Avg': 0,
    'Bwd Bulk Rate Avg': 0,
    'Subflow Fwd Packets': 5,
    'Subflow Fwd Bytes': 100,
    'Subflow Bwd Packets': 3,
    'Subflow Bwd Bytes': 300,
    'FWD Init Win Bytes': 64240,
    'Bwd Init Win Bytes': 65160,
    'Fwd Act Data Pkts': 1,
    'Fwd Seg Size Min': 20,
    'Active Mean': 2500,
    'Active Std': 0,
    'Active Max': 2500,
    'Active Min': 2500,
    'Idle Mean': 0,
    'Idle Std': 0,
    'Idle Max': 0,
    'Idle Min': 0,
  };
  assert.deepEqual(Object.keys(r.features), [...FLOW_FEATURES], 'every feature, in CICFlowMeter order');
  assert.deepEqual(Object.keys(expected), [...FLOW_FEATURES], 'the test covers every feature');
  for (const [name, value] of Object.entries(expected)) close(r.features[name as keyof typeof r.features], value, name);
});

test('active and idle periods, subflows: a UDP flow with a 6 s pause, flushed at the end', () => {
  const packets = [dgram(0, C, S, 5000, 53, 10), dgram(1000, C, S, 5000, 53, 10), dgram(7000, C, S, 5000, 53, 10), dgram(8000, C, S, 5000, 53, 10)];
  const { records, m } = meter(packets);
  assert.equal(records.length, 0, 'still open');
  m.flush(records);
  const f = records[0].features;
  assert.equal(records[0].reason, 'flush');
  assert.deepEqual([f['Active Mean'], f['Active Std'], f['Active Max'], f['Active Min']], [1e6, 0, 1e6, 1e6], 'two active seconds, split by the pause');
  assert.deepEqual([f['Idle Mean'], f['Idle Max'], f['Idle Min']], [6e6, 6e6, 6e6]);
  assert.equal(f['Subflow Fwd Packets'], 2, 'the gap over 1 s starts a second subflow');
  assert.equal(f['Subflow Fwd Bytes'], 20);
  assert.equal(f['Fwd Header Length'], 32, 'UDP headers: 8 bytes each');
  assert.equal(f['FWD Init Win Bytes'], 0, 'no window outside TCP');
});

test('bulk: five data segments one way within 1 s make one bulk', () => {
  const packets = [0, 100, 200, 300, 400].map((ms, i) => seg(ms, S, C, 80, 40001, 'PA', 1000 + i));
  const { records, m } = meter(packets);
  m.flush(records);
  const f = records[0].features;
  assert.equal(f['Fwd Packet/Bulk Avg'], 5);
  assert.equal(f['Fwd Bytes/Bulk Avg'], 5010);
  close(f['Fwd Bulk Rate Avg'], 5010 / 0.4, 'Fwd Bulk Rate Avg');
  assert.equal(f['Bwd Packet/Bulk Avg'], 0);
});

test('RST ends a flow; packets after it are absorbed until a new SYN starts the next one', () => {
  const packets = [seg(0, C, S, 40002, 22, 'S'), seg(1, S, C, 22, 40002, 'RA'), seg(2, C, S, 40002, 22, 'A'), seg(3, C, S, 40002, 22, 'S'), seg(4, S, C, 22, 40002, 'SA')];
  const { records, m } = meter(packets);
  assert.deepEqual(records.map((r) => [r.reason, r.features['Total Fwd Packet'], r.features['Total Bwd packets']]), [['rst', 1, 1]]);
  assert.equal(m.stats.absorbed, 1);
  assert.equal(m.stats.active, 1, 'the second SYN opened a new flow');
});

test('idle and active timeouts, on packet time', () => {
  const idle = meter([dgram(0, C, S, 6000, 53, 5), dgram(30_000, C, S, 6001, 53, 5)], { idleTimeoutS: 30 }).records;
  assert.deepEqual(idle.map((r) => [r.sport, r.reason]), [[6000, 'idle']], 'ended by the later packet of another flow');
  const long = Array.from({ length: 14 }, (_, i) => dgram(i * 10_000, C, S, 7000, 53, 5));
  const active = meter(long, { activeTimeoutS: 120, idleTimeoutS: 60 }).records;
  assert.deepEqual(active.map((r) => [r.reason, r.features['Total Fwd Packet'], r.features['Flow Duration']]), [['active', 12, 110e6]], 'the packet at 120 s starts a new flow');
});

test('a full table ends the stalest flow and sends it (not lost), counted as an eviction', () => {
  const { records, m } = meter([dgram(0, C, S, 1, 53, 1), dgram(1, C, S, 2, 53, 1), dgram(2, C, S, 1, 53, 1), dgram(3, C, S, 3, 53, 1)], { maxFlows: 2 });
  assert.deepEqual(records.map((r) => [r.sport, r.reason]), [[2, 'evicted']], 'port 1 was touched again, so port 2 was the stalest');
  assert.equal(m.stats.evictions, 1);
  assert.equal(m.stats.active, 2);
});

test('interim reports of a long flow, then its final record', () => {
  const packets = Array.from({ length: 7 }, (_, i) => dgram(i * 500, C, S, 8000, 53, 5));
  const { records, m } = meter(packets, { reportIntervalS: 1 });
  m.flush(records);
  assert.deepEqual(records.map((r) => [r.reason, r.features['Total Fwd Packet']]), [['interim', 3], ['interim', 5], ['interim', 7], ['flush', 7]]);
});

test('the table keeps working through growth and many deletions (index probing stays intact)', () => {
  const m = new FlowMeter({ maxFlows: 5000 });
  const out: FlowRecord[] = [];
  for (let i = 0; i < 20_000; i++) {
    const port = 1024 + (i % 7000);
    m.process([seg(i, C, S, port, 443, 'S'), seg(i + 0.5, S, C, 443, port, 'RA')], out);
  }
  assert.equal(out.length, 20_000, 'every flow ended by its RST, none lost');
  assert.ok(out.every((r) => r.reason === 'rst' && r.features['Total Fwd Packet'] === 1 && r.features['Total Bwd packets'] === 1));
});

test('every figure survives the table: interleaved flows (growth, rows given back and reused) get the records each would get alone', () => {
  // A seeded generator: flows with pauses over the activity timeout, bulks both ways, URG/ECE/CWR, ended by RST, FIN or the flush.
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const flags = ['S', 'SEC', 'A', 'PA', 'UA', 'EA', 'CA', 'A', 'PA', 'A'];
  const flows: Packet[][] = [];
  for (let i = 0; i < 3000; i++) {
    const port = 1024 + i;
    let ms = i * 3;
    const ps: Packet[] = [];
    const n = 1 + rnd(12);
    for (let k = 0; k < n; k++) {
      ms += rnd(10) === 0 ? 6000 + rnd(3000) : rnd(300);
      const back = k > 0 && rnd(2) === 1;
      const fl = k === 0 ? flags[rnd(2)] : flags[2 + rnd(8)];
      ps.push(back ? seg(ms, S, C, 443, port, fl, rnd(3) * 500) : seg(ms, C, S, port, 443, fl, rnd(3) * 400));
    }
    const end = rnd(4);
    if (end === 0) ps.push(seg(ms + 1, S, C, 443, port, 'R'));
    if (end === 1) ps.push(seg(ms + 1, C, S, port, 443, 'FA'), seg(ms + 2, S, C, 443, port, 'FA'));
    flows.push(ps);
  }
  const settings = { idleTimeoutS: 3600, activeTimeoutS: 3600 };
  const alone = new Map<string, FlowRecord>();
  for (const ps of flows) {
    const { records, m } = meter(ps, settings);
    m.flush(records);
    assert.equal(records.length, 1);
    alone.set(`${records[0].sport}`, records[0]);
  }
  const all = flows.flat().sort((a, b) => a.ts - b.ts);
  const { records, m } = meter(all, settings);
  m.flush(records);
  assert.equal(records.length, flows.length, 'one record a flow');
  assert.ok(records.some((r) => r.features['Idle Max'] > 0) && records.some((r) => r.features['Fwd Packet/Bulk Avg'] > 0) && records.some((r) => r.features['ECE Flag Count'] > 0), 'the flows use the rare figures');
  for (const r of records) assert.deepEqual(r.features, alone.get(`${r.sport}`)!.features, `flow from port ${r.sport}`);
});
