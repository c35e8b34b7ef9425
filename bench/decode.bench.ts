/**
 * Decoder and capture-reader throughput, without Node-RED.
 *
 * Generates (in a temp dir) a pcap of mixed packets — TCP/UDP/ICMP,
 * IPv4/IPv6, some VLAN-tagged, a few ARP — then times:
 *   (a) CaptureFileReader + decodeRecord (in place) over the file, with RSS sampled per chunk;
 *   (b) decodePacket alone over frames already in memory.
 *
 * IPS_BENCH_PACKETS sets the packet count (default 1,000,000); a large value
 * (e.g. 30000000, about 3 GB) shows that the reader's memory stays flat.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCapture } from './support/make-capture';
import { CaptureFileReader } from '../lib/capture/pcap-file';
import { decodePacket, decodeRecord } from '../lib/packet/decode';

const PACKETS = Number(process.env.IPS_BENCH_PACKETS ?? 1_000_000);
const MiB = 1024 * 1024;

function mib(bytes: number): string {
  return (bytes / MiB).toFixed(0) + ' MiB';
}

/** CPU time since `start`: on a shared machine it says more than wall time about the code's own cost. */
function cpuSeconds(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1e6;
}

function rate(n: number, seconds: number): string {
  return Math.round(n / seconds).toLocaleString('en');
}

async function main(): Promise<void> {
  if (!Number.isInteger(PACKETS) || PACKETS < 1) throw new Error(`IPS_BENCH_PACKETS must be a positive integer, got ${process.env.IPS_BENCH_PACKETS}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-bench-decode-'));
  try {
    const file = path.join(dir, 'mixed.pcap');
    let t0 = process.hrtime.bigint();
    const size = makeCapture(file, PACKETS);
    console.log(`generated ${PACKETS.toLocaleString('en')} packets, ${mib(size)} in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);

    // (a) reader + decoder over the file
    for (let run = 0; run < 2; run++) {
      const rssStart = process.memoryUsage().rss;
      let rssMax = rssStart;
      let n = 0;
      let tcp = 0;
      let malformed = 0;
      const cpu0 = process.cpuUsage();
      t0 = process.hrtime.bigint();
      for await (const batch of new CaptureFileReader(file)) {
        for (let i = 0; i < batch.length; i++) {
          const r = batch[i];
          const p = decodeRecord(r);
          if (p.proto === 'tcp') tcp++;
          if (p.malformed !== undefined) malformed++;
        }
        n += batch.length;
        const rss = process.memoryUsage().rss;
        if (rss > rssMax) rssMax = rss;
      }
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = cpuSeconds(cpu0);
      if (n !== PACKETS || malformed !== 0) throw new Error(`read ${n} packets (${malformed} malformed), expected ${PACKETS} well-formed`);
      console.log(`(a) reader + decodeRecord, run ${run + 1}: ${rate(n, s)} packets/s wall, ${rate(n, cpu)} per CPU-second, ${(size / MiB / s).toFixed(0)} MiB/s (${tcp} tcp); RSS ${mib(rssStart)} at start, peak ${mib(rssMax)} while reading`);
    }

    // (b) decoder alone over frames in memory (up to 1,000,000 of them)
    // each frame's view made once here: CaptureRecord.data makes a new one per call
    const frames: { data: Buffer; linktype: number; ts: number; len: number }[] = [];
    for await (const batch of new CaptureFileReader(file)) {
      for (const r of batch) if (frames.length < 1_000_000) frames.push({ data: r.data, linktype: r.linktype, ts: r.ts, len: r.len });
      if (frames.length >= 1_000_000) break;
    }
    let sink = 0;
    for (let run = 0; run < 5; run++) {
      const cpu0 = process.cpuUsage();
      t0 = process.hrtime.bigint();
      for (let i = 0; i < frames.length; i++) {
        const r = frames[i];
        sink += decodePacket(r.data, r.linktype, r.ts, r.len).payload.length;
      }
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(`(b) decodePacket alone, pass ${run + 1}: ${rate(frames.length, s)} packets/s wall, ${rate(frames.length, cpuSeconds(cpu0))} per CPU-second`);
    }
    if (sink === 0) throw new Error('decoded no payload');
    console.log(`peak RSS of the process (includes the ${frames.length.toLocaleString('en')} frames held for (b)): ${mib(process.resourceUsage().maxRSS * 1024)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
