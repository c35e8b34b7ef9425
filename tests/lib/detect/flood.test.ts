import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FloodDetector } from '../../../lib/detect/flood';
import type { Alert } from '../../../lib/detect/alert';
import type { Packet } from '../../../lib/packet/types';
import { echoPkt, tcpPkt, udpPkt } from '../../support/packets';

const ATK = '10.9.0.66';
const VIC = '10.9.0.1';

function run(d: FloodDetector, packets: Packet[]): Alert[] {
  return d.process(packets);
}
const rules = (alerts: Alert[]) => [...new Set(alerts.map((a) => a.rule))].sort();

test('ICMP echo flood from one source raises flood.icmp.src and flood.icmp.dst with the source', () => {
  const d = new FloodDetector('fd');
  const packets = Array.from({ length: 500 }, (_, i) => echoPkt(1000 + i, ATK, VIC)); // 500 in 0.5 s
  const alerts = run(d, packets);
  assert.deepEqual(rules(alerts), ['flood.icmp.dst', 'flood.icmp.src']);
  const a = alerts.find((x) => x.rule === 'flood.icmp.src')!;
  assert.equal(a.src, ATK);
  assert.equal(a.offender, ATK, 'the flooding source is the one to block');
  assert.equal(alerts.find((x) => x.rule === 'flood.icmp.dst')!.offender, undefined, 'a flood at a target names nobody to block');
  assert.equal(a.sid, 1000001);
  assert.equal(a.threshold, 50);
  assert.match(a.reason, /51 ICMP echo requests from 10\.9\.0\.66 in 1000 ms \(threshold 50\)/);
  assert.equal(a.detector, 'fd');
  assert.equal(a.action, 'alert');
});

test('ordinary ping (1/s) and ICMPv6 ping raise nothing; ICMPv6 flood is caught', () => {
  const d = new FloodDetector('fd');
  assert.deepEqual(run(d, Array.from({ length: 60 }, (_, i) => echoPkt(i * 1000, ATK, VIC))), []);
  const alerts = run(d, Array.from({ length: 200 }, (_, i) => echoPkt(100_000 + i, 'fd00::66', 'fd00::1')));
  assert.deepEqual(rules(alerts), ['flood.icmp.dst', 'flood.icmp.src']);
  assert.equal(alerts.find((a) => a.rule === 'flood.icmp.src')!.src, 'fd00::66');
});

test('SYN flood without handshakes raises flood.syn.src; a fast client completing handshakes does not', () => {
  const d = new FloodDetector('fd');
  // 1000 connections in 1 s, each SYN / SYN-ACK / ACK: legitimate, however fast.
  const benign: Packet[] = [];
  for (let i = 0; i < 1000; i++) {
    const t = 1000 + i;
    benign.push(tcpPkt(t, '10.9.0.5', VIC, 20000 + i, 80, 'S'), tcpPkt(t + 0.1, VIC, '10.9.0.5', 80, 20000 + i, 'SA'), tcpPkt(t + 0.2, '10.9.0.5', VIC, 20000 + i, 80, 'A'));
  }
  assert.deepEqual(run(d, benign), []);
  // Same rate of SYNs that are never completed (answered by SYN-ACK, then the attacker's RST).
  const flood: Packet[] = [];
  for (let i = 0; i < 1000; i++) {
    const t = 5000 + i;
    flood.push(tcpPkt(t, ATK, VIC, 30000 + i, 80, 'S'), tcpPkt(t + 0.1, VIC, ATK, 80, 30000 + i, 'SA'), tcpPkt(t + 0.2, ATK, VIC, 30000 + i, 80, 'R'));
  }
  const alerts = run(d, flood);
  assert.deepEqual(rules(alerts), ['flood.syn.dst', 'flood.syn.src']);
  assert.equal(alerts.find((a) => a.rule === 'flood.syn.src')!.src, ATK);
  assert.equal(alerts.find((a) => a.rule === 'flood.syn.dst')!.dst, VIC);
});

test('retransmitted SYNs of one connection are one half-open connection', () => {
  const d = new FloodDetector('fd', { synSrc: 5, synDst: 0 });
  const packets = Array.from({ length: 50 }, (_, i) => tcpPkt(i, ATK, VIC, 40000, 22, 'S'));
  assert.deepEqual(run(d, packets), []);
});

test('distributed SYN flood from a million spoofed sources: bounded state, alert at the target', () => {
  const d = new FloodDetector('fd', { maxTracked: 10_000 });
  const alerts: Alert[] = [];
  const batch: Packet[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    batch.push(tcpPkt(1_000_000 + i * 0.01, src, VIC, 1024 + (i % 60000), 80, 'S'));
    if (batch.length === 10_000) alerts.push(...run(d, batch.splice(0)));
  }
  const stats = d.stats;
  alerts.push(...run(d, [tcpPkt(3_000_000, '10.200.0.1', '10.200.0.2', 1, 2, 'A')])); // later packet: flushes the suppressed count
  const dst = alerts.filter((a) => a.rule === 'flood.syn.dst');
  assert.ok(dst.length >= 1);
  assert.equal(dst[0].dst, VIC);
  assert.ok(dst.every((a) => a.offender === undefined), 'the last of a million spoofed sources is nobody to block');
  assert.equal(alerts.filter((a) => a.rule === 'flood.syn.src').length, 0, 'one SYN per source is not a per-source flood');
  assert.equal(stats.packets, 1_000_000);
  assert.ok(stats.evictions > 900_000, `evictions ${stats.evictions}`);
  // every hit is counted: emitted alerts' counts + still pending = hits over threshold
  const counted = dst.reduce((n, a) => n + a.count, 0);
  assert.ok(counted > 900_000 && counted <= 1_000_000, `counted ${counted}`);
});

test('UDP flood per source and per target; rules can be turned off with 0', () => {
  const d = new FloodDetector('fd');
  const packets = Array.from({ length: 6000 }, (_, i) => udpPkt(1000 + i * 0.1, ATK, VIC, 5555, 9)); // 6000 in 0.6 s
  assert.deepEqual(rules(run(d, packets)), ['flood.udp.src']);
  d.reset();
  d.configure({ udpSrc: 0 });
  assert.deepEqual(run(d, packets), []);
});

test('suppression: one alert per cooldown with the hits counted; summary when the flood stops', () => {
  const d = new FloodDetector('fd', { cooldownS: 10, icmpDst: 0 });
  const packets = Array.from({ length: 1000 }, (_, i) => echoPkt(1000 + i, ATK, VIC)); // 1000 in 1 s
  const first = run(d, packets);
  assert.equal(first.length, 1);
  assert.equal(first[0].count, 1);
  const stats = d.stats;
  assert.equal(stats.alerts, 1);
  assert.ok(stats.suppressed > 900);
  // much later, any packet flushes the summary of the suppressed hits
  const later = run(d, [echoPkt(60_000, '10.9.0.7', VIC)]);
  assert.equal(later.length, 1);
  assert.equal(later[0].rule, 'flood.icmp.src');
  assert.equal(later[0].count, stats.suppressed);
});

test('allowlisted sources never alert', () => {
  const d = new FloodDetector('fd', { allowlist: '10.9.0.0/24' });
  assert.deepEqual(run(d, Array.from({ length: 500 }, (_, i) => echoPkt(1000 + i, ATK, VIC))), []);
  d.configure({ allowlist: [] });
  assert.notDeepEqual(run(d, Array.from({ length: 500 }, (_, i) => echoPkt(5000 + i, ATK, VIC))), []);
});

test('inline drop: the triggering packet and later packets of the source are dropped while over threshold', () => {
  const d = new FloodDetector('fd', { action: 'drop', icmpDst: 0 });
  const flood = Array.from({ length: 100 }, (_, i) => echoPkt(1000 + i, ATK, VIC));
  const alerts = run(d, flood);
  assert.equal(alerts[0].action, 'drop');
  assert.equal(flood.slice(0, 50).filter((p) => p.verdict === 'drop').length, 0, 'below threshold passes');
  assert.ok(flood.slice(50).every((p) => p.verdict === 'drop'));
  // other traffic of the attacker right after: dropped (source is in dropping state)
  const other = udpPkt(1200, ATK, VIC, 1234, 53);
  const bystander = udpPkt(1200, '10.9.0.8', VIC, 1234, 53);
  run(d, [other, bystander]);
  assert.equal(other.verdict, 'drop');
  assert.equal(bystander.verdict, undefined);
  // after a quiet window the source passes again
  const quiet = udpPkt(5000, ATK, VIC, 1234, 53);
  run(d, [quiet]);
  assert.equal(quiet.verdict, undefined);
  assert.ok(d.stats.dropped >= 51);
});

test('a bad config is refused with the reason and the old settings stay; reset clears state and stats', () => {
  const d = new FloodDetector('fd', { icmpSrc: '20' });
  assert.throws(() => d.configure({ icmpSrc: 10, windowMs: 5, allowlist: 'not-a-net' }), (err: Error) => /windowMs must be >= 100/.test(err.message) && /allowlist/.test(err.message));
  assert.equal(d.settings.icmpSrc, 20);
  assert.equal(d.settings.windowMs, 1000);
  assert.throws(() => new FloodDetector('fd', { synSrc: 'lots' }), /synSrc must be a number/);
  run(d, Array.from({ length: 30 }, (_, i) => echoPkt(1000 + i, ATK, VIC)));
  assert.equal(d.stats.alerts, 1);
  d.reset();
  assert.deepEqual(d.stats, { packets: 0, alerts: 0, dropped: 0, suppressed: 0, evictions: 0 });
  // state is gone: the next 20 packets are below threshold again
  assert.deepEqual(run(d, Array.from({ length: 20 }, (_, i) => echoPkt(1100 + i, ATK, VIC))), []);
});

test('replaying the same packets gives the same alerts (packet time, not wall time)', () => {
  const make = () => Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? echoPkt(1000 + i, ATK, VIC) : udpPkt(1000 + i * 0.1, `10.9.1.${i % 200}`, VIC, 4000, 53)));
  const strip = (as: Alert[]) => as.map((a) => `${a.rule} ${a.src} ${a.count} ${a.ts}`);
  assert.deepEqual(strip(new FloodDetector('a', { udpDst: 500 }).process(make())), strip(new FloodDetector('a', { udpDst: 500 }).process(make())));
});

test('a fast port scan (one SYN to each of 1,000 ports in 1 s) is no SYN flood; a flood on one port is', () => {
  const d = new FloodDetector('fd');
  // nmap -sS -T5: one half-open connection per port, answered RST (closed) or SYN-ACK then the scanner's RST (open)
  const scan = Array.from({ length: 1000 }, (_, i) => [tcpPkt(1000 + i, ATK, VIC, 45678, i + 1, 'S'), tcpPkt(1000.5 + i, VIC, ATK, i + 1, 45678, 'RA')]).flat();
  assert.deepEqual(run(d, scan), []);
  const flood = Array.from({ length: 1000 }, (_, i) => tcpPkt(5000 + i, ATK, VIC, 20000 + i, 80, 'S'));
  const alerts = run(d, flood);
  assert.deepEqual(rules(alerts), ['flood.syn.dst', 'flood.syn.src']);
  assert.match(alerts.find((a) => a.rule === 'flood.syn.src')!.reason, /^101 half-open connections \(SYN without completed handshake\) from 10\.9\.0\.66 to port 80 in 1000 ms \(threshold 100\)$/);
  assert.match(alerts.find((a) => a.rule === 'flood.syn.dst')!.reason, /to 10\.9\.0\.1 port 80 in 1000 ms from any source/);
});

test('floods from random sources at random targets raise the network-wide rules, with no offender', () => {
  const spoofed = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const target = (i: number) => `172.16.${(i * 7) & 255}.${(i * 13) & 255}`;
  const cases: Array<[string, (i: number, t: number) => Packet, number]> = [
    ['flood.syn.net', (i, t) => tcpPkt(t, spoofed(i), target(i), 1024 + (i % 60000), 80, 'S'), 5000],
    ['flood.icmp.net', (i, t) => echoPkt(t, spoofed(i), target(i)), 2000],
    ['flood.udp.net', (i, t) => udpPkt(t, spoofed(i), target(i), 1024 + (i % 60000), 53), 30_000],
  ];
  for (const [rule, make, limit] of cases) {
    const d = new FloodDetector('fd');
    // at the threshold within the window: nothing
    assert.deepEqual(run(d, Array.from({ length: limit }, (_, i) => make(i, 1000 + (i * 999) / limit))), [], rule);
    d.reset();
    const alerts = run(d, Array.from({ length: 2 * limit }, (_, i) => make(i, 1000 + (i * 999) / (2 * limit))));
    assert.deepEqual(rules(alerts), [rule]);
    assert.equal(alerts[0].offender, undefined, 'random sources: nobody to block');
    assert.equal(alerts[0].threshold, limit);
    assert.match(alerts[0].reason, new RegExp(`^${limit + 1} .* over the network in 1000 ms, from any source to any target \\(threshold ${limit}\\); last `));
  }
});

test('the network-wide SYN count takes back connections that complete their handshake', () => {
  const d = new FloodDetector('fd', { synSrc: 0, synDst: 0, synNet: 100 });
  const packets: Packet[] = [];
  for (let i = 0; i < 1000; i++) {
    const client = `10.9.${(i >> 8) & 255}.${i & 255}`;
    packets.push(tcpPkt(1000 + i * 0.5, client, VIC, 30000 + i, 443, 'S'), tcpPkt(1000 + i * 0.5 + 0.2, client, VIC, 30000 + i, 443, 'A'));
  }
  assert.deepEqual(run(d, packets), []);
});

test('one device flooding from forged sources is named by its MAC; a MAC forwarding for few sources, or a device using its own address, is not', () => {
  const DEV = '02:00:00:00:0a:01';
  const GW = '02:00:00:00:0a:fe';
  const forged = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const fromMac = (mac: string, p: Packet): Packet => ({ ...p, srcMac: mac });
  const cases: Array<[string, (i: number, t: number) => Packet, number, number]> = [
    ['flood.syn.mac', (i, t) => tcpPkt(t, forged(i), VIC, 1024 + i, 80, 'S'), 100, 1000010],
    ['flood.icmp.mac', (i, t) => echoPkt(t, forged(i), VIC), 50, 1000011],
    ['flood.udp.mac', (i, t) => udpPkt(t, forged(i), VIC, 1024 + i, 53), 5000, 1000012],
  ];
  for (const [rule, make, limit, sid] of cases) {
    const d = new FloodDetector('fd');
    const alerts = run(d, Array.from({ length: 2 * limit }, (_, i) => fromMac(DEV, make(i, 1000 + (i * 999) / (2 * limit)))));
    const a = alerts.find((x) => x.rule === rule);
    assert.ok(a, `${rule}: ${rules(alerts).join(', ')}`);
    assert.equal(a.offender, DEV, 'the device is the one to block, not its forged sources');
    assert.equal(a.srcMac, DEV);
    assert.equal(a.sid, sid);
    assert.equal(a.threshold, limit);
    assert.match(a.reason, new RegExp(`^\\d+ .* from MAC ${DEV} in 1000 ms, sent from more than 64 source addresses \\(forged; threshold ${limit}\\); last `));
    assert.ok(!alerts.some((x) => x.rule.endsWith('.src')), `${rule}: no forged source is named`);
    // The same rule off: nothing named by MAC.
    const off = new FloodDetector('fd', { synMac: 0, icmpMac: 0, udpMac: 0 });
    assert.ok(!run(off, Array.from({ length: 2 * limit }, (_, i) => fromMac(DEV, make(i, 1000 + (i * 999) / (2 * limit))))).some((x) => x.rule.endsWith('.mac')), `${rule} off`);
  }
  // A gateway's MAC forwarding 300 SYNs a second from 60 internet hosts to 300 LAN ports: no spoofing evidence, no MAC alert.
  const gw = new FloodDetector('fd');
  const forwarded = run(gw, Array.from({ length: 300 }, (_, i) => fromMac(GW, tcpPkt(1000 + i * 3, `198.51.100.${i % 60}`, `192.168.1.${1 + (i % 200)}`, 40_000 + i, 1 + i, 'S'))));
  assert.deepEqual(forwarded.filter((x) => x.rule.endsWith('.mac')), []);
  // Interleaved with a quiet device (one packet of each in turn): each MAC keeps its own count.
  const mixed = new FloodDetector('fd', { icmpSrc: 0, icmpDst: 0, icmpNet: 0 });
  const both = run(mixed, Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? fromMac(DEV, echoPkt(1000 + i, forged(i), VIC)) : fromMac(GW, echoPkt(1000 + i, ATK, VIC)))));
  assert.deepEqual(both.map((a) => [a.rule, a.offender]), [['flood.icmp.mac', DEV]]);
  // Raised at its 65th echo request (the first from more than 64 sources); with the other MAC's counted too it would say about 130.
  assert.match(both[0].reason, /^65 ICMP echo requests from MAC /);
  // A device flooding from its own address: the per-source rule names the address; its MAC used one source.
  const own = new FloodDetector('fd');
  const plain = run(own, Array.from({ length: 200 }, (_, i) => fromMac(DEV, echoPkt(1000 + i, ATK, VIC))));
  assert.deepEqual(rules(plain), ['flood.icmp.dst', 'flood.icmp.src']);
});
