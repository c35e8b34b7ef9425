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
