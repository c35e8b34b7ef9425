/**
 * Inline path on veth pairs in network namespaces, real kernel:
 *  - throughput: UDP load from a generator namespace at stepped rates
 *    (iperf3 paced every 100 µs, then hping3 --flood), INPUT → NFQUEUE →
 *    consumer → verdict, with kernel drop counters from
 *    /proc/net/netfilter/nfnetlink_queue inside the victim. Consumers: the
 *    bare adapter (lib/capture/nfqueue-inline, verdict at once), and a real
 *    Node-RED running nfqueue-in → flood-detect → scan-detect →
 *    payload-match → nfqueue-in, per packet and batched. Per step: rate
 *    offered and verdicted (wall clock), kernel drops, and packets per
 *    CPU-second of the consumer process (user + system time: it is the
 *    consumer's capacity whatever else runs on the machine).
 *  - latency: ping -i 0.01 (1000) from a third namespace at a steady
 *    10,000 packets/s background load (iperf3 paced; the rate is sampled
 *    every 250 ms and printed as min/median/max), without and with the IPS,
 *    the IPS with Node's defaults and as the README's service unit runs it
 *    (NODE_OPTIONS=--max-semi-space-size=2, Nice=-20).
 *    IPS_BENCH_ONLY=latency skips the throughput steps; IPS_BENCH_ROUNDS=N
 *    repeats the latency step N times, alternating the variants, and prints
 *    each variant's added p99s sorted.
 * Targets: >= 100,000 packets/s inline; p99 added latency < 1 ms at 10,000 packets/s.
 *
 * The load's data datagrams are dropped by a filter rule after the queue
 * (their counter is the accepted load), so no receiver competes for the CPUs.
 *
 * Instructions per packet, whatever the machine's load (valgrind callgrind):
 *   node dist/bench/inline.bench.js --instructions [bare|red] [batch]
 * runs one consumer under callgrind, sends bursts of packets that queue in
 * the kernel while it works through them (so batches fill by count; batch
 * time and verdict timeout are raised so the slow-down under valgrind
 * neither flushes part batches nor times packets out) and divides the
 * instructions counted over the bursts (user space, all threads) by the
 * packets verdicted. Takes a few minutes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import readline from 'node:readline';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../tests/support/netns';
import { startChildRuntime } from '../tests/support/red-process';
import { DETECTOR_IDS, detectorChain, disableScript, enableScript, nfqueueNode, observers } from '../tests/support/inline';
import { INLINE_DEFAULTS, NfqueueInline } from '../lib/capture/nfqueue-inline';
import { parseKernelQueues, type KernelQueueRow } from '../lib/capture/nfqueue-proc';

const QUEUE = 31;
const VIC_G = '10.235.0.1';
const GEN = '10.235.0.2';
const VIC_P = '10.235.1.1';
const PNG = '10.235.1.2';
const STEP_S = 3;
/** Offered rates in packets/s (iperf3, paced), then hping3 --flood (as fast as the generator goes). */
const STEPS: Array<number | 'flood'> = [10_000, 25_000, 50_000, 100_000, 'flood'];
/** UDP payload bytes of the load (IP length 92). */
const PAYLOAD = 64;
const LOAD_COMMENT = 'ips-bench-load';
/**
 * What the README's service unit puts in NODE_OPTIONS: a 2 MiB young
 * generation. At 10,000 packets/s nearly every packet crosses the flow alone
 * and Node-RED allocates about 14 KB for it; with the default 16 MiB semi-space
 * V8 scavenges 14 times a second for about 0.75 ms each (the pause grows with
 * the semi-space, not with the 2-3 KB that survive), and a ping that arrives
 * during one waits. 2 MiB: about 115 scavenges a second of about 0.24 ms.
 */
const SERVICE_NODE_OPTIONS = '--max-semi-space-size=2';

/** The environment for a Node-RED child run as the service unit runs it. */
function serviceEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, SERVICE_NODE_OPTIONS].filter(Boolean).join(' ') };
}

/** Child mode: the bare adapter, verdicting every packet accept at once. */
async function bareChild(batchSize: number, batchMs = 1, timeoutMs = INLINE_DEFAULTS.timeoutMs): Promise<void> {
  const engine: NfqueueInline = new NfqueueInline(
    { ...INLINE_DEFAULTS, queue: QUEUE, failOpen: false, maxLen: 8192, batchSize, batchMs, timeoutMs },
    { emit: (payload) => engine.verdict(payload), error: (err) => console.error(err.message) },
  );
  engine.start();
  console.log('ready');
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('close', () => {
    engine.close();
    process.exit(0);
  });
}

/** A consumer of the queue and how to stop it. */
interface Consumer {
  pid: number;
  stop(): Promise<void>;
}

/** The bare adapter as a child process in `vic` (`wrap` prefixes the command, e.g. valgrind); resolves once it has bound the queue. */
async function startBare(vic: Netns, args: string[], wrap: string[] = []): Promise<Consumer> {
  const argv = [...wrap, process.execPath, __filename, '--bare', ...args];
  const child = vic.spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  return {
    pid: child.pid!,
    async stop() {
      child.stdin?.end();
      await new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
    },
  };
}

/** The Node-RED chain (`nodeRedFlows`) in a child runtime in `vic`; resolves once its flows run. */
async function startRed(vic: Netns, flows: ReturnType<typeof nodeRedFlows>, opts: { wrap?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Consumer> {
  const rt = await startChildRuntime(flows, ['errors'], { ns: vic, ...opts });
  return { pid: rt.child.pid!, stop: () => rt.stop() };
}

async function kernelRow(ns: Netns): Promise<KernelQueueRow | undefined> {
  const { stdout } = await ns.exec('cat', ['/proc/net/netfilter/nfnetlink_queue']);
  return parseKernelQueues(stdout).find((r) => r.queue === QUEUE);
}

async function waitBound(ns: Netns): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await kernelRow(ns))) {
    if (Date.now() > deadline) throw new Error(`queue ${QUEUE} never bound`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface StepResult {
  label: string;
  offered: number;
  verdicted: number;
  kernelDrops: number;
  /** Share of one core the consumer process used. */
  cpuShare: number;
  /** CPU seconds (user + system) the consumer used. */
  cpu: number;
  /** Packets verdicted per second of the consumer's CPU time: its capacity on an idle core. */
  perCpuSecond: number;
}

/** CPU time (s) used so far by process `pid` (utime + stime, USER_HZ 100). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Drop the load's data datagrams after the queue (filter table), counted; iperf3's control traffic and handshake pass. */
async function addLoadSink(vic: Netns): Promise<void> {
  await vic.exec('iptables', ['-w', '-A', 'INPUT', '-p', 'udp', '--dport', '5201', '-m', 'length', '--length', String(20 + 8 + PAYLOAD), '-m', 'comment', '--comment', LOAD_COMMENT, '-j', 'DROP']);
}

/**
 * `pps` UDP datagrams per second for `seconds`: iperf3 paced every 100 µs
 * (hping3 -i paces with usleep and falls short and uneven at these rates).
 * `onServer` gets the pid of the iperf3 server, a process inside `vic`.
 */
async function steadyLoad(gen: Netns, vic: Netns, pps: number, seconds: number, onServer?: (pid: number) => void): Promise<void> {
  const server = vic.spawn('iperf3', ['-s', '-1', '-B', VIC_G]);
  server.stderr?.resume();
  if (server.pid !== undefined) onServer?.(server.pid);
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 2000);
    server.stdout?.once('data', () => {
      clearTimeout(t);
      server.stdout?.resume();
      resolve();
    });
  });
  const args = ['-c', VIC_G, '-u', '-l', String(PAYLOAD), '-b', String(pps * PAYLOAD * 8), '--pacing-timer', '100', '-t', String(seconds)];
  // the rate is read from kernel counters, not from iperf3's report (which an overloaded queue may delay)
  await gen.exec('timeout', [String(seconds + 10), 'iperf3', ...args], { timeoutMs: (seconds + 20) * 1000 }).catch(() => undefined);
  server.kill();
}

/**
 * Packets received so far on interface `ifname` of the namespace of process
 * `pid`, read from /proc/<pid>/net/dev: no process is started, so sampling
 * the load does not take CPU from what is measured (an `iptables -L` every
 * 250 ms in the namespace forks two processes each time: enough to show in
 * a p99).
 */
function rxPackets(pid: number, ifname: string): number {
  try {
    const line = fs.readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').find((l) => l.trim().startsWith(`${ifname}:`));
    return line ? Number(line.slice(line.indexOf(':') + 1).trim().split(/\s+/)[1]) : NaN;
  } catch {
    return NaN; // the process has exited
  }
}

async function loadStep(gen: Netns, vic: Netns, pid: number, pps: number | 'flood'): Promise<StepResult> {
  const before = (await kernelRow(vic))!;
  const cpu0 = cpuSeconds(pid);
  if (pps === 'flood') {
    await gen.exec('timeout', [String(STEP_S), 'hping3', '--udp', '-p', '5201', '-d', String(PAYLOAD), '-q', '--flood', VIC_G], { timeoutMs: 30_000 }).catch(() => undefined);
  } else {
    await steadyLoad(gen, vic, pps, STEP_S);
  }
  await new Promise((r) => setTimeout(r, 500)); // let the queue drain
  const after = (await kernelRow(vic))!;
  const cpu = cpuSeconds(pid) - cpu0;
  // rates over the load's own duration (iperf3 -t / timeout), not over server start-up and the drain wait
  const seconds = STEP_S;
  const queued = after.lastId - before.lastId;
  const full = after.queueDropped - before.queueDropped;
  const overflow = after.userDropped - before.userDropped;
  const verdicted = queued - overflow - after.waiting;
  return {
    label: pps === 'flood' ? 'flood' : `${pps / 1000}k paced`,
    offered: (queued + full) / seconds,
    verdicted: verdicted / seconds,
    kernelDrops: full + overflow,
    cpuShare: cpu / seconds,
    cpu,
    perCpuSecond: cpu > 0 ? verdicted / cpu : 0,
  };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function throughput(name: string, gen: Netns, vic: Netns, pid: number): Promise<StepResult[]> {
  const out: StepResult[] = [];
  for (const step of STEPS) out.push(await loadStep(gen, vic, pid, step));
  const clean = out.filter((r) => r.kernelDrops === 0);
  const best = clean.length ? Math.max(...clean.map((r) => r.verdicted)) : 0;
  const peak = Math.max(...out.map((r) => r.verdicted));
  console.log(`\n${name}`);
  for (const r of out) {
    console.log(
      `  ${r.label.padEnd(12)} offered ${fmt(r.offered).padStart(8)} pkt/s  verdicted ${fmt(r.verdicted).padStart(8)} pkt/s  kernel drops ${fmt(r.kernelDrops).padStart(7)}` +
        `  IPS process ${Math.round(r.cpuShare * 100)}% of a core, ${fmt(r.perCpuSecond)} pkt per CPU-second`,
    );
  }
  // steps with enough CPU time to measure (0.3 s = 30 clock ticks); the busiest show the capacity, per-wake costs amortised
  const capacity = Math.max(...out.filter((r) => r.cpu >= 0.3).map((r) => r.perCpuSecond), 0);
  console.log(`  => highest rate with no kernel drops: ${fmt(best)} pkt/s; peak verdict rate: ${fmt(peak)} pkt/s; best per CPU-second of the IPS process (steps using >= 0.3 CPU-s): ${fmt(capacity)} pkt`);
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface PingResult {
  p50: number;
  p99: number;
  lost: number;
  /** Load received by the victim, per 250 ms sample (packets/s), sorted. */
  loadRates: number[];
  /** Packets the kernel dropped from the queue (full, or socket overflow) while ping ran; undefined when no queue is bound. */
  kernelDrops: number | undefined;
}

/** Drops (queue full + socket overflow) of the bench's queue in the namespace of process `pid`, read from /proc without starting a process; undefined when not bound. */
function queueDrops(pid: number): number | undefined {
  try {
    const row = parseKernelQueues(fs.readFileSync(`/proc/${pid}/net/netfilter/nfnetlink_queue`, 'utf8')).find((r) => r.queue === QUEUE);
    return row ? row.queueDropped + row.userDropped : undefined;
  } catch {
    return undefined;
  }
}

/**
 * ping RTTs (ms) with a steady 10,000 packets/s load running; `vicIf` is
 * the victim's interface facing the load generator, `ipsPid` the process
 * bound to the queue (none: no queue drops to count).
 */
async function pingUnderLoad(gen: Netns, png: Netns, vic: Netns, vicIf: string, ipsPid?: number): Promise<PingResult> {
  let loadDone = false;
  let serverPid = 0;
  const load = steadyLoad(gen, vic, 10_000, 20, (pid) => (serverPid = pid)).then(() => (loadDone = true));
  // ping starts once the load flows (iperf3 connects first)
  const started = rxPackets(serverPid, vicIf);
  for (let i = 0; i < 100 && !loadDone && !(rxPackets(serverPid, vicIf) - started > 2000); i++) await new Promise((r) => setTimeout(r, 50));
  const dropsBefore = ipsPid === undefined ? undefined : queueDrops(ipsPid);
  const ping = png.exec('ping', ['-n', '-i', '0.01', '-c', '1000', '-W', '1', VIC_P], { timeoutMs: 60_000 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  let pingDone = false;
  void ping.then(() => (pingDone = true));
  const loadRates: number[] = [];
  let last = rxPackets(serverPid, vicIf);
  let lastT = performance.now();
  while (!pingDone) {
    await new Promise((r) => setTimeout(r, 250));
    const n = rxPackets(serverPid, vicIf);
    const t = performance.now();
    if (loadDone || !(n >= last)) break; // ping outlasted the load (a starved machine): later samples would show no load
    // from the first datagram on (iperf3 may still be connecting on a busy machine)
    if (n > last || loadRates.length > 0) loadRates.push((n - last) / ((t - lastT) / 1000));
    last = n;
    lastT = t;
  }
  const { stdout } = await ping;
  const dropsAfter = ipsPid === undefined ? undefined : queueDrops(ipsPid);
  const kernelDrops = dropsBefore === undefined || dropsAfter === undefined ? undefined : dropsAfter - dropsBefore;
  await load;
  const rtts = [...stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  return { p50: percentile(rtts, 50), p99: percentile(rtts, 99), lost: 1000 - rtts.length, loadRates: loadRates.sort((a, b) => a - b), kernelDrops };
}

function pingLine(label: string, r: PingResult): string {
  const rates = r.loadRates;
  const steady = rates.length ? `load ${fmt(percentile(rates, 0))}/${fmt(percentile(rates, 50))}/${fmt(rates[rates.length - 1])} pkt/s (min/median/max of ${rates.length} 250-ms samples)` : 'load not sampled';
  return `  ${`${label}:`.padEnd(28)}p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  lost ${r.lost}  ${steady}${r.kernelDrops === undefined ? '' : `; kernel queue drops ${fmt(r.kernelDrops)}`}`;
}

function nodeRedFlows(batchSize: number, batchMs = 1, timeout = INLINE_DEFAULTS.timeoutMs): ReturnType<typeof observers> {
  // thresholds above the benchmark's rates: every packet is inspected and accepted
  const quiet = { flood: { icmpSrc: '100000', icmpDst: '100000', udpSrc: '100000000', udpDst: '100000000' } };
  return [...observers(['nfq', ...DETECTOR_IDS]), nfqueueNode('nfq', { queue: QUEUE, failOpen: false, maxLen: 8192, batchSize, batchMs, timeout }, [DETECTOR_IDS[0]]), ...detectorChain('nfq', quiet)];
}

/** Wait until the kernel holds no packet of the queue for a verdict. */
async function waitDrained(vic: Netns): Promise<void> {
  for (let i = 0; i < 1200 && ((await kernelRow(vic))?.waiting ?? 0) > 0; i++) await new Promise((r) => setTimeout(r, 500));
}

/** `count` UDP datagrams as fast as hping3 sends them one by one (they queue in the kernel). */
async function burst(gen: Netns, count: number, gapUs: number): Promise<void> {
  await gen.exec('hping3', ['--udp', '-p', '5201', '-d', String(PAYLOAD), '-q', '-c', String(count), '-i', `u${gapUs}`, VIC_G], { timeoutMs: 600_000 }).catch(() => undefined);
}

/** Instructions per packet of one consumer under callgrind (see the header). */
async function instructions(gen: Netns, vic: Netns, consumer: 'bare' | 'red', batch: number): Promise<void> {
  // multiples of the batch size, so every batch fills by count
  const per = batch * Math.floor(4992 / batch);
  const warm = batch * Math.ceil(1984 / batch);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-callgrind-'));
  const out = path.join(dir, 'cg.out');
  const valgrind = ['valgrind', '--tool=callgrind', '--smc-check=all-non-file', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${out}`];
  const slowBatchMs = 50_000;
  const slowTimeout = 60_000;
  const running =
    consumer === 'bare'
      ? await startBare(vic, [String(batch), String(slowBatchMs), String(slowTimeout)], valgrind)
      : await startRed(vic, nodeRedFlows(batch, slowBatchMs, slowTimeout), { wrap: valgrind, timeoutMs: 600_000 });
  const { pid } = running;
  try {
    await waitBound(vic);
    // warm-up: code compiled and optimised before counting (background compiles would blur the count)
    await burst(gen, warm, 1000);
    await waitDrained(vic);
    await burst(gen, per, 20);
    await waitDrained(vic);
    execFileSync('callgrind_control', ['-i', 'on', String(pid)], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
    const before = (await kernelRow(vic))!;
    for (let i = 0; i < 2; i++) {
      await burst(gen, per, 20);
      await waitDrained(vic);
    }
    const after = (await kernelRow(vic))!;
    execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
    // one dump file per thread: <out>.1-01 is the main (JavaScript) thread, the others V8's compiler and GC helpers
    const perThread = fs.readdirSync(dir).filter((f) => f.startsWith('cg.out.1-')).sort().map((f) => {
      const totals = /^(?:summary|totals):\s*(\d+)/m.exec(fs.readFileSync(path.join(dir, f), 'utf8'));
      return totals ? Number(totals[1]) : 0;
    });
    const queued = after.lastId - before.lastId;
    const drops = after.queueDropped - before.queueDropped + (after.userDropped - before.userDropped);
    const packets = queued - drops;
    const all = perThread.reduce((a, b) => a + b, 0);
    console.log(
      `${consumer === 'bare' ? 'bare adapter' : 'Node-RED chain'}, batch ${batch}: ${fmt((perThread[0] ?? NaN) / packets)} instructions per packet on the main thread, ` +
        `${fmt(all / packets)} in all threads (${fmt(packets)} packets, kernel drops ${drops})`,
    );
  } finally {
    await running.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A queue consumer to measure: `start` binds the queue. */
interface ConsumerVariant {
  label: string;
  start(vic: Netns): Promise<Consumer>;
}

function bareVariant(label: string, batch: number): ConsumerVariant {
  return { label, start: (vic) => startBare(vic, [String(batch)]) };
}

function redVariant(label: string, batch: number, wrap: string[], env: NodeJS.ProcessEnv | undefined): ConsumerVariant {
  return { label, start: (vic) => startRed(vic, nodeRedFlows(batch), { wrap, env }) };
}

/**
 * ping through the queue at 10,000 packets/s of load: without the IPS, with
 * the bare adapter (the floor: kernel, wake-up, decode and verdict), and
 * with Node-RED per packet and batched, with Node's defaults and with the
 * service unit's settings. `rounds` > 1 repeats the whole set, alternating
 * (the machine's speed drifts), and ends with each variant's added p99s.
 */
async function latency(gen: Netns, png: Netns, vic: Netns, vicIf: string, rounds: number): Promise<void> {
  console.log('\nlatency: ping -i 0.01 -c 1000 with a steady UDP background load of 10,000 pkt/s (iperf3 paced)');
  const nice = ['nice', '-n', '-20'];
  const variants = [
    bareVariant('bare adapter, batch 1', 1),
    redVariant('with IPS, batch 1', 1, [], undefined),
    redVariant('with IPS, batch 64 (1 ms)', 64, [], undefined),
    redVariant('batch 1, semi-space 2 MiB', 1, [], serviceEnv()),
    redVariant('batch 64, semi-space 2 MiB', 64, [], serviceEnv()),
    redVariant('batch 64, service settings', 64, nice, serviceEnv()),
  ];
  const addedP99 = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) console.log(`round ${round} of ${rounds}`);
    await vic.exec(disableScript, ['--queue', String(QUEUE)]);
    const base = await pingUnderLoad(gen, png, vic, vicIf);
    console.log(pingLine('without IPS', base));
    await vic.exec(enableScript, ['--queue', String(QUEUE), '--chains', 'INPUT', '--family', '4']);
    for (const v of variants) {
      const consumer = await v.start(vic);
      try {
        await waitBound(vic);
        const r = await pingUnderLoad(gen, png, vic, vicIf, consumer.pid);
        console.log(pingLine(v.label, r));
        console.log(`  => added latency: p50 ${(r.p50 - base.p50).toFixed(3)} ms, p99 ${(r.p99 - base.p99).toFixed(3)} ms`);
        addedP99.get(v.label)!.push(r.p99 - base.p99);
      } finally {
        await consumer.stop();
      }
    }
  }
  if (rounds === 1) return;
  console.log(`\nadded p99 over ${rounds} rounds, sorted (ms):`);
  for (const [label, list] of addedP99) {
    const sorted = [...list].sort((a, b) => a - b);
    const under = sorted.filter((x) => x < 1).length;
    console.log(`  ${`${label}:`.padEnd(28)}${sorted.map((x) => x.toFixed(3)).join(', ')}  median ${percentile(sorted, 50).toFixed(3)}, ${under} of ${sorted.length} under 1 ms`);
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--bare') return bareChild(Number(process.argv[3] ?? '1'), Number(process.argv[4] ?? '1'), Number(process.argv[5] ?? INLINE_DEFAULTS.timeoutMs));
  const counting = process.argv[2] === '--instructions';
  const missing = (await netnsUnavailable()) ?? (await toolMissing('iptables', 'hping3', 'iperf3', 'ping', 'timeout', ...(counting ? ['valgrind', 'callgrind_control'] : [])));
  if (missing) {
    console.log(`inline: skipped (${missing})`);
    return;
  }
  const lab = new Lab();
  try {
    const vic = await lab.host('vic');
    const gen = await lab.host('gen');
    const png = await lab.host('png');
    const { aIf: vicIf } = await lab.link(vic, `${VIC_G}/24`, gen, `${GEN}/24`);
    await lab.link(vic, `${VIC_P}/24`, png, `${PNG}/24`);
    await vic.exec(enableScript, ['--queue', String(QUEUE), '--chains', 'INPUT', '--family', '4']);
    await addLoadSink(vic);
    if (counting) {
      const consumer = process.argv[3] === 'red' ? 'red' : 'bare';
      await instructions(gen, vic, consumer, Number(process.argv[4] ?? '64'));
      return;
    }
    console.log(`inline: ${STEP_S} s per step, UDP ${PAYLOAD}-byte payload, queue length 8192, kernel fail-open off (so overload shows as drops)`);
    console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (shared: other processes compete for the cores)`);

    const chain = 'Node-RED: nfqueue-in → flood-detect → scan-detect → payload-match → nfqueue-in';
    const throughputRuns = [
      bareVariant('bare adapter (decode + verdict, no Node-RED), batch 1', 1),
      bareVariant('bare adapter (decode + verdict, no Node-RED), batch 64', 64),
      redVariant(`${chain}, batch 1`, 1, [], undefined),
      redVariant(`${chain}, batch 64`, 64, [], undefined),
      redVariant(`${chain}, batch 64, NODE_OPTIONS=${SERVICE_NODE_OPTIONS}`, 64, [], serviceEnv()),
    ];
    for (const v of process.env.IPS_BENCH_ONLY === 'latency' ? [] : throughputRuns) {
      const consumer = await v.start(vic);
      try {
        await waitBound(vic);
        await throughput(v.label, gen, vic, consumer.pid);
      } finally {
        await consumer.stop();
      }
    }

    const rounds = Number(process.env.IPS_BENCH_ROUNDS ?? '1');
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`IPS_BENCH_ROUNDS must be a whole number >= 1, got ${process.env.IPS_BENCH_ROUNDS}`);
    await latency(gen, png, vic, vicIf, rounds);
  } finally {
    await lab.hosts[0]?.exec(disableScript, ['--queue', String(QUEUE)]).catch(() => undefined);
    await lab.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
