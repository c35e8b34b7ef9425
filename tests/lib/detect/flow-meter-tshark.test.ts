/**
 * flow-meter against a second computation: tshark dissects a capture made
 * with real tools (tests/fixtures/lab-eth.pcap: curl, nmap, hping3 in
 * namespaces), and a plain script here groups its packets into flows by the
 * same rules (5-tuple both ways; ended by RST or FIN from both ends; later
 * packets absorbed until a new SYN) and computes the features naively
 * (arrays, two-pass statistics). Every TCP and UDP flow must agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FlowMeter } from '../../../lib/detect/flow/meter';
import type { FlowRecord } from '../../../lib/detect/flow/features';
import { FileSource } from '../../../lib/capture/file-source';
import { packageRoot } from '../../support/red-runtime';
import { toolMissing } from '../../support/netns';

const CAPTURE = path.join(packageRoot, 'tests', 'fixtures', 'lab-eth.pcap');

interface Pkt {
  t: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  len: number;
  hdr: number;
  flags: number;
  win: number;
}

const mean = (v: number[]): number => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0);
const std = (v: number[]): number => {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / (v.length - 1));
};
const gaps = (t: number[]): number[] => t.slice(1).map((x, i) => x - t[i]);

/** The features this script computes for a flow's packets (forward = the first packet's sender). */
function naive(ps: Pkt[]): Record<string, number> {
  const fwd = ps.filter((p) => p.src === ps[0].src && p.sport === ps[0].sport);
  const bwd = ps.filter((p) => !(p.src === ps[0].src && p.sport === ps[0].sport));
  const us = (p: Pkt): number => p.t * 1e6;
  const iat = gaps(ps.map(us));
  const fiat = gaps(fwd.map(us));
  const len = (a: Pkt[]): number[] => a.map((p) => p.len);
  return {
    'Flow Duration': us(ps[ps.length - 1]) - us(ps[0]),
    'Total Fwd Packet': fwd.length,
    'Total Bwd packets': bwd.length,
    'Total Length of Fwd Packet': len(fwd).reduce((a, b) => a + b, 0),
    'Total Length of Bwd Packet': len(bwd).reduce((a, b) => a + b, 0),
    'Fwd Packet Length Max': Math.max(...len(fwd)),
    'Fwd Packet Length Mean': mean(len(fwd)),
    'Fwd Packet Length Std': std(len(fwd)),
    'Packet Length Std': std(len(ps)),
    'Flow IAT Mean': mean(iat),
    'Flow IAT Std': std(iat),
    'Flow IAT Max': iat.length ? Math.max(...iat) : 0,
    'Fwd IAT Total': fiat.reduce((a, b) => a + b, 0),
    'Fwd IAT Std': std(fiat),
    'Fwd Header Length': fwd.reduce((a, p) => a + p.hdr, 0),
    'Bwd Header Length': bwd.reduce((a, p) => a + p.hdr, 0),
    'SYN Flag Count': ps.filter((p) => p.flags & 2).length,
    'ACK Flag Count': ps.filter((p) => p.flags & 16).length,
    'FWD Init Win Bytes': fwd[0].win,
    'Bwd Init Win Bytes': bwd.length ? bwd[0].win : 0,
  };
}

async function tsharkFlows(): Promise<Map<string, Record<string, number>>> {
  const fields = ['frame.time_epoch', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'tcp.len', 'udp.length', 'tcp.flags', 'tcp.hdr_len', 'tcp.window_size_value'];
  const { stdout } = await promisify(execFile)('tshark', ['-r', CAPTURE, '-Y', '(tcp or udp) and not icmp and not icmpv6 and not (ip.flags.mf == 1 or ip.frag_offset > 0)', '-T', 'fields', '-E', 'separator=,', ...fields.flatMap((f) => ['-e', f])], { maxBuffer: 1 << 28 });
  const open = new Map<string, { ps: Pkt[]; fin: Set<string>; closed: boolean }>();
  const done = new Map<string, Record<string, number>>();
  for (const line of stdout.trim().split('\n')) {
    const [t, src4, dst4, src6, dst6, ts, td, us, ud, tlen, ulen, flags, hlen, win] = line.split(',');
    const src = src4 || src6;
    const dst = dst4 || dst6;
    const tcp = ts !== '';
    const p: Pkt = { t: Number(t), src, dst, sport: Number(tcp ? ts : us), dport: Number(tcp ? td : ud), len: tcp ? Number(tlen) : Number(ulen) - 8, hdr: tcp ? Number(hlen) : 8, flags: tcp ? Number(flags) : 0, win: tcp ? Number(win) : 0 };
    const ends = [`${src}|${p.sport}`, `${dst}|${p.dport}`].sort();
    const key = `${tcp ? 6 : 17}|${ends.join('|')}`;
    let f = open.get(key);
    if (f?.closed) {
      if ((p.flags & 0x12) !== 0x02) continue; // absorbed by the closed flow
      f = undefined;
    }
    if (!f) {
      f = { ps: [], fin: new Set(), closed: false };
      open.set(key, f);
    }
    f.ps.push(p);
    const end = (): void => {
      f!.closed = true;
      done.set(`${f!.ps[0].src}-${f!.ps[0].dst}-${f!.ps[0].sport}-${f!.ps[0].dport}@${f!.ps[0].t.toFixed(6)}`, naive(f!.ps));
    };
    if (p.flags & 4) end();
    else if (p.flags & 1) {
      f.fin.add(`${src}|${p.sport}`);
      if (f.fin.size === 2) end();
    }
  }
  for (const f of open.values()) if (!f.closed) done.set(`${f.ps[0].src}-${f.ps[0].dst}-${f.ps[0].sport}-${f.ps[0].dport}@${f.ps[0].t.toFixed(6)}`, naive(f.ps));
  return done;
}

test('flow features of a real capture agree with a naive computation from tshark\'s dissection', async (t) => {
  const missing = await toolMissing('tshark');
  if (missing) return t.skip(missing);
  const meter = new FlowMeter({ idleTimeoutS: 3600, activeTimeoutS: 3600 });
  const records: FlowRecord[] = [];
  await new FileSource({ path: CAPTURE, mode: 'analyze', speed: 1, batch: { maxItems: 512, maxDelayMs: 0 } }).run((b) => meter.process(b, records));
  meter.flush(records);
  const ours = new Map(records.filter((r) => r.proto === 'tcp' || r.proto === 'udp').map((r) => [`${r.src}-${r.dst}-${r.sport}-${r.dport}@${(r.start / 1000).toFixed(6)}`, r]));
  const theirs = await tsharkFlows();
  assert.ok(theirs.size > 20, `the capture has TCP/UDP flows (${theirs.size})`);
  assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort(), 'the same flows, with the same forward direction and start');
  let checked = 0;
  for (const [key, expected] of theirs) {
    const r = ours.get(key)!;
    for (const [name, value] of Object.entries(expected)) {
      const got = r.features[name as keyof FlowRecord['features']];
      // tshark prints times to the nanosecond, our packet times are doubles in ms: allow 1 µs.
      const tolerance = /IAT|Duration/.test(name) ? 1.5 : 1e-6 * Math.max(1, Math.abs(value));
      assert.ok(Math.abs(got - value) <= tolerance, `${key} ${name}: flow-meter ${got}, tshark-based ${value}`);
      checked++;
    }
  }
  t.diagnostic(`${theirs.size} flows, ${checked} values compared`);
});
