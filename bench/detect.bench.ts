/**
 * Detector throughput and memory (IPS_BENCH_PACKETS packets, default 1,000,000):
 *  1. reader + decoder alone, then + flood and scan engines (lib/, no Node-RED):
 *     the difference is what detection costs;
 *  2. pcap-in → flood-detect → scan-detect → payload-match → counter, batched,
 *     in a real Node-RED runtime, on a generated capture with attacks mixed into
 *     benign traffic (payload-match is left out, and said so, when not built):
 *     the first run, with code compiled while it runs, then the same flow again
 *     in the same process, as a Node-RED that has been running a while;
 *  3. a SYN flood from 1,000,000 spoofed sources through pcap-in → flood-detect →
 *     scan-detect → counter: peak RSS, and whether the flood was caught at its target.
 * Run: npm run bench detect   (or: node --expose-gc dist/bench/detect.bench.js)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ATTACKERS, makeCapture, spoofedSyn } from './support/make-capture';
import { measure, memoryLatencyNs, mib, report } from './support/measure';
import { readBatches, runChain as runChainIn } from './support/chain';
import { FloodDetector } from '../lib/detect/flood';
import { ScanDetector } from '../lib/detect/scan';
import { LanDetector } from '../lib/detect/lan';
import type { Alert } from '../lib/detect/alert';
import { packageRoot, type FlowNode } from '../tests/support/red-runtime';

const PACKETS = Number(process.env.IPS_BENCH_PACKETS ?? 1_000_000);
const BATCH = Number(process.env.IPS_BENCH_BATCH ?? 256);
/** One record in 20 is an attack; records 100 µs apart (10,000 packets/s of packet time). */
const ATTACK_EVERY = 20;
const GAP_US = 100;
/** IPS_BENCH_ONLY=spoofed runs only the spoofed-sources flood; =mixed only the mixed capture; =chain only the full chain on it (for --cpu-prof). */
const ONLY = process.env.IPS_BENCH_ONLY ?? '';

const hasPayloadMatch = fs.existsSync(path.join(packageRoot, 'dist', 'nodes', 'payload-match', 'payload-match.js'));

function countRules(alerts: Alert[]): string {
  const by = new Map<string, number>();
  for (const a of alerts) by.set(`${a.rule} ${a.src}`, (by.get(`${a.rule} ${a.src}`) ?? 0) + 1);
  return [...by].sort().map(([k, v]) => `${k} ×${v}`).join(', ');
}

async function engines(file: string): Promise<void> {
  await readBatches(file, () => undefined); // warm page cache and code
  report('reader + decoder (no Node-RED)', await measure(() => readBatches(file, () => undefined)));
  const flood = new FloodDetector('flood');
  const scan = new ScanDetector('scan');
  const alerts: Alert[] = [];
  const r = await measure(() => readBatches(file, (b) => {
    alerts.push(...flood.process(b));
    alerts.push(...scan.process(b));
  }));
  report('reader + decoder + flood + scan engines (no Node-RED)', r);
  console.log(`  alerts: ${countRules(alerts)}`);
  // lan-watch's engine on the same packets: every packet's source MAC is looked up in the device table
  const lan = new LanDetector('lan');
  report('reader + decoder + lan-watch engine (no Node-RED)', await measure(() => readBatches(file, (b) => {
    lan.process(b);
  })));
}

/** pcap-in → detectors → count in batches of BATCH (support/chain.ts). */
const runChain = (file: string, detectors: FlowNode[], label: string): ReturnType<typeof runChainIn> => runChainIn(file, detectors, label, BATCH);

const floodNode: FlowNode = { id: 'flood-node', type: 'flood-detect', name: 'flood' };
const scanNode: FlowNode = { id: 'scan-node', type: 'scan-detect', name: 'scan' };
const payloadNode: FlowNode = { id: 'payload-node', type: 'payload-match', name: 'payload', includeDefaults: true, rules: '[]', rulesFile: '', action: 'alert', allowlist: '', cooldownS: '10', maxTracked: '50000' };

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-bench-detect-'));
  try {
    const mixed = path.join(dir, 'mixed-attacks.pcap');
    let t0 = Date.now();
    const size = ONLY === 'spoofed' ? 0 : makeCapture(mixed, PACKETS, { attackEvery: ATTACK_EVERY, gapUs: GAP_US });
    if (ONLY !== 'spoofed') console.log(`capture: ${PACKETS.toLocaleString('en')} packets, 1 in ${ATTACK_EVERY} an attack (SYN/ICMP/UDP flood, port scan, XMAS, SQLi from ${Object.values(ATTACKERS)[0]}..6), ${1e6 / GAP_US} pkts/s of packet time, ${mib(size)}, made in ${Date.now() - t0} ms`);

    if (ONLY !== 'spoofed') {
    if (ONLY !== 'chain') {
      await engines(mixed);
      await runChain(mixed, [], `pcap-in → count (baseline, batch ${BATCH})`);
      const fs2 = await runChain(mixed, [floodNode, scanNode], `pcap-in → flood-detect → scan-detect → count (batch ${BATCH})`);
      console.log(`  alerts: ${countRules(fs2.alerts)}`);
    }
    const detectors = hasPayloadMatch ? [floodNode, scanNode, payloadNode] : [floodNode, scanNode];
    if (!hasPayloadMatch) console.log('  (payload-match is not built: the chain below runs without it)');
    const names = detectors.map((d) => d.type).join(' → ');
    console.log(`host memory: a random read takes ${memoryLatencyNs().toFixed(0)} ns (64 MiB pointer chase; the chain's rate moves against it)`);
    const r = await runChain(mixed, detectors, `pcap-in → ${names} → count (batch ${BATCH}), first run`);
    console.log(`  alerts: ${countRules(r.alerts)}`);
    // A Node-RED that has been running a while has its code compiled: the same flow, deployed afresh, once more.
    await runChain(mixed, detectors, `the same flow again in this process (code compiled, state fresh)`);
    console.log(`host memory after the chain: ${memoryLatencyNs().toFixed(0)} ns a random read`);
    }

    if (ONLY === 'mixed' || ONLY === 'chain') return;
    const spoofed = path.join(dir, 'spoofed-syn.pcap');
    t0 = Date.now();
    const spoofedSize = makeCapture(spoofed, 1_000_000, { frame: (i) => spoofedSyn(i), gapUs: 10 });
    console.log(`\ncapture: SYN flood from 1,000,000 spoofed sources to 192.168.1.80, 100,000 pkts/s of packet time, ${mib(spoofedSize)}, made in ${Date.now() - t0} ms`);
    await runChain(spoofed, [], 'spoofed flood: pcap-in → count (baseline, no detector)');
    const s = await runChain(spoofed, [floodNode, scanNode], 'spoofed flood: pcap-in → flood-detect → scan-detect → count');
    const caught = s.alerts.filter((a) => a.rule === 'flood.syn.dst' && a.dst === '192.168.1.80');
    console.log(`  flood.syn.dst at 192.168.1.80: ${caught.length ? `raised (first after ${(caught[0].ts - 1_700_000_000_000).toFixed(1)} ms of packet time)` : 'NOT raised'}; alerts: ${countRules(s.alerts)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
