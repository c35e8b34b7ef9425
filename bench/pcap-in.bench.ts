/**
 * pcap-in throughput on a generated capture of mixed packets (1,000,000 by
 * default; IPS_BENCH_PACKETS to change):
 *  1. the bare reader + decoder (lib/capture/pcap-file + lib/packet/decode), no Node-RED;
 *  2. pcap-in (file, analyze, batches of 256) → a counting function node,
 *     inside a real Node-RED runtime (tests/support/runtime.ts).
 * Prints packets/s, wall time, process CPU time and peak RSS (sampled every
 * 20 ms) per run.
 * Run: npm run bench pcap-in   (or: node --expose-gc dist/bench/pcap-in.bench.js)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCapture } from './support/make-capture';
import { CaptureFileReader } from '../lib/capture/pcap-file';
import { decodeRecord } from '../lib/packet/decode';
import { startRuntime, type FlowNode } from '../tests/support/red-runtime';
import { measure, mib, type Run } from './support/measure';
import { countPackets, countSink } from './support/count';

const PACKETS = Number(process.env.IPS_BENCH_PACKETS ?? 1_000_000);
const BATCH = Number(process.env.IPS_BENCH_BATCH ?? 256);

/** A measured run plus the CPU time (all threads, user + system) the process spent in it. */
interface CpuRun extends Run {
  cpuMs: number;
}

async function measureCpu(fn: () => Promise<number>): Promise<CpuRun> {
  const cpu0 = process.cpuUsage();
  const run = await measure(fn);
  const cpu = process.cpuUsage(cpu0);
  return { ...run, cpuMs: (cpu.user + cpu.system) / 1000 };
}

function report(name: string, r: CpuRun): void {
  const pps = Math.round((r.packets * 1000) / r.wallMs);
  // Per CPU-second too: on a shared machine wall time also counts waiting for a core.
  const perCpu = Math.round((r.packets * 1000) / r.cpuMs);
  console.log(`${name.padEnd(46)} ${r.packets.toLocaleString('en')} pkts  wall ${(r.wallMs / 1000).toFixed(2)} s  ${pps.toLocaleString('en')} pkts/s  `
    + `CPU ${(r.cpuMs / 1000).toFixed(2)} s (${perCpu.toLocaleString('en')} pkts per CPU-s)  RSS ${mib(r.startRss)} → peak ${mib(r.peakRss)}`);
}

async function bareReaderDecoder(file: string): Promise<number> {
  const reader = new CaptureFileReader(file);
  let n = 0;
  let bytes = 0;
  try {
    for await (const records of reader) {
      for (let i = 0; i < records.length; i++) {
        const r = records[i];
        const p = decodeRecord(r);
        bytes += p.len;
        n++;
      }
    }
  } finally {
    await reader.close();
  }
  if (bytes === 0) throw new Error('nothing decoded');
  return n;
}

async function throughRuntime(file: string): Promise<number> {
  const flows: FlowNode[] = [
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'cap', z: 'tab', type: 'pcap-in', source: 'file', filename: '', mode: 'analyze', batchSize: String(BATCH), batchDelayMs: '50', wires: [['count'], ['done']] },
    countSink('count', 'tab'),
    { id: 'done', z: 'tab', type: 'debug', active: false, wires: [] },
  ];
  const rt = await startRuntime(flows);
  const counter = countPackets(rt, 'count');
  try {
    // Flows start just after the runtime does: wait for the nodes to exist.
    for (let i = 0; i < 500 && !rt.RED.nodes.getNode('count'); i++) await new Promise((r) => setTimeout(r, 20));
    const node = rt.RED.nodes.getNode('cap') as { receive(msg: Record<string, unknown>): void } | null;
    if (!node) throw new Error('pcap-in did not start in the runtime');
    // Warm-up pass (as for the bare run): hot page cache, optimised code in Node-RED too.
    node.receive({ filename: file });
    await rt.waitFor('done', (msgs) => msgs.length > 0, 600_000);
    rt.inbox('done').length = 0;
    counter.reset();
    const result = await measureCpu(async () => {
      node.receive({ filename: file });
      const done = await rt.waitFor('done', (msgs) => msgs.length > 0, 600_000);
      const summary = done[0].msg.payload as { packets: number; error?: string };
      if (summary.error) throw new Error(summary.error);
      const counted = counter.packets;
      if (counted !== summary.packets) throw new Error(`counted ${counted} of ${summary.packets} packets`);
      return counted;
    });
    report(`pcap-in → count, Node-RED runtime (batch ${BATCH})`, result);
    return result.packets;
  } finally {
    counter.stop();
    await rt.stop();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-bench-'));
  const file = path.join(dir, 'mixed.pcap');
  try {
    const t0 = Date.now();
    const size = makeCapture(file, PACKETS);
    console.log(`capture: ${PACKETS.toLocaleString('en')} mixed packets (IPv4/IPv6 TCP/UDP/ICMP, VLAN, ARP), ${mib(size)}, made in ${Date.now() - t0} ms`);
    // IPS_BENCH_ONLY=bare|runtime runs one of the two (e.g. under --cpu-prof).
    const only = process.env.IPS_BENCH_ONLY;
    if (only !== 'runtime') {
      // Warm-up pass so the measured run sees a hot page cache and optimised code.
      await bareReaderDecoder(file);
      report('reader + decoder (no Node-RED)', await measureCpu(() => bareReaderDecoder(file)));
    }
    if (only !== 'bare') await throughRuntime(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
