import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oddFlagBitsRule, ScanDetector } from '../../../lib/detect/scan';
import { tcpFlagBits } from '../../../lib/packet/tcp-flags';
import type { Alert } from '../../../lib/detect/alert';
import type { Packet } from '../../../lib/packet/types';
import { echoPkt, pkt, tcpPkt, udpPkt } from '../../support/packets';
import { decodePacket } from '../../../lib/packet/decode';
import { LINKTYPE_RAW } from '../../../lib/packet/linktypes';
import { ipv4, tcp } from '../../../bench/support/make-capture';
import type { BoundedTable } from '../../../lib/detect/table';

const ATK = '10.9.0.66';
const VIC = '10.9.0.1';
const rules = (alerts: Alert[]) => [...new Set(alerts.map((a) => a.rule))].sort();

/** nmap-like SYN scan of `ports` at `gapMs` per probe; closed ports answer RST-ACK. */
function synScan(ports: number[], t0: number, gapMs: number, flags = 'S', src = ATK, dst = VIC): Packet[] {
  const out: Packet[] = [];
  ports.forEach((port, i) => {
    const t = t0 + i * gapMs;
    out.push(tcpPkt(t, src, dst, 45678, port, flags), tcpPkt(t + 0.1, dst, src, port, 45678, 'RA'));
  });
  return out;
}
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('vertical SYN scan at default speed raises scan.vertical with the scanner and the ports as evidence', () => {
  const d = new ScanDetector('sd');
  const alerts = d.process(synScan(range(1, 100), 1000, 0.05));
  const v = alerts.filter((a) => a.rule === 'scan.vertical');
  assert.equal(v.length, 1);
  assert.equal(v[0].src, ATK);
  assert.equal(v[0].dst, VIC);
  assert.equal(v[0].sid, 1000101);
  assert.match(v[0].evidence ?? '', /^ports 1,2,3,/);
  assert.match(v[0].reason, /more than 20 distinct tcp ports on 10\.9\.0\.1 in 60 s; 2\d answered with RST/);
  assert.ok(alerts.some((a) => a.rule === 'scan.failures' && a.src === ATK), 'RST answers count against the scanner');
});

test('slow (-T2-like, one probe per 0.4 s) scan of 40 ports trips within the window', () => {
  const d = new ScanDetector('sd');
  const alerts = d.process(synScan(range(1, 40), 1000, 400));
  const v = alerts.find((a) => a.rule === 'scan.vertical');
  assert.ok(v);
  assert.ok(v.ts - 1000 <= 20 * 400 + 1, `tripped at +${v.ts - 1000} ms`);
});

test('probes slower than the window allows stay below threshold', () => {
  const d = new ScanDetector('sd', { verticalPorts: 20, windowS: 60 });
  // one probe every 5 s: at most 12 in any 60 s window
  assert.deepEqual(rules(d.process(synScan(range(1, 50), 1000, 5000))), []);
});

test('NULL, FIN, XMAS, SYN+FIN and other impossible flags: one packet is enough', () => {
  const cases: Array<[string, string]> = [['', 'scan.null'], ['F', 'scan.fin'], ['FPU', 'scan.xmas'], ['FS', 'scan.synfin'], ['FSRPAU', 'scan.synfin'], ['SR', 'scan.badflags'], ['P', 'scan.badflags'], ['FP', 'scan.badflags']];
  for (const [flags, rule] of cases) {
    const d = new ScanDetector('sd');
    const alerts = d.process([tcpPkt(1000, ATK, VIC, 40000, 80, flags)]);
    assert.deepEqual(alerts.map((a) => a.rule), [rule], `flags '${flags}'`);
    assert.equal(alerts[0].src, ATK);
  }
  for (const flags of ['S', 'SA', 'A', 'PA', 'FA', 'FPA', 'R', 'RA', 'SEC', 'PAU', 'RPA']) assert.equal(oddFlagBitsRule(tcpFlagBits(flags)), null, `flags '${flags}' are legitimate`);
  const off = new ScanDetector('sd', { oddFlags: false });
  assert.deepEqual(off.process([tcpPkt(1000, ATK, VIC, 40000, 80, 'FPU')]), []);
});

test('NULL scan of many ports: one alert, the rest suppressed and counted', () => {
  const d = new ScanDetector('sd', { verticalPorts: 0, failures: 0 });
  const alerts = d.process(synScan(range(1, 500), 1000, 0.05, ''));
  assert.deepEqual(alerts.map((a) => a.rule), ['scan.null']);
  assert.equal(d.stats.suppressed, 499);
  const summary = d.process([tcpPkt(200_000, '10.9.0.9', VIC, 1, 80, 'S')]);
  assert.deepEqual(summary.map((a) => [a.rule, a.count]), [['scan.null', 499]]);
});

test('UDP scan (-sU): requests to many ports caught; replies from a server to client ports are not probes', () => {
  const d = new ScanDetector('sd');
  const probes: Packet[] = [];
  range(1, 40).forEach((port, i) => {
    probes.push(udpPkt(1000 + i * 10, ATK, VIC, 61000, port));
    probes.push(pkt({ ts: 1000 + i * 10 + 0.1, src: VIC, dst: ATK, proto: 'icmp', icmpType: 3, icmpCode: 3 }));
  });
  const alerts = d.process(probes);
  assert.equal(alerts.find((a) => a.rule === 'scan.vertical')?.src, ATK);
  // DNS server answering one client from port 53 to 100 different client ports
  const dns = new ScanDetector('sd');
  const replies = range(0, 99).map((i) => udpPkt(1000 + i, '10.9.0.53', '10.9.0.7', 53, 30000 + i * 7));
  assert.deepEqual(dns.process(replies), []);
});

test('horizontal sweep of one port over unanswered hosts raises scan.horizontal; answered targets do not count', () => {
  const d = new ScanDetector('sd');
  const sweep = range(1, 30).map((h) => tcpPkt(1000 + h * 10, ATK, `10.9.1.${h}`, 45678, 22, 'S'));
  const h = d.process(sweep).filter((a) => a.rule === 'scan.horizontal');
  assert.equal(h.length, 1);
  assert.equal(h[0].src, ATK);
  assert.equal(h[0].dport, 22);
  assert.match(h[0].evidence ?? '', /^hosts 10\.9\.1\.1,/);
  // a browser opening connections to 30 web servers that answer: nothing
  const b = new ScanDetector('sd');
  const browsing: Packet[] = [];
  range(1, 30).forEach((i) => {
    const t = 1000 + i * 10;
    const server = `192.0.2.${i}`;
    browsing.push(tcpPkt(t, '10.9.0.7', server, 50000 + i, 443, 'S'), tcpPkt(t + 5, server, '10.9.0.7', 443, 50000 + i, 'SA'), tcpPkt(t + 6, '10.9.0.7', server, 50000 + i, 443, 'A'));
  });
  assert.deepEqual(b.process(browsing), []);
});

test('ping sweep is a horizontal scan of ICMP echo', () => {
  const d = new ScanDetector('sd');
  const alerts = d.process(range(1, 30).map((h) => echoPkt(1000 + h, ATK, `10.9.1.${h}`)));
  assert.equal(alerts.find((a) => a.rule === 'scan.horizontal')?.src, ATK);
});

test('repeated connections to SSH raise scan.bruteforce; to a web port they do not', () => {
  const d = new ScanDetector('sd');
  const ssh: Packet[] = [];
  const web: Packet[] = [];
  for (let i = 0; i < 15; i++) {
    const t = 1000 + i * 2000;
    ssh.push(tcpPkt(t, ATK, VIC, 40000 + i, 22, 'S'), tcpPkt(t + 1, VIC, ATK, 22, 40000 + i, 'SA'), tcpPkt(t + 2, ATK, VIC, 40000 + i, 22, 'A'));
    web.push(tcpPkt(t, '10.9.0.7', VIC, 40000 + i, 8443, 'S'), tcpPkt(t + 1, VIC, '10.9.0.7', 8443, 40000 + i, 'SA'), tcpPkt(t + 2, '10.9.0.7', VIC, 40000 + i, 8443, 'A'));
  }
  const alerts = d.process(ssh);
  assert.deepEqual(rules(alerts), ['scan.bruteforce']);
  assert.equal(alerts[0].src, ATK);
  assert.equal(alerts[0].offender, ATK);
  assert.equal(alerts[0].dport, 22);
  assert.match(alerts[0].reason, /11 connection attempts from 10\.9\.0\.66 to 10\.9\.0\.1 port 22 in 60 s \(threshold 10\)/);
  assert.deepEqual(d.process(web), []);
  d.configure({ bruteForcePorts: '8443' });
  d.reset();
  assert.deepEqual(rules(d.process(web.map((p) => ({ ...p, ts: p.ts + 100_000 })))), ['scan.bruteforce']);
});

test('an allowlisted scanner never alerts, but an allowlisted victim\'s answers still count against an outside scanner', () => {
  const d = new ScanDetector('sd', { allowlist: '10.9.0.66/32' });
  assert.deepEqual(d.process(synScan(range(1, 100), 1000, 1)), []);
  const lan = new ScanDetector('sd', { allowlist: '10.9.0.0/24', verticalPorts: 0 });
  const alerts = lan.process(synScan(range(1, 100), 1000, 1, 'S', '192.0.2.66', VIC));
  const failures = alerts.find((a) => a.rule === 'scan.failures');
  assert.equal(failures?.src, '192.0.2.66');
  // counted on the answers going to the scanner: the packets' destination is the offender, never the answering victim
  assert.equal(failures?.offender, '192.0.2.66');
});

test('inline drop: a scanner is dropped once detected, its earlier packets pass, the victim\'s answers are not dropped', () => {
  const d = new ScanDetector('sd', { action: 'drop', failures: 0 });
  const packets = synScan(range(1, 60), 1000, 1);
  d.process(packets);
  const probes = packets.filter((p) => p.src === ATK);
  assert.equal(probes.slice(0, 20).filter((p) => p.verdict === 'drop').length, 0);
  assert.ok(probes.slice(20).every((p) => p.verdict === 'drop'));
  assert.ok(packets.filter((p) => p.src === VIC).every((p) => p.verdict === undefined));
});

test('config refusal keeps the old settings; bad ports are named', () => {
  const d = new ScanDetector('sd');
  assert.throws(() => d.configure({ verticalPorts: 5, bruteForcePorts: '22, ssh' }), /bruteForcePorts: 'ssh' is not a port/);
  assert.equal(d.settings.verticalPorts, 20);
  assert.deepEqual(d.settings.bruteForcePorts.slice(0, 3), [21, 22, 23]);
});

test('eviction: a sweep from many sources keeps tables at the cap and counts evictions', () => {
  const d = new ScanDetector('sd', { maxTracked: 100 });
  const packets: Packet[] = [];
  for (let i = 0; i < 5000; i++) packets.push(tcpPkt(1000 + i, `10.8.${i >> 8}.${i & 255}`, VIC, 40000, 80, 'S'));
  d.process(packets);
  // two tables (ports per pair, hosts per port) each keep 100 of 5000 sources; SYNs do not enter the connection table
  assert.equal(d.stats.evictions, 2 * 4900);
});

test('the scan tables\' eviction order is exact to a tenth of the window, following settings changes', () => {
  const d = new ScanDetector('sd');
  const tables = (d as unknown as { windowTables: BoundedTable<number, unknown>[] }).windowTables;
  assert.equal(tables.length, 7);
  for (const t of tables) assert.equal(t.reorderMs, 6000);
  d.configure({ windowS: 5 });
  for (const t of tables) assert.equal(t.reorderMs, 500);
});

test('flag rules from bits agree with the letter rules for all 256 flag combinations', () => {
  // The rules by letters, as documented: FIN/PSH/URG need ACK; SYN with FIN or RST never happens.
  const byLetters = (flags: string): string | null => {
    const has = (c: string) => flags.includes(c);
    const [f, s, r, p, a, u] = ['F', 'S', 'R', 'P', 'A', 'U'].map(has);
    if (!f && !s && !r && !p && !a && !u) return 'scan.null';
    if (s && f) return 'scan.synfin';
    if (s && r) return 'scan.badflags';
    if (!a && f && p && u) return 'scan.xmas';
    if (!a && f && !s && !r && !p && !u) return 'scan.fin';
    if (!a && (f || p || u)) return 'scan.badflags';
    return null;
  };
  for (let bits = 0; bits < 256; bits++) {
    const flags = [...'FSRPAUEC'].filter((_, i) => bits & (1 << i)).join('');
    assert.equal(tcpFlagBits(flags), bits);
    assert.equal(oddFlagBitsRule(bits)?.rule ?? null, byLetters(flags), `flags '${flags}'`);
  }
});

/** A TCP packet from `src` as decoded from the wire with its data offset zeroed (flags readable, header not): what a fuzzer sends. */
function corruptTcp(ts: number, src: string, dport: number, cutBy = 0): Packet {
  const bytes = ipv4(src, VIC, 6, tcp(40_000, dport, ''));
  bytes[20 + 12] = 0;
  return decodePacket(bytes.subarray(0, bytes.length - cutBy), LINKTYPE_RAW, ts, bytes.length);
}

test('a malformed packet raises no flag or scan rule from fields it could not read; many from one source raise decode.malformed', () => {
  const one = corruptTcp(1000, ATK, 80);
  assert.match(one.malformed ?? '', /TCP data offset 0/);
  assert.equal(one.flags, '', 'the flag byte was read: a NULL scan to a reader that trusted it');
  const d = new ScanDetector('sd');
  assert.deepEqual(d.process([one]), [], 'not scan.null');
  const alerts = d.process(Array.from({ length: 25 }, (_, i) => corruptTcp(2000 + i, ATK, 1000 + i)));
  assert.deepEqual(alerts.map((a) => [a.rule, a.severity, a.offender]), [['decode.malformed', 'low', ATK]], 'no scan.vertical from the ports either');
  assert.match(alerts[0].reason, /21 malformed packets from 10\.\S+ in 60 s \(threshold 20\); the last: TCP data offset 0/);
});

test('packets cut short by the capture (snaplen) are not counted as malformed', () => {
  const d = new ScanDetector('sd');
  const cut = Array.from({ length: 25 }, (_, i) => corruptTcp(1000 + i, ATK, 80, 10));
  assert.ok(cut.every((p) => p.malformed !== undefined && p.src === ATK && p.caplen < p.len));
  assert.deepEqual(d.process(cut), []);
});

/** A bare IP packet of protocol `proto` from `src` to the victim, as decoded from the wire. */
function rawIp(ts: number, src: string, proto: number): Packet {
  const bytes = ipv4(src, VIC, proto, Buffer.alloc(8));
  return decodePacket(bytes, LINKTYPE_RAW, ts, bytes.length);
}

test('many IP protocols probed on one host are a protocol scan; the few a host uses (GRE, ESP, IGMP) are not', () => {
  const d = new ScanDetector('sd');
  const everyday = [47, 50, 2].flatMap((proto, i) => Array.from({ length: 20 }, (_, k) => rawIp(1000 + i * 100 + k, '10.9.0.5', proto)));
  assert.deepEqual(d.process(everyday), []);
  const probes = Array.from({ length: 12 }, (_, i) => rawIp(5000 + i, ATK, [2, 4, 41, 47, 50, 51, 89, 103, 112, 132, 136, 137][i]));
  const alerts = d.process(probes);
  assert.deepEqual(alerts.map((a) => [a.rule, a.severity, a.offender]), [['scan.protocol', 'medium', ATK]]);
  assert.match(alerts[0].reason, /sent more than 8 distinct IP protocols to 10\.9\.0\.1 in 60 s/);
  assert.match(alerts[0].evidence ?? '', /^protocols 2,4,41,47,50,51,89,103,112/);
});

/** nmap -sA/-sW (flags 'A') or -sM ('FA'): packets of no connection to each port, every one answered with a bare RST. */
function ackScan(ports: number[], t0: number, gapMs: number, flags: string): Packet[] {
  return ports.flatMap((port, i) => [tcpPkt(t0 + i * gapMs, ATK, VIC, 51234, port, flags), tcpPkt(t0 + i * gapMs + 0.1, VIC, ATK, port, 51234, 'R')]);
}

for (const [label, flags] of [['ACK / Window (nmap -sA, -sW)', 'A'], ['Maimon (nmap -sM)', 'FA']]) {
  test(`${label} scan: packets of no known connection are probes, their RSTs failures; the scanner is named`, () => {
    const d = new ScanDetector('sd');
    const alerts = d.process(ackScan(range(1, 100), 1000, 1, flags));
    assert.deepEqual(rules(alerts), ['scan.failures', 'scan.vertical']);
    assert.ok(alerts.every((a) => a.offender === ATK && a.src === ATK));
    assert.match(alerts.find((a) => a.rule === 'scan.vertical')!.reason, /probed more than 20 distinct tcp ports on 10\.9\.0\.1/);
    // at -T2 (one probe every 0.4 s) as well
    d.reset();
    assert.deepEqual(rules(d.process(ackScan(range(1, 40), 1000, 400, flags))), ['scan.failures', 'scan.vertical']);
    // without connection tracking they are not probes
    d.reset();
    d.configure({ trackConnections: false });
    assert.deepEqual(d.process(ackScan(range(1, 100), 1000, 1, flags)), []);
  });
}

test('connection tracking: packets of connections whose handshake was seen, or that were open when the capture started, are no scan', () => {
  const d = new ScanDetector('sd');
  const packets: Packet[] = [];
  // 15 connections to 15 services of one server (20 ports is the scan threshold), handshake seen, data both ways, then closed
  range(1, 15).forEach((port, i) => {
    const t = 1000 + i * 10;
    const cport = 40000 + i;
    packets.push(tcpPkt(t, ATK, VIC, cport, port, 'S'), tcpPkt(t + 1, VIC, ATK, port, cport, 'SA'), tcpPkt(t + 2, ATK, VIC, cport, port, 'A'),
      tcpPkt(t + 3, ATK, VIC, cport, port, 'PA'), tcpPkt(t + 4, VIC, ATK, port, cport, 'PA'), tcpPkt(t + 5, ATK, VIC, cport, port, 'FA'), tcpPkt(t + 6, VIC, ATK, port, cport, 'FA'));
  });
  // open when the capture started: a client with 40 connections to one server's port 443, and 30 servers' answers to it
  range(1, 40).forEach((i) => packets.push(tcpPkt(2000 + i, '10.9.0.5', VIC, 50000 + i, 443, 'PA'), tcpPkt(2000.5 + i, VIC, '10.9.0.5', 443, 50000 + i, 'A')));
  range(1, 30).forEach((i) => packets.push(tcpPkt(3000 + i, `10.9.1.${i}`, '10.9.0.5', 443, 40000 + i, 'PA')));
  assert.deepEqual(d.process(packets), []);
  assert.equal(d.stats.evictions, 0);
});

test('a SYN flood at a closed port draws thousands of RSTs from one port: not scan.failures', () => {
  const d = new ScanDetector('sd');
  const packets = range(1, 3000).flatMap((i) => [tcpPkt(1000 + i * 0.1, ATK, VIC, 1024 + i, 80, 'S'), tcpPkt(1000 + i * 0.1 + 0.05, VIC, ATK, 80, 1024 + i, 'RA')]);
  assert.deepEqual(d.process(packets), []);
});
