/**
 * flow-meter throughput and memory:
 *  1. reader + decoder + the FlowMeter engine on the bench capture
 *     (IPS_BENCH_PACKETS packets, default 1,000,000; no Node-RED);
 *  2. pcap-in → flow-meter → count in a real Node-RED runtime, batched
 *     (target: at least 500,000 pkts/s);
 *  3. memory of 1,000,000 concurrent flows (IPS_BENCH_FLOWS), none ended,
 *     each case in a fresh process: one UDP packet each from distinct ports
 *     and addresses (a scan or a flood), three packets each both ways
 *     (every flow holding the full figures), a TCP handshake with ECN (every
 *     flow in all three pools: the most a flow can take); the meter's bytes
 *     per flow and the process RSS, as a user sees it (target: under 400 MB).
 * Run: npm run bench flow-meter   (IPS_BENCH_ONLY=memory for step 3 alone)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { makeCapture } from './support/make-capture';
import { measure, mib, report } from './support/measure';
import { countPackets, countSink } from './support/count';
import { CaptureFileReader } from '../lib/capture/pcap-file';
import { decodeRecord } from '../lib/packet/decode';
import { FlowMeter } from '../lib/detect/flow/meter';
import type { FlowRecord } from '../lib/detect/flow/features';
import type { Packet } from '../lib/packet/types';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_SYN } from '../lib/packet/tcp-flags';
import { startRuntime, type FlowNode } from '../tests/support/red-runtime';

const PACKETS = Number(process.env.IPS_BENCH_PACKETS ?? 1_000_000);
const FLOWS = Number(process.env.IPS_BENCH_FLOWS ?? 1_000_000);
const BATCH = Number(process.env.IPS_BENCH_BATCH ?? 256);
/** IPS_BENCH_ONLY=memory measures only the 1,000,000 flows (memory-one, memory-three, memory-ecn: one case, in this process). */
const ONLY = process.env.IPS_BENCH_ONLY ?? '';

async function engine(file: string): Promise<void> {
  const meter = new FlowMeter();
  const records: FlowRecord[] = [];
  const run = await measure(async () => {
    let n = 0;
    for await (const chunk of new CaptureFileReader(file)) {
      const batch: Packet[] = chunk.map((r) => decodeRecord(r));
      meter.process(batch, records);
      records.length = 0;
      n += batch.length;
    }
    return n;
  });
  report('reader + decoder + flow meter (no Node-RED)', run);
  console.log(`  flows open at the end: ${meter.stats.active.toLocaleString('en')}, records sent: ${meter.stats.records.toLocaleString('en')}`);
}

async function throughNodeRed(file: string): Promise<void> {
  const flows: FlowNode[] = [
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'cap', z: 'tab', type: 'pcap-in', source: 'file', filename: '', mode: 'analyze', batchSize: String(BATCH), batchDelayMs: '50', wires: [['meter'], ['done']] },
    { id: 'meter', z: 'tab', type: 'flow-meter', name: 'flow meter', wires: [['count'], ['records']] },
    countSink('count', 'tab'),
    { id: 'records', z: 'tab', type: 'debug', active: false, wires: [] },
    { id: 'done', z: 'tab', type: 'debug', active: false, wires: [] },
  ];
  const rt = await startRuntime(flows);
  const counter = countPackets(rt, 'count');
  const records = countPackets(rt, 'records');
  try {
    for (let i = 0; i < 500 && !rt.RED.nodes.getNode('count'); i++) await new Promise((r) => setTimeout(r, 20));
    const cap = rt.RED.nodes.getNode('cap') as { receive(msg: Record<string, unknown>): void } | null;
    if (!cap) throw new Error('pcap-in did not start in the runtime (is it built?)');
    const run = await measure(async () => {
      cap.receive({ filename: file });
      const done = await rt.waitFor('done', (msgs) => msgs.length > 0, 900_000);
      const summary = done[0].msg.payload as { packets: number; error?: string };
      if (summary.error) throw new Error(summary.error);
      while (counter.packets < summary.packets) await new Promise((r) => setTimeout(r, 5));
      return summary.packets;
    });
    report(`pcap-in → flow-meter → count (batch ${BATCH})`, run);
    console.log(`  flow records sent during the run: ${records.packets.toLocaleString('en')}`);
  } finally {
    counter.stop();
    records.stop();
    await rt.stop();
  }
}

/**
 * 1,000,000 concurrent flows, none ended, in this (fresh) process, from distinct ports and addresses:
 * 'one': a UDP packet each, as a scan or a flood makes them (the flow's own columns only);
 * 'three': a UDP request, its answer and one more request (every flow holds the full figures);
 * 'ecn': a TCP handshake negotiating ECN (SYN+ECE+CWR, SYN+ACK+ECE, ACK: the flags seldom set put every flow in all three pools).
 */
function memory(kind: string): void {
  const perFlow = kind === 'one' ? 1 : 3;
  const ecn = [TCP_SYN | TCP_ECE | TCP_CWR, TCP_SYN | TCP_ACK | TCP_ECE, TCP_ACK];
  const gc = (globalThis as { gc?: () => void }).gc;
  const used = (): number => {
    gc?.();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = used();
  const rssBefore = process.memoryUsage.rss();
  let peak = rssBefore;
  const meter = new FlowMeter({ maxFlows: FLOWS, idleTimeoutS: 3600, activeTimeoutS: 3600 });
  const out: FlowRecord[] = [];
  const p: Packet = { ts: 1_700_000_000_000, len: 60, caplen: 60, ip: 4, src: '', dst: '', src4: 0, dst4: 0x0a000001, proto: kind === 'ecn' ? 'tcp' : 'udp', sport: 0, dport: 53, payload: Buffer.alloc(kind === 'ecn' ? 0 : 18), l4HeaderLen: 8 };
  const batch = [p];
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  for (let i = 0; i < FLOWS; i++) {
    const client = (0xac100000 + (i >>> 14)) | 0;
    const port = 1024 + (i & 0x3fff);
    for (let k = 0; k < perFlow; k++) {
      const back = k % 2 === 1;
      p.src4 = back ? 0x0a000001 : client;
      p.dst4 = back ? client : 0x0a000001;
      p.sport = back ? 53 : port;
      p.dport = back ? port : 53;
      if (kind === 'ecn') p.flagBits = ecn[k];
      p.ts += 0.001;
      meter.process(batch, out);
    }
    if ((i & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage.rss());
  }
  const cpu = process.cpuUsage(cpu0);
  peak = Math.max(peak, process.memoryUsage.rss());
  const after = used();
  const rss = process.memoryUsage.rss();
  const cols = meter.columnBytes;
  const what = { one: 'one UDP packet', three: 'three UDP packets both ways', ecn: 'a TCP handshake with ECN' }[kind];
  console.log(`${FLOWS.toLocaleString('en')} concurrent flows of ${what}: ${meter.stats.active.toLocaleString('en')} open (${meter.fullRows.toLocaleString('en')} with the full figures, ${meter.rareRows.toLocaleString('en')} with the rare ones), ${out.length} sent, filled in ${Date.now() - t0} ms (CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms)`);
  console.log(`  the meter's columns and index: ${(cols / 1e6).toFixed(0)} MB (${Math.round(cols / FLOWS)} bytes a flow); heap + array buffers grew ${((after - before) / 1e6).toFixed(0)} MB; process RSS ${(rss / 1e6).toFixed(0)} MB (${(rssBefore / 1e6).toFixed(0)} MB before the flows, peak while filling ${(peak / 1e6).toFixed(0)} MB)`);
}

/** Each memory figure in a fresh process, so RSS is not inflated by the runs before. */
function memoryInChildren(): void {
  for (const kind of ['one', 'three', 'ecn']) {
    spawnSync(process.execPath, ['--expose-gc', __filename], { stdio: 'inherit', env: { ...process.env, IPS_BENCH_ONLY: `memory-${kind}` } });
  }
}

async function main(): Promise<void> {
  if (ONLY === 'memory') return memoryInChildren();
  if (ONLY.startsWith('memory-')) return memory(ONLY.slice(7));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-bench-flow-'));
  try {
    const file = path.join(dir, 'bench.pcap');
    const size = makeCapture(file, PACKETS);
    console.log(`capture: ${PACKETS.toLocaleString('en')} packets of mixed benign traffic, ${mib(size)}`);
    await engine(file);
    await engine(file);
    await throughNodeRed(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  memoryInChildren();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
