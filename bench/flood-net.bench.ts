/**
 * A SYN flood from 1,000,000 spoofed sources at random targets (as
 * `hping3 --flood -S --rand-source --rand-dest` sends through a router):
 * no one source or target crosses a threshold, so only the network-wide
 * rule (flood.syn.net) can catch it. Through pcap-in → flood-detect →
 * scan-detect → counter in a real Node-RED runtime: throughput, peak RSS
 * (target < 300 MB) and whether flood.syn.net was raised.
 * Run: npm run bench flood-net   (or: node --expose-gc dist/bench/flood-net.bench.js)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCapture, spoofedSyn } from './support/make-capture';
import { mib } from './support/measure';
import { runChain } from './support/chain';
import type { FlowNode } from '../tests/support/red-runtime';

const PACKETS = Number(process.env.IPS_BENCH_PACKETS ?? 1_000_000);
const BATCH = Number(process.env.IPS_BENCH_BATCH ?? 256);
const T0 = 1_700_000_000_000;

/** A target in 10.128.0.0/9 picked by a multiplicative hash of the packet's index: every packet another target, none repeated often. */
function randomTarget(i: number): string {
  const h = Math.imul(i + 1, 0x9e3779b1) >>> 0;
  return `10.${128 + ((h >>> 16) & 0x7f)}.${(h >>> 8) & 0xff}.${h & 0xff}`;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-bench-flood-net-'));
  try {
    const file = path.join(dir, 'spoofed-random.pcap');
    const t0 = Date.now();
    const size = makeCapture(file, PACKETS, { frame: (i) => spoofedSyn(i, randomTarget(i)), gapUs: 10 });
    console.log(`capture: SYN flood from ${PACKETS.toLocaleString('en')} spoofed sources at random targets in 10.128.0.0/9, 100,000 pkts/s of packet time, ${mib(size)}, made in ${Date.now() - t0} ms`);
    await runChain(file, [], 'pcap-in → count (baseline, no detector)', BATCH);
    const detectors: FlowNode[] = [{ id: 'flood-node', type: 'flood-detect', name: 'flood' }, { id: 'scan-node', type: 'scan-detect', name: 'scan' }];
    const r = await runChain(file, detectors, 'pcap-in → flood-detect → scan-detect → count', BATCH);
    const net = r.alerts.filter((a) => a.rule === 'flood.syn.net');
    const others = [...new Set(r.alerts.filter((a) => a.rule !== 'flood.syn.net').map((a) => a.rule))];
    console.log(`  flood.syn.net: ${net.length ? `raised (first after ${(net[0].ts - T0).toFixed(1)} ms of packet time; ${net.length} alert(s), repeats within the cooldown counted into them)` : 'NOT raised'}; other rules: ${others.join(', ') || 'none'}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
