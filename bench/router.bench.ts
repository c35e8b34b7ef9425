/**
 * Router-side costs:
 *  - conntrack-poll at 10,000 tracked flows: one poll = `conntrack -L` +
 *    parse + per-flow bookkeeping; ms per poll and the CPU share at a 1 s
 *    interval (our process plus the conntrack child). The flows are created
 *    in a network namespace with `conntrack -R` (a batch of `-I` lines) and
 *    the measuring part runs inside it (`ip netns exec`).
 *  - vendor-lookup: MAC → manufacturer lookups per second, and enriching
 *    Device stats arrays.
 * Targets: a poll at 10,000 flows under 50 ms; over 1,000,000 lookups/s.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ConntrackReader, parseConntrack } from '../lib/net/conntrack';
import { DeviceBook } from '../lib/net/device-stats';
import { CidrSet } from '../lib/base/cidr';
import { lookupVendor, vendorTable } from '../lib/net/vendor';
import { Enricher } from '../lib/net/enrich';
import { NeighbourTable } from '../lib/net/neighbours';
import { Lab, netnsUnavailable, toolMissing } from '../tests/support/netns';
import type { DeviceStats } from '../lib/net/types';

const FLOWS = 10_000;
const POLLS = 30;

/** Children's CPU time so far (ms), from /proc/self/stat (cutime + cstime). */
function childCpuMs(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

async function inner(): Promise<void> {
  for (const source of ['proc', 'tool'] as const) await innerWith(source);
}

async function innerWith(source: 'proc' | 'tool'): Promise<void> {
  const reader = new ConntrackReader(source);
  const book = new DeviceBook({ lan: new CidrSet('10.1.0.0/16') });
  const first = await reader.read();
  book.poll(first);
  const wall: number[] = [];
  let parseMs = 0;
  let bookMs = 0;
  let text = '';
  const cpu0 = process.cpuUsage();
  const child0 = childCpuMs();
  for (let i = 0; i < POLLS; i++) {
    const t0 = performance.now();
    const entries = await reader.read();
    book.poll(entries);
    wall.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  const childMs = childCpuMs() - child0;
  // Breakdown on one listing.
  text = source === 'proc'
    ? fs.readFileSync('/proc/net/nf_conntrack', 'latin1')
    : spawnSync('conntrack', ['-L', '-o', 'extended,id'], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
  let entries = parseConntrack(text, source === 'proc');
  const parseRuns: number[] = [];
  const bookRuns: number[] = [];
  for (let i = 0; i < 15; i++) {
    let t = performance.now();
    entries = parseConntrack(text, source === 'proc');
    parseRuns.push(performance.now() - t);
    t = performance.now();
    book.poll(entries);
    bookRuns.push(performance.now() - t);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  parseMs = med(parseRuns);
  bookMs = med(bookRuns);
  wall.sort((a, b) => a - b);
  const ownMs = (cpu.user + cpu.system) / 1000 / POLLS;
  const perPollCpu = ownMs + childMs / POLLS;
  console.log(`conntrack-poll at ${entries.length} flows, read from ${source === 'proc' ? '/proc/net/nf_conntrack' : 'conntrack -L'} (${POLLS} polls):`);
  console.log(`  wall per poll: median ${wall[Math.floor(POLLS / 2)].toFixed(1)} ms, p90 ${wall[Math.floor(POLLS * 0.9)].toFixed(1)} ms (target < 50 ms)`);
  console.log(`  of which (medians of 15) parse ${parseMs.toFixed(1)} ms, bookkeeping ${bookMs.toFixed(1)} ms; listing text ${(text.length / 1e6).toFixed(1)} MB`);
  console.log(`  CPU per poll: ${perPollCpu.toFixed(1)} ms (node ${ownMs.toFixed(1)} ms + child processes ${(childMs / POLLS).toFixed(1)} ms) = ${(perPollCpu / 10).toFixed(1)} % of one core at a 1 s interval`);
}

async function conntrackBench(): Promise<void> {
  const why = (await netnsUnavailable()) ?? (await toolMissing('conntrack', 'iptables'));
  if (why) {
    console.log(`conntrack-poll at ${FLOWS} flows: skipped (${why})`);
    return;
  }
  const lab = new Lab();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-bench-ct-'));
  try {
    const ns = await lab.host('ctb');
    // Connection tracking is only active in a namespace once a rule uses it.
    await ns.exec('iptables', ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'ACCEPT']);
    await ns.exec('sysctl', ['-q', '-w', 'net.netfilter.nf_conntrack_acct=1']);
    const lines: string[] = [];
    for (let i = 0; i < FLOWS; i++) {
      // A busy home network: 50 devices with 200 flows each.
      const dev = `10.1.0.${(i % 50) + 2}`;
      const remote = `10.200.${(i >> 6) & 0xff}.${(i % 250) + 1}`;
      lines.push(i % 4 === 3
        ? `-I -s ${dev} -d ${remote} -p udp --sport ${20000 + (i % 40000)} --dport ${1024 + i} -t 3600`
        : `-I -s ${dev} -d ${remote} -p tcp --sport ${10000 + (i % 50000)} --dport ${1024 + i} --state ESTABLISHED -t 3600 -u ASSURED`);
    }
    const file = path.join(tmp, 'load.txt');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    await ns.exec('conntrack', ['-R', file], { timeoutMs: 120_000 }).catch(() => undefined);
    const count = (await ns.exec('conntrack', ['-C'])).stdout.trim();
    console.log(`(${count} entries loaded with conntrack -R)`);
    const res = spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, __filename, '--inner'], { stdio: 'inherit', timeout: 300_000 });
    if (res.status !== 0) throw new Error(`inner bench failed (${res.status ?? res.signal})`);
  } finally {
    await lab.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function vendorBench(): void {
  let t = performance.now();
  const table = vendorTable();
  const loadMs = performance.now() - t;
  // Real prefixes from the table (a mix of MA-L, MA-M, MA-S) with random host parts, plus randomised MACs.
  const prefixes = [...table.l24.keys()].map((p) => p.toString(16).padStart(6, '0'));
  const macs: string[] = [];
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < 100_000; i++) {
    const p = i % 10 === 9 ? `${(rnd() & 0xfc | 0x02).toString(16).padStart(2, '0')}${(rnd() & 0xffff).toString(16).padStart(4, '0')}` : prefixes[rnd() % prefixes.length];
    const host = (rnd() & 0xffffff).toString(16).padStart(6, '0');
    const hex = p + host;
    macs.push(hex.match(/../g)!.join(':'));
  }
  let found = 0;
  for (let i = 0; i < 200_000; i++) if (lookupVendor(macs[i % macs.length], table)) found++;
  const N = 3_000_000;
  t = performance.now();
  for (let i = 0; i < N; i++) if (lookupVendor(macs[i % macs.length], table)) found++;
  const ms = performance.now() - t;
  console.log(`vendor-lookup: table load ${loadMs.toFixed(0)} ms (${table.size} prefixes)`);
  console.log(`  ${(N / ms / 1000).toFixed(2)} M lookups/s (${((ms * 1e6) / N).toFixed(0)} ns each; target > 1 M/s)  [${found > 0 ? 'ok' : 'none found'}]`);
  // Enriching Device stats arrays (no neighbour table: vendor only).
  const enricher = new Enricher(new NeighbourTable({ leaseFile: null, useNeighbours: false }), 'auto', table);
  const devices: DeviceStats[] = macs.slice(0, 100).map((mac, i) => ({ ip: `192.168.4.${i + 2}`, mac, rxBytes: 0, txBytes: 0, rxBps: 0, txBps: 0, flows: 1, lastSeen: 0 }));
  const M = 20_000;
  t = performance.now();
  for (let i = 0; i < M; i++) enricher.enrich(devices);
  const ems = performance.now() - t;
  console.log(`  enrich a 100-device stats array: ${((ems * 1000) / M).toFixed(1)} µs (${((M * 100) / ems / 1000).toFixed(2)} M devices/s)`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--inner')) return inner();
  vendorBench();
  await conntrackBench();
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
