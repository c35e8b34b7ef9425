import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LanDetector, LAN_RULES } from '../../../lib/detect/lan';
import type { Alert } from '../../../lib/detect/alert';
import type { Packet } from '../../../lib/packet/types';
import { arpPacket, dhcpPacket, gratuitousArp, neighbourAdvert, neighbourSolicit } from '../../support/lan-frames';
import { tcpPkt } from '../../support/packets';

const GW = '192.168.1.1';
const GW_MAC = '02:00:00:00:00:01';
const VIC = '192.168.1.20';
const VIC_MAC = '02:00:00:00:00:20';
const ATK_MAC = '02:00:00:00:00:66';
const T0 = 1_700_000_000_000;
const rules = (alerts: Alert[]) => [...new Set(alerts.map((a) => a.rule))].sort();

/** The victim asks for the gateway and the gateway answers: the LAN as it should be. */
function normalLan(t: number): Packet[] {
  return [arpPacket(t, 1, VIC_MAC, VIC, '', GW), arpPacket(t + 1, 2, GW_MAC, GW, VIC_MAC, VIC)];
}

/** arpspoof -t victim gateway: a reply every 2 s telling the victim the gateway is at the attacker. */
function arpspoof(t: number, n: number, claimed = GW): Packet[] {
  return Array.from({ length: n }, (_, i) => arpPacket(t + 2000 * i, 2, ATK_MAC, claimed, VIC_MAC, VIC));
}

test("a MAC claiming the configured gateway's address raises lan.spoof.gateway naming that MAC, never the gateway's", () => {
  const d = new LanDetector('lan', { gateways: GW, learnS: 0 });
  const alerts = d.process([...normalLan(T0), ...arpspoof(T0 + 100, 3)]);
  const gw = alerts.filter((a) => a.rule === 'lan.spoof.gateway');
  assert.equal(gw.length, 1, 'one alert per cooldown');
  assert.equal(gw[0].offender, ATK_MAC);
  assert.equal(gw[0].srcMac, ATK_MAC);
  assert.equal(gw[0].src, GW);
  assert.equal(gw[0].sid, 1000401);
  assert.equal(gw[0].category, 'lan');
  assert.match(gw[0].reason, /02:00:00:00:00:66 claims the gateway's address 192\.168\.1\.1 by ARP; the gateway is 02:00:00:00:00:01/);
});

test('without a gateway setting the same poisoning is a conflict with no offender (both MACs could be the liar)', () => {
  const d = new LanDetector('lan', { learnS: 0 });
  const alerts = d.process([...normalLan(T0), ...arpspoof(T0 + 100, 3)]);
  assert.deepEqual(rules(alerts), ['lan.device.new', 'lan.spoof.conflict']);
  const c = alerts.find((a) => a.rule === 'lan.spoof.conflict')!;
  assert.equal(c.offender, undefined);
  assert.match(c.reason, /02:00:00:00:00:66 claims 192\.168\.1\.1 by ARP while 02:00:00:00:00:01 holds it \(its last claim 0\.1 s ago, within the 300 s hold\)/);
});

test('a gateway given by setGateways with its MAC is defended even when the spoofer speaks first', () => {
  const d = new LanDetector('lan', { learnS: 0 });
  d.setGateways([{ ip: GW, mac: GW_MAC }]);
  const alerts = d.process(arpspoof(T0, 1));
  assert.deepEqual(alerts.filter((a) => a.rule === 'lan.spoof.gateway').map((a) => a.offender), [ATK_MAC]);
});

test("a spoofer's unsolicited replies sent before the gateway ever answered do not make it the gateway", () => {
  const d = new LanDetector('lan', { gateways: GW, learnS: 0 });
  const alerts = d.process([...arpspoof(T0, 2), ...normalLan(T0 + 5000), ...arpspoof(T0 + 6000, 1)]);
  const spoof = alerts.filter((a) => a.rule.startsWith('lan.spoof'));
  // first a conflict (the gateway answers while the spoofer holds the address), then, the gateway known, gateway spoofing
  assert.deepEqual(spoof.map((a) => [a.rule, a.offender ?? null]), [['lan.spoof.conflict', null], ['lan.spoof.gateway', ATK_MAC]]);
  assert.ok(!alerts.some((a) => a.offender === GW_MAC));
});

test('a burst of unsolicited ARP replies raises lan.spoof.unsolicited at the threshold; replies to requests do not count', () => {
  const d = new LanDetector('lan', { learnS: 0, unsolicitedReplies: 5, windowS: 30 });
  // answered requests: the victim asks, the attacker (a normal host at .66) answers, 10 times
  const answered = Array.from({ length: 10 }, (_, i) => [arpPacket(T0 + i * 1000, 1, VIC_MAC, VIC, '', '192.168.1.66'), arpPacket(T0 + i * 1000 + 1, 2, ATK_MAC, '192.168.1.66', VIC_MAC, VIC)]).flat();
  assert.deepEqual(d.process(answered).filter((a) => a.rule.startsWith('lan.spoof')), []);
  const unasked = Array.from({ length: 5 }, (_, i) => arpPacket(T0 + 20_000 + i * 1000, 2, ATK_MAC, '192.168.1.66', VIC_MAC, VIC));
  const alerts = d.process(unasked);
  const u = alerts.filter((a) => a.rule === 'lan.spoof.unsolicited');
  assert.equal(u.length, 1);
  assert.equal(u[0].offender, ATK_MAC);
  assert.equal(u[0].threshold, 5);
  assert.match(u[0].reason, /5 ARP replies from 02:00:00:00:00:66 that no request asked for within 30 s \(threshold 5\)/);
});

test('one MAC claiming more addresses than allowed in the window raises lan.spoof.many with the addresses', () => {
  const d = new LanDetector('lan', { learnS: 0, manyAddresses: 3, unsolicitedReplies: 1000 });
  const alerts = d.process([1, 2, 3, 4].map((n, i) => gratuitousArp(T0 + i, ATK_MAC, `192.168.1.${100 + n}`)));
  const m = alerts.filter((a) => a.rule === 'lan.spoof.many');
  assert.equal(m.length, 1);
  assert.equal(m[0].offender, ATK_MAC);
  assert.equal(m[0].evidence, '192.168.1.101 192.168.1.102 192.168.1.103 192.168.1.104');
  // the same addresses again, spread beyond the window: nothing
  const d2 = new LanDetector('lan', { learnS: 0, manyAddresses: 3, windowS: 10 });
  assert.deepEqual(d2.process([1, 2, 3, 4].map((n, i) => gratuitousArp(T0 + i * 11_000, ATK_MAC, `192.168.1.${100 + n}`))).filter((a) => a.rule === 'lan.spoof.many'), []);
});

test("the gateway's own MAC answering for several addresses (proxy ARP) raises nothing", () => {
  const d = new LanDetector('lan', { gateways: GW, learnS: 0, manyAddresses: 2 });
  const alerts = d.process([...normalLan(T0 - 10), ...[2, 3, 4, 5].map((n) => arpPacket(T0 + n, 2, GW_MAC, `192.168.1.${n}`, VIC_MAC, VIC))]);
  assert.deepEqual(alerts.filter((a) => a.rule.startsWith('lan.spoof')), []);
});

test('a device re-announcing its own address (gratuitous ARP) and renewing its DHCP lease raises nothing', () => {
  const d = new LanDetector('lan', { gateways: GW, learnS: 0 });
  d.process([...normalLan(T0), dhcpPacket(T0 + 5, 5, { clientMac: VIC_MAC, serverMac: GW_MAC, yourIp: VIC })]);
  const later = [gratuitousArp(T0 + 60_000, VIC_MAC, VIC), gratuitousArp(T0 + 61_000, VIC_MAC, VIC),
    dhcpPacket(T0 + 1_800_000, 3, { clientMac: VIC_MAC, clientIp: VIC, hostname: 'laptop' }),
    dhcpPacket(T0 + 1_800_001, 5, { clientMac: VIC_MAC, serverMac: GW_MAC, clientIp: VIC, yourIp: VIC }), ...normalLan(T0 + 1_800_100)];
  assert.deepEqual(d.process(later), []);
  assert.equal(d.device(VIC_MAC)?.hostname, 'laptop');
});

test('a new MAC after the learning period raises lan.device.new with its address and DHCP host name; no offender', () => {
  const d = new LanDetector('lan', { learnS: 60 });
  assert.deepEqual(d.process(normalLan(T0)), [], 'learning');
  const cam = '02:00:00:00:00:31';
  const alerts = d.process([dhcpPacket(T0 + 120_000, 1, { clientMac: cam, hostname: 'cam-1' }), gratuitousArp(T0 + 121_000, cam, '192.168.1.31')]);
  assert.deepEqual(rules(alerts), ['lan.device.new']);
  assert.equal(alerts[0].srcMac, cam);
  assert.equal(alerts[0].offender, undefined);
  assert.equal(alerts[0].evidence, 'hostname cam-1');
  assert.match(alerts[0].reason, /first packet from 02:00:00:00:00:31 .*host name cam-1, after the 60 s learning period/);
});

test('devices on the known list never raise lan.device.new; a reset restarts learning', () => {
  const cam = '02:00:00:00:00:31';
  const d = new LanDetector('lan', { learnS: 0, knownDevices: `${cam.toUpperCase()}, 02-00-00-00-00-32` });
  assert.deepEqual(d.process([gratuitousArp(T0, cam, '192.168.1.31'), gratuitousArp(T0 + 1, '02:00:00:00:00:32', '192.168.1.32')]), []);
  assert.deepEqual(rules(d.process([gratuitousArp(T0 + 2, '02:00:00:00:00:33', '192.168.1.33')])), ['lan.device.new']);
  const learner = new LanDetector('lan', { learnS: 10 });
  learner.process([gratuitousArp(T0, cam, '192.168.1.31')]);
  learner.reset();
  assert.deepEqual(learner.process([gratuitousArp(T0 + 20_000, '02:00:00:00:00:34', '192.168.1.34')]), [], 'learning again after reset');
});

test('an address taken over after its holder went quiet, or assigned by DHCP, is lan.address.moved, not spoofing', () => {
  const d = new LanDetector('lan', { learnS: 0, holdS: 300 });
  const other = '02:00:00:00:00:21';
  d.process([gratuitousArp(T0, VIC_MAC, VIC), gratuitousArp(T0 + 1, other, '192.168.1.21')]);
  const quiet = d.process([gratuitousArp(T0 + 400_000, other, VIC)]);
  assert.deepEqual(rules(quiet), ['lan.address.moved']);
  assert.match(quiet[0].reason, /192\.168\.1\.20 moved from 02:00:00:00:00:20 to 02:00:00:00:00:21 by ARP \(02:00:00:00:00:20 last claimed it 400 s ago\)/);
  assert.equal(quiet[0].offender, undefined);
  const dhcp = d.process([dhcpPacket(T0 + 400_100, 5, { clientMac: VIC_MAC, serverMac: other, yourIp: '192.168.1.21' })]);
  assert.deepEqual(rules(dhcp), ['lan.address.moved']);
});

test('IPv6: an advertisement for an address another MAC holds is a conflict; for the gateway, gateway spoofing', () => {
  const d = new LanDetector('lan', { learnS: 0, gateways: 'fe80::1' });
  const alerts = d.process([
    neighbourSolicit(T0, VIC_MAC, 'fe80::20', 'fe80::1'),
    neighbourAdvert(T0 + 1, GW_MAC, 'fe80::1', 'fe80::1', GW_MAC, 'fe80::20'),
    neighbourAdvert(T0 + 2, '02:00:00:00:00:21', 'fe80::21', 'fe80::21'),
    neighbourAdvert(T0 + 1000, ATK_MAC, 'fe80::66', 'fe80::1'),
    neighbourAdvert(T0 + 1001, ATK_MAC, 'fe80::66', 'fe80::21'),
  ]);
  const spoof = alerts.filter((a) => a.rule.startsWith('lan.spoof'));
  assert.deepEqual(spoof.map((a) => [a.rule, a.src, a.offender ?? null]), [['lan.spoof.gateway', 'fe80::1', ATK_MAC], ['lan.spoof.conflict', 'fe80::21', null]]);
  assert.match(spoof[0].reason, /by neighbour advertisement/);
});

test("the kernel's neighbour table: the gateway's entry changing to another MAC raises lan.spoof.gateway", () => {
  const d = new LanDetector('lan', { learnS: 0, gateways: GW });
  assert.deepEqual(d.observeNeighbours([{ ip: GW, mac: GW_MAC }, { ip: VIC, mac: VIC_MAC }], T0).filter((a) => a.rule.startsWith('lan.spoof')), []);
  const alerts = d.observeNeighbours([{ ip: GW, mac: ATK_MAC }, { ip: VIC, mac: VIC_MAC }], T0 + 10_000);
  const gw = alerts.filter((a) => a.rule === 'lan.spoof.gateway');
  assert.equal(gw.length, 1);
  assert.match(gw[0].reason, /in the kernel's neighbour table/);
  assert.equal(d.stats.alerts >= 1, true);
});

test('ordinary traffic from known devices raises nothing and the device table is bounded, evictions counted', () => {
  const d = new LanDetector('lan', { learnS: 0, maxTracked: 16 });
  const alerts = d.process(Array.from({ length: 40 }, (_, i) => ({ ...tcpPkt(T0 + i, `192.168.1.${i + 2}`, '8.8.8.8', 40000, 443, 'S'), srcMac: `02:00:00:00:01:${(i + 16).toString(16)}` })));
  assert.equal(alerts.length, 40, 'each new MAC is a new device');
  assert.equal(d.deviceCount, 16);
  // the device table's 24, and as many from the cooldowns of their events
  assert.ok(d.stats.evictions >= 24, String(d.stats.evictions));
});

test('rule ids and sids are stable', () => {
  assert.deepEqual(Object.values(LAN_RULES).map((r) => [r.rule, r.sid]), [
    ['lan.spoof.gateway', 1000401], ['lan.spoof.conflict', 1000402], ['lan.spoof.unsolicited', 1000403], ['lan.spoof.many', 1000404],
    ['lan.device.new', 1000410], ['lan.address.moved', 1000411],
  ]);
});
