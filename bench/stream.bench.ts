/**
 * TCP reassembly memory under connection floods, through payload-match's
 * engine (lib/, no Node-RED), each scenario in its own process so RSS
 * figures do not mix:
 *  - half-open: 1,000,000 connections that send a SYN, get the SYN-ACK and
 *    never answer (target: RSS < 300 MB), with the default caps and with the
 *    connection cap raised to 1,000,000 (the memory cap then bounds it);
 *  - never-ending: 1,000,000 connections each leaving a hole and 512 held
 *    out-of-order bytes, against the default memory cap.
 * Packets are made on the fly in batches of 256 (reused objects), so the
 * RSS is the engine's. Run: npm run bench stream
 */
import { spawnSync } from 'node:child_process';
import { PayloadDetector } from '../lib/detect/payload/detector';
import type { Packet } from '../lib/packet/types';
import { mib } from './support/measure';

const CONNECTIONS = Number(process.env.IPS_BENCH_CONNECTIONS ?? 1_000_000);
const BATCH = 256;

type Scenario = 'half-open' | 'half-open-1m-cap' | 'never-ending';

function packet(): Packet {
  return { ts: 0, len: 60, caplen: 60, ip: 4, src: '', dst: '192.168.1.80', src4: 0, dst4: (192 << 24) | (168 << 16) | (1 << 8) | 80, proto: 'tcp', sport: 0, dport: 80, flags: '', flagBits: 0, seq: 0, ack: 0, payload: Buffer.alloc(0) };
}

const HELD = Buffer.alloc(512, 0x61);
const EMPTY = Buffer.alloc(0);

function run(scenario: Scenario): void {
  const det = new PayloadDetector('bench', scenario === 'half-open-1m-cap' ? { streamConnections: 1_000_000 } : {});
  const batch = Array.from({ length: BATCH }, packet);
  const perConn = scenario === 'never-ending' ? 3 : 2;
  const rss0 = process.memoryUsage.rss();
  let peak = rss0;
  const t0 = process.hrtime.bigint();
  // 10 µs of packet time per packet: the 3,000,000 packets span 30 s, well within the idle timeout, so every connection is live at the end.
  let ts = 1_700_000_000_000;
  let n = 0;
  for (let c = 0; c < CONNECTIONS; ) {
    let k = 0;
    for (; k + perConn <= BATCH && c < CONNECTIONS; c++) {
      // Client c: 10.x.y.z:port, one distinct address and port per connection.
      const client = (10 << 24) | (c >>> 4);
      const cport = 1024 + (c & 15) * 4000;
      const syn = batch[k++];
      Object.assign(syn, { ts: (ts += 0.01), src4: client, sport: cport, dst4: batch[0].dst4, dport: 80, flags: 'S', flagBits: 0x02, seq: c, ack: 0, payload: EMPTY, verdict: undefined });
      syn.src = '10.0.0.0';
      const synAck = batch[k++];
      Object.assign(synAck, { ts: (ts += 0.01), src4: syn.dst4, sport: 80, dst4: client, dport: cport, flags: 'SA', flagBits: 0x12, seq: 7, ack: c + 1, payload: EMPTY, verdict: undefined });
      if (perConn === 3) {
        // Data after a 100-byte hole: held until the hole is filled, which never happens.
        const data = batch[k++];
        Object.assign(data, { ts: (ts += 0.01), src4: client, sport: cport, dst4: syn.dst4, dport: 80, flags: 'PA', flagBits: 0x18, seq: c + 101, ack: 8, payload: HELD, verdict: undefined });
      }
    }
    det.process(k === BATCH ? batch : batch.slice(0, k));
    n += k;
    if ((c & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage.rss());
  }
  (globalThis as { gc?: () => void }).gc?.();
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  peak = Math.max(peak, process.memoryUsage.rss());
  const s = det.streamStats;
  console.log(`${scenario.padEnd(18)} ${CONNECTIONS.toLocaleString('en')} connections, ${n.toLocaleString('en')} packets in ${wallS.toFixed(1)} s `
    + `(${Math.round(n / wallS).toLocaleString('en')} pkts/s): RSS ${mib(rss0)} → peak ${mib(peak)}, after GC ${mib(process.memoryUsage.rss())}; `
    + `tracked ${s.connections.toLocaleString('en')}, evicted ${s.evictions.toLocaleString('en')}, held ${mib(s.memory)}`);
}

const arg = process.argv[2] as Scenario | undefined;
if (arg) run(arg);
else {
  for (const scenario of ['half-open', 'half-open-1m-cap', 'never-ending'] as const) {
    const r = spawnSync(process.execPath, ['--expose-gc', __filename, scenario], { stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = 1;
  }
}
