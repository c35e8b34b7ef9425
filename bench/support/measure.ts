/** Wall time, CPU time and peak RSS of a benchmark step, and one line to print them. */

export interface Run {
  packets: number;
  wallMs: number;
  /** CPU time of the whole process (all threads, user + system) during the step. */
  cpuMs: number;
  peakRss: number;
  startRss: number;
}

export const mib = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;

/** Time `fn` (which returns the packets it handled) while sampling RSS every 20 ms. */
export async function measure(fn: () => Promise<number>): Promise<Run> {
  (globalThis as { gc?: () => void }).gc?.();
  const startRss = process.memoryUsage.rss();
  let peakRss = startRss;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peakRss) peakRss = rss;
  }, 20);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  try {
    const packets = await fn();
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = process.cpuUsage(cpu0);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    return { packets, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, peakRss, startRss };
  } finally {
    clearInterval(sampler);
  }
}

/** One line: packets, wall time and rate, CPU time and packets per CPU-second (what the step costs on a loaded machine), RSS. */
export function report(name: string, r: Run): void {
  const pps = Math.round((r.packets * 1000) / r.wallMs);
  const perCpu = Math.round((r.packets * 1000) / Math.max(r.cpuMs, 1e-3));
  console.log(`${name.padEnd(56)} ${r.packets.toLocaleString('en')} pkts  ${(r.wallMs / 1000).toFixed(2)} s  ${pps.toLocaleString('en')} pkts/s  `
    + `CPU ${(r.cpuMs / 1000).toFixed(2)} s (${perCpu.toLocaleString('en')} pkts/CPU-s)  RSS ${mib(r.startRss)} → peak ${mib(r.peakRss)}`);
}

/**
 * The host's latency for a random memory read, in ns: a pointer chase over
 * `bytes` (one read per 64-byte line, in a random cycle). The detector chain
 * is bound by such reads (its tables miss the cache), and on a shared VM this
 * latency moves from minute to minute, the chain's rate against it (figures
 * in docs/performance.md), so a figure is printed with it.
 */
export function memoryLatencyNs(bytes = 64 << 20): number {
  const n = bytes >>> 2;
  const step = 16; // Int32 slots per 64-byte line
  const lines = Math.floor(n / step);
  const order = new Int32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i * step;
  for (let i = lines - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const next = new Int32Array(n);
  for (let i = 0; i < lines; i++) next[order[i]] = order[(i + 1) % lines];
  let p = 0;
  for (let i = 0; i < 200_000; i++) p = next[p];
  const reads = 3_000_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reads; i++) p = next[p];
  const ns = Number(process.hrtime.bigint() - t0) / reads;
  return p < 0 ? -1 : ns; // p is used, so the chase is not optimised away
}
