/**
 * What a blocklist costs the traffic that is NOT blocked: packets/s and ping
 * round trips from a client to a server namespace whose INPUT runs through
 * the node's chain/table, with 10 vs 100,000 addresses in the ipset and
 * nftables sets (and 10 vs 1,000 plain iptables rules, for contrast). The
 * sets are filled with one `ipset restore` / `nft -f -` batch on stdin.
 *
 *   node dist/bench/block.bench.js            (root; iperf3, ping, ipset, nft, iptables)
 */
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../tests/support/netns';
import { ExecRunner, NetnsRunner, createBackend, type CommandRunner, type FirewallBackend, type BackendKind } from '../lib/net/firewall';

const SRV = '10.78.0.1';
const CLI = '10.78.0.2';
const REPS = Number(process.env.BLOCK_BENCH_REPS ?? 3);
const IPERF_S = Number(process.env.BLOCK_BENCH_SECONDS ?? 3);
const PINGS = Number(process.env.BLOCK_BENCH_PINGS ?? 50_000);

/** The n-th filler address (100.64.0.0/10, never the client). */
function filler(i: number): string {
  const n = 0x64400000 + 1 + i;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

async function fill(runner: CommandRunner, kind: BackendKind, n: number): Promise<void> {
  const ips = Array.from({ length: n }, (_, i) => filler(i));
  if (kind === 'ipset') {
    await runner.run({ cmd: 'ipset', args: ['restore', '-exist'], input: `${ips.map((ip) => `add ips-block-v4 ${ip} timeout 0`).join('\n')}\n` });
  } else if (kind === 'nftables') {
    const lines: string[] = [];
    for (let i = 0; i < ips.length; i += 5000) lines.push(`add element inet ips block4 { ${ips.slice(i, i + 5000).join(', ')} }`);
    await runner.run({ cmd: 'nft', args: ['-f', '-'], input: `${lines.join('\n')}\n` });
  } else {
    const rules = ips.map((ip) => `-A IPS-BLOCK -s ${ip}/32 -j DROP`);
    await runner.run({ cmd: 'iptables-restore', args: ['--noflush'], input: `*filter\n${rules.join('\n')}\nCOMMIT\n` });
  }
}

interface Figures {
  /** UDP packets/s received by the server. */
  pps: number;
  /** Echo round trips/s of a flood ping (one in flight: the sum of per-packet costs both ways). */
  rtts: number;
}

/** One iperf3 run and one flood ping. */
async function measureOnce(cli: Netns): Promise<Figures> {
  const { stdout } = await cli.exec('iperf3', ['-c', SRV, '-u', '-b', '0', '-l', '64', '-t', String(IPERF_S), '-J'], { timeoutMs: 60_000 });
  const sum = (JSON.parse(stdout) as { end: { sum: { packets: number; lost_packets: number; seconds: number } } }).end.sum;
  const ping = await cli.exec('ping', ['-f', '-q', '-c', String(PINGS), SRV], { timeoutMs: 120_000 });
  const m = /(\d+) received.*time (\d+)ms/.exec(ping.stdout);
  return { pps: (sum.packets - sum.lost_packets) / sum.seconds, rtts: m && Number(m[2]) > 0 ? Number(m[1]) / (Number(m[2]) / 1000) : NaN };
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const why = (await netnsUnavailable()) ?? (await toolMissing('iperf3', 'ping', 'ipset', 'nft', 'iptables', 'iptables-restore'));
  if (why) {
    console.log(`block bench skipped: ${why}`);
    return;
  }
  const lab = new Lab();
  try {
    const srv = await lab.host('srv');
    const cli = await lab.host('cli');
    await lab.link(srv, `${SRV}/24`, cli, `${CLI}/24`);
    const iperf = srv.spawn('iperf3', ['-s', '-B', SRV]);
    iperf.stdout?.resume();
    await new Promise((r) => setTimeout(r, 500));
    // The firewall commands run inside the server namespace, as the node would run them on a box.
    const runner = new NetnsRunner(new ExecRunner(120_000), srv.name);
    console.log(`per-packet cost of the blocklist for traffic that is not blocked: UDP 64-byte iperf3 -b 0 (${IPERF_S} s) and ping -f -c ${PINGS}, median of ${REPS}`);
    console.log('backend         | entries | UDP packets/s | ping round trips/s');
    console.log('----------------|---------|---------------|-------------------');
    const row = (label: string, n: number, f: Figures) =>
      console.log(`${label.padEnd(16)}| ${String(n).padStart(7)} | ${Math.round(f.pps).toString().padStart(13)} | ${Math.round(f.rtts).toString().padStart(18)}`);
    // Rounds over every case, so drift in the machine's load hits all of them alike.
    const cases: [BackendKind | 'none', number][] = [['none', 0], ['ipset', 10], ['ipset', 100_000], ['nftables', 10], ['nftables', 100_000], ['iptables', 10], ['iptables', 1_000]];
    const results = cases.map(() => ({ pps: [] as number[], rtts: [] as number[], fillMs: 0 }));
    for (let r = 0; r < REPS; r++) {
      for (const [i, [kind, n]] of cases.entries()) {
        let backend: FirewallBackend | null = null;
        if (kind !== 'none') {
          backend = createBackend(runner, { backend: kind, chain: 'IPS-BLOCK', setName: 'ips-block', table: 'ips', maxElem: 131072 });
          await backend.setup();
          const t0 = process.hrtime.bigint();
          await fill(runner, kind, n);
          results[i].fillMs = Number(process.hrtime.bigint() - t0) / 1e6;
        }
        const f = await measureOnce(cli);
        results[i].pps.push(f.pps);
        results[i].rtts.push(f.rtts);
        await backend?.teardown();
      }
    }
    for (const [i, [kind, n]] of cases.entries()) row(kind, n, { pps: median(results[i].pps), rtts: median(results[i].rtts) });
    for (const [i, [kind, n]] of cases.entries()) if (n >= 1000) console.log(`filling ${n} ${kind} entries in one batch: ${results[i].fillMs.toFixed(0)} ms`);
  } finally {
    await lab.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
