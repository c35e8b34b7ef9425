/**
 * ip-reputation's costs (lib/, no Node-RED):
 *  1. load time and memory of a 500,000-entry list (400,000 IPv4 addresses and
 *     CIDRs, 100,000 IPv6 CIDRs) parsed from text into the sorted-range set;
 *  2. lookups per second against it: IPv4 by number (the packet path's
 *     `src4`/`dst4`), IPv4 text (flow records), IPv6 text;
 *  3. the detector chain's throughput (reader + decoder + flood + scan) with
 *     and without the reputation engine holding that list;
 *  4. kernel bulk load of 100,000 networks into an ipset hash:net (restore +
 *     swap) and an nftables interval set (one transaction), first load and
 *     replacement, in a network namespace (root; skipped otherwise).
 * Run: npm run bench reputation   (or: node --expose-gc dist/bench/reputation.bench.js)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCapture } from './support/make-capture';
import { measure, mib, report } from './support/measure';
import { parseList } from '../lib/net/reputation/parse';
import { ReputationEngine, reputationSchema } from '../lib/net/reputation/engine';
import { createListSets } from '../lib/net/firewall/list-sets';
import { ExecRunner, NetnsRunner } from '../lib/net/firewall/runner';
import { defaultsOf } from '../lib/base/settings';
import { CaptureFileReader } from '../lib/capture/pcap-file';
import { decodeRecord } from '../lib/packet/decode';
import { FloodDetector } from '../lib/detect/flood';
import { ScanDetector } from '../lib/detect/scan';
import type { Packet } from '../lib/packet/types';
import { Lab, netnsUnavailable, toolMissing } from '../tests/support/netns';

const ENTRIES = Number(process.env.REP_BENCH_ENTRIES ?? 500_000);
const LOOKUPS = Number(process.env.REP_BENCH_LOOKUPS ?? 5_000_000);
const PACKETS = Number(process.env.IPS_BENCH_PACKETS ?? 1_000_000);
const KERNEL = Number(process.env.REP_BENCH_KERNEL ?? 100_000);

/** A deterministic generator, so every run measures the same list. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const quad = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** A list as a FireHOL netset would have it: comments, addresses and CIDRs, IPv6 networks. */
function listText(n: number): string {
  const r = rng(7);
  const lines = ['# generated benchmark list', '#'];
  const v4 = Math.round(n * 0.8);
  for (let i = 0; i < v4; i++) {
    const prefix = i % 4 === 0 ? 16 + (r() % 15) : 32;
    lines.push(prefix === 32 ? quad(r()) : `${quad(r())}/${prefix}`);
  }
  for (let i = v4; i < n; i++) lines.push(`2${(r() % 0xfff).toString(16).padStart(3, '0')}:${(r() % 0xffff).toString(16)}:${(r() % 0xffff).toString(16)}::/${32 + (r() % 33)}`);
  return `${lines.join('\n')}\n`;
}

function rate(n: number, ms: number): string {
  return `${Math.round((n * 1000) / ms).toLocaleString('en')}/s`;
}

async function loadAndLookups(text: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const parsed = parseList(text);
  const set = parsed.builder.build();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  gc?.();
  const heap1 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  console.log(`list load: ${parsed.entries.toLocaleString('en')} entries (${set.size4.toLocaleString('en')} IPv4, ${set.size6.toLocaleString('en')} IPv6 after duplicates) in ${ms.toFixed(0)} ms (CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms); `
    + `held: ${mib(set.bytes)} in typed arrays, heap + array buffers grew ${mib(heap1 - heap0)} (text of ${mib(text.length)} not counted)`);

  const r = rng(11);
  const nums = new Uint32Array(1 << 16);
  for (let i = 0; i < nums.length; i++) nums[i] = r();
  const texts4 = Array.from({ length: 1 << 14 }, () => quad(r()));
  const texts6 = Array.from({ length: 1 << 12 }, () => `2${(r() % 0xfff).toString(16).padStart(3, '0')}:${(r() % 0xffff).toString(16)}::${(r() % 0xffff).toString(16)}`);
  const time = (label: string, n: number, fn: (i: number) => number): void => {
    let hits = 0;
    for (let i = 0; i < 100_000; i++) hits += fn(i) >= 0 ? 1 : 0; // warm-up
    hits = 0;
    const cpu0 = process.cpuUsage();
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (fn(i) >= 0) hits++;
    const tookMs = Number(process.hrtime.bigint() - t) / 1e6;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(`lookups ${label}: ${n.toLocaleString('en')} in ${tookMs.toFixed(0)} ms = ${rate(n, tookMs)}; per CPU-second ${rate(n, cpuMs)} (${((100 * hits) / n).toFixed(1)} % hits)`);
  };
  time('IPv4 by number (packets: src4/dst4)', LOOKUPS, (i) => set.find4(nums[i & 0xffff]));
  time('IPv4 text (flow records)', LOOKUPS, (i) => set.find(texts4[i & 0x3fff]));
  time('IPv6 text', Math.round(LOOKUPS / 5), (i) => set.find(texts6[i & 0xfff]));
}

async function readBatches(file: string, each: (batch: Packet[]) => void): Promise<number> {
  const reader = new CaptureFileReader(file);
  let n = 0;
  try {
    for await (const records of reader) {
      const batch = records.map((rec) => decodeRecord(rec));
      each(batch);
      n += batch.length;
    }
  } finally {
    await reader.close();
  }
  return n;
}

async function chain(text: string, dir: string): Promise<void> {
  const file = path.join(dir, 'mixed.pcap');
  makeCapture(file, PACKETS, { attackEvery: 20, gapUs: 100 });
  fs.writeFileSync(path.join(dir, 'list.txt'), text);
  await readBatches(file, () => undefined);
  const flood = new FloodDetector('flood');
  const scan = new ScanDetector('scan');
  report('reader + decoder + flood + scan', await measure(() => readBatches(file, (b) => {
    flood.process(b);
    scan.process(b);
  })));
  const settings = { ...defaultsOf(reputationSchema), sources: JSON.stringify([{ name: 'bench', url: path.join(dir, 'list.txt'), refreshS: 0 }]), geoip: false };
  const rep = new ReputationEngine('rep', settings, { userDir: dir, refreshed: () => undefined, warn: () => undefined, kernel: () => undefined });
  await rep.start();
  const flood2 = new FloodDetector('flood');
  const scan2 = new ScanDetector('scan');
  report(`  + ip-reputation (${rep.size.toLocaleString('en')} entries)`, await measure(() => readBatches(file, (b) => {
    flood2.process(b);
    scan2.process(b);
    rep.process(b);
  })));
  await rep.close(false);
}

async function kernel(): Promise<void> {
  const why = (await netnsUnavailable()) ?? (await toolMissing('ipset', 'nft', 'iptables'));
  if (why) {
    console.log(`kernel bulk load skipped: ${why}`);
    return;
  }
  const r = rng(3);
  // Disjoint /28 networks (what is left after merging), in 100.64.0.0/10 and 10.0.0.0/8.
  const nets = (base: number) => Array.from({ length: KERNEL }, (_, i) => `${quad((base + i * 16 + (r() % 2) * 0) >>> 0)}/28`);
  const lab = new Lab();
  try {
    const ns = await lab.host('repk');
    const runner = new NetnsRunner(new ExecRunner(300_000), ns.name);
    for (const kind of ['ipset', 'nftables'] as const) {
      const sets = createListSets(runner, { kind, setName: 'ips-rep', chain: 'IPS-REP', table: 'ips_rep', maxElem: 1 << 20 });
      await sets.setup();
      const first = nets(0x64400000);
      const second = nets(0x0a000000);
      let t = process.hrtime.bigint();
      await sets.replace(first, []);
      const loadMs = Number(process.hrtime.bigint() - t) / 1e6;
      t = process.hrtime.bigint();
      await sets.replace(second, []);
      const swapMs = Number(process.hrtime.bigint() - t) / 1e6;
      console.log(`kernel ${kind.padEnd(8)}: ${KERNEL.toLocaleString('en')} networks loaded in ${loadMs.toFixed(0)} ms; replaced by another ${KERNEL.toLocaleString('en')} atomically in ${swapMs.toFixed(0)} ms`);
      await sets.teardown();
    }
  } finally {
    await lab.cleanup();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-rep-bench-'));
  try {
    const text = listText(ENTRIES);
    await loadAndLookups(text);
    await chain(text, dir);
    await kernel();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
