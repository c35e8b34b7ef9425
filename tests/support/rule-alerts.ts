/**
 * One alert of every rule of every catalog (flood, scan, the shipped payload
 * rules and user rules, bandwidth, destination policy), each raised by the
 * real engine: the detectors from packets built as bytes and decoded, the
 * bandwidth monitor from device stats, the policy from flows, flow-classify
 * from flow records of flow-meter. With each,
 * who the scenario says is to blame, known from the traffic and not read
 * from the alert: the address iptables-block must block, or null when no
 * single address is (a flood at one target from many sources, an all-clear).
 * The LAN rules blame a MAC: the device that claims addresses not its own.
 */
import type { Alert } from '../../lib/detect/alert';
import type { Packet } from '../../lib/packet/types';
import { decodePacket } from '../../lib/packet/decode';
import { LINKTYPE_RAW } from '../../lib/packet/linktypes';
import { FloodDetector, FLOOD_RULES } from '../../lib/detect/flood';
import { ScanDetector, SCAN_RULES } from '../../lib/detect/scan';
import { defaultRules, PayloadDetector } from '../../lib/detect/payload/detector';
import { BandwidthMonitor, BANDWIDTH_RULES } from '../../lib/net/bandwidth';
import { DestinationPolicy, POLICY_RULES } from '../../lib/net/destination-policy';
import { LanDetector, LAN_RULES } from '../../lib/detect/lan';
import { arpPacket, gratuitousArp } from './lan-frames';
import { ReputationEngine, REPUTATION_RULES, reputationSchema } from '../../lib/net/reputation/engine';
import { GeoIp } from '../../lib/net/geo';
import { defaultsOf } from '../../lib/base/settings';
import { icmp, ipv4, tcp, udp } from '../../bench/support/make-capture';
import { PAYLOAD_CASES } from './payload-samples';
import { FlowMeter } from '../../lib/detect/flow/meter';
import type { FlowRecord } from '../../lib/detect/flow/features';
import { FlowClassifier, ML_RULES } from '../../lib/detect/ml/classifier';
import { Forest } from '../../lib/detect/ml/forest';

export interface RuleCase {
  rule: string;
  alert: Alert;
  /** Who must be blocked for this alert; null: nobody. */
  blame: string | null;
}

const T0 = 1_700_000_000_000;
/** The targets: a LAN server and its neighbours. */
const VIC = '192.0.2.10';
const host = (n: number): string => `192.0.2.${n}`;
/** Attackers, one per scenario; the many sources of a distributed flood. */
const attacker = (n: number): string => `198.51.100.${n}`;
const crowd = (n: number): string => `203.0.113.${n}`;

/** The user rules of the payload scenario: one to the server, one from it (the sender is to blame either way). */
export const USER_RULES = [
  { id: 'user.telnet.root', sid: 9_100_001, name: 'root login over telnet', pattern: 'USER root', proto: 'tcp', ports: 23, direction: 'to-server' },
  { id: 'user.eicar.served', sid: 9_100_002, name: 'test virus served', pattern: 'X5O!P%@AP', proto: 'tcp', ports: 80, direction: 'to-client' },
];

function decoded(ts: number, datagram: Buffer): Packet {
  return decodePacket(datagram, LINKTYPE_RAW, ts, datagram.length);
}

const syn = (ts: number, src: string, dst: string, sport: number, dport: number, flags = 'S'): Packet => decoded(ts, ipv4(src, dst, 6, tcp(sport, dport, flags)));
const echo = (ts: number, src: string, dst: string): Packet => decoded(ts, ipv4(src, dst, 1, icmp(8, 0)));
const datagram = (ts: number, src: string, dst: string): Packet => decoded(ts, ipv4(src, dst, 17, udp(40_000, 9)));

/** Collects a detector's alerts of a wanted rule with the scenario's blame. */
class Cases {
  readonly list: RuleCase[] = [];

  add(rule: string, alerts: readonly Alert[], blame: string | null): void {
    const alert = alerts.find((a) => a.rule === rule);
    if (!alert) throw new Error(`the scenario for ${rule} raised ${alerts.map((a) => a.rule).join(', ') || 'nothing'}`);
    this.list.push({ rule, alert, blame });
  }
}

function floods(c: Cases): void {
  // Low thresholds keep the floods short; the rules are the same.
  const flood = () => new FloodDetector('flood-detect', { icmpSrc: 10, icmpDst: 20, synSrc: 10, synDst: 20, udpSrc: 10, udpDst: 20 });
  const times = (n: number, make: (i: number) => Packet) => Array.from({ length: n }, (_, i) => make(i));
  c.add(FLOOD_RULES.icmpSrc.rule, flood().process(times(15, (i) => echo(T0 + i, attacker(1), VIC))), attacker(1));
  c.add(FLOOD_RULES.icmpDst.rule, flood().process(times(25, (i) => echo(T0 + i, crowd(i + 1), VIC))), null);
  c.add(FLOOD_RULES.synSrc.rule, flood().process(times(15, (i) => syn(T0 + i, attacker(2), VIC, 40_000 + i, 80))), attacker(2));
  c.add(FLOOD_RULES.synDst.rule, flood().process(times(25, (i) => syn(T0 + i, crowd(i + 1), VIC, 40_000, 80))), null);
  c.add(FLOOD_RULES.udpSrc.rule, flood().process(times(15, (i) => datagram(T0 + i, attacker(3), VIC))), attacker(3));
  c.add(FLOOD_RULES.udpDst.rule, flood().process(times(25, (i) => datagram(T0 + i, crowd(i + 1), VIC))), null);
  // Random sources at random targets: only the network as a whole crosses a threshold.
  const network = () => new FloodDetector('flood-detect', { synNet: 20, icmpNet: 20, udpNet: 20 });
  c.add(FLOOD_RULES.synNet.rule, network().process(times(25, (i) => syn(T0 + i, crowd(i + 1), host(100 + i), 40_000, 80))), null);
  c.add(FLOOD_RULES.icmpNet.rule, network().process(times(25, (i) => echo(T0 + i, crowd(i + 1), host(100 + i)))), null);
  c.add(FLOOD_RULES.udpNet.rule, network().process(times(25, (i) => datagram(T0 + i, crowd(i + 1), host(100 + i)))), null);
  // One device (one source MAC) flooding from forged source addresses: its MAC is to blame.
  const perMac = () => new FloodDetector('flood-detect', { synMac: 20, icmpMac: 20, udpMac: 20, macSources: 10 });
  const device = (n: number): string => `02:00:00:00:01:0${n}`;
  const from = (mac: string, p: Packet): Packet => Object.assign(p, { srcMac: mac });
  c.add(FLOOD_RULES.synMac.rule, perMac().process(times(25, (i) => from(device(1), syn(T0 + i, crowd(i + 1), VIC, 40_000, 80)))), device(1));
  c.add(FLOOD_RULES.icmpMac.rule, perMac().process(times(25, (i) => from(device(2), echo(T0 + i, crowd(i + 1), VIC)))), device(2));
  c.add(FLOOD_RULES.udpMac.rule, perMac().process(times(25, (i) => from(device(3), datagram(T0 + i, crowd(i + 1), VIC)))), device(3));
}

function scans(c: Cases): void {
  const ports = (n: number, from: number) => Array.from({ length: n }, (_, i) => from + i);
  const vertical = new ScanDetector('scan-detect');
  c.add(SCAN_RULES.vertical.rule, vertical.process(ports(25, 1000).map((port, i) => syn(T0 + i, attacker(10), VIC, 50_000 + i, port))), attacker(10));
  const sweep = new ScanDetector('scan-detect');
  c.add(SCAN_RULES.horizontal.rule, sweep.process(ports(25, 1).map((n, i) => syn(T0 + i, attacker(11), host(100 + n), 50_000 + i, 8081))), attacker(11));
  const odd: [string, string][] = [[SCAN_RULES.null.rule, ''], [SCAN_RULES.fin.rule, 'F'], [SCAN_RULES.xmas.rule, 'FPU'], [SCAN_RULES.synFin.rule, 'SF'], [SCAN_RULES.badFlags.rule, 'SR']];
  odd.forEach(([rule, flags], k) => c.add(rule, new ScanDetector('scan-detect').process([syn(T0, attacker(20 + k), VIC, 50_000, 80, flags)]), attacker(20 + k)));
  const brute = new ScanDetector('scan-detect');
  c.add(SCAN_RULES.bruteForce.rule, brute.process(ports(12, 0).map((i) => syn(T0 + i, attacker(30), VIC, 50_000 + i, 22))), attacker(30));
  // A prober's SYNs, each answered with RST by the target: counted on the answers, which go to the prober.
  const failures = new ScanDetector('scan-detect', { verticalPorts: 1000 });
  const probes = ports(25, 2000).flatMap((port, i) => [syn(T0 + 2 * i, attacker(31), VIC, 50_000 + i, port), syn(T0 + 2 * i + 1, VIC, attacker(31), port, 50_000 + i, 'RA')]);
  c.add(SCAN_RULES.failures.rule, failures.process(probes), attacker(31));
  const protocols = [2, 4, 41, 47, 50, 51, 89, 103, 112, 132];
  c.add(SCAN_RULES.protocol.rule, new ScanDetector('scan-detect').process(protocols.map((proto, i) => decoded(T0 + i, ipv4(attacker(33), VIC, proto, Buffer.alloc(8))))), attacker(33));
  // TCP headers with a data offset of 0, whole on the wire: a fuzzer's packets.
  const corrupt = (i: number): Packet => {
    const bytes = ipv4(attacker(32), VIC, 6, tcp(50_000 + i, 80, 'S'));
    bytes[20 + 12] = 0;
    return decoded(T0 + i, bytes);
  };
  c.add(SCAN_RULES.malformed.rule, new ScanDetector('scan-detect').process(Array.from({ length: 25 }, (_, i) => corrupt(i))), attacker(32));
}

function payloads(c: Cases): void {
  const detector = new PayloadDetector('payload-match', { rules: JSON.stringify(USER_RULES) });
  const seen = new Set<string>();
  const send = (p: Packet): void => {
    for (const a of detector.process([p])) {
      if (seen.has(a.rule)) continue;
      seen.add(a.rule);
      c.add(a.rule, [a], p.src);
    }
  };
  // Each shipped rule's first sample, each from its own attacker, to the web server.
  defaultRules().forEach((r, k) => send(decoded(T0 + k, ipv4(attacker(50 + k), VIC, 6, tcp(50_000, 80, 'PA', Buffer.from(PAYLOAD_CASES[r.id].hit[0], 'latin1'))))));
  send(decoded(T0 + 100, ipv4(attacker(90), VIC, 6, tcp(50_001, 23, 'PA', Buffer.from('USER root\r\n')))));
  // The server (outside) serves the file to a LAN client: the server sent it.
  send(decoded(T0 + 101, ipv4(attacker(91), host(20), 6, tcp(80, 50_002, 'PA', Buffer.from('HTTP/1.1 200 OK\r\n\r\nX5O!P%@AP[4\\PZX54(P^)7CC)7}')))));
}

function devices(c: Cases): void {
  const device = host(30);
  const monitor = new BandwidthMonitor({ limitBps: 1000, sustainS: 0, clearS: 0 });
  const stats = (rxBps: number) => [{ ip: device, rxBytes: 0, txBytes: 0, rxBps, txBps: 0, flows: 1, lastSeen: T0 }];
  c.add(BANDWIDTH_RULES.limit.rule, monitor.update(stats(5000), T0).alerts, device);
  c.add(BANDWIDTH_RULES.clear.rule, monitor.update(stats(0), T0 + 1000).alerts, null);
  const camera = host(31);
  const policy = new DestinationPolicy({ rules: `${camera} = 192.0.2.0/24` });
  const flow = { proto: 'tcp', src: camera, dst: crowd(200), sport: 40_000, dport: 443, origBytes: 0, origPackets: 0, replyBytes: 0, replyPackets: 0, start: T0 };
  c.add(POLICY_RULES.destination.rule, policy.check([flow], T0), camera);
}

function lan(c: Cases): void {
  const gw = host(1);
  const gwMac = '02:00:00:00:00:01';
  const vicMac = '02:00:00:00:00:10';
  const liar = (n: number): string => `02:00:00:00:00:${60 + n}`;
  const watch = (config: Record<string, unknown> = {}) => new LanDetector('lan-watch', { learnS: 0, ...config });
  const asked = [arpPacket(T0, 1, vicMac, VIC, '', gw), arpPacket(T0 + 1, 2, gwMac, gw, vicMac, VIC)];
  // arpspoof: the victim is told the gateway is at the liar's MAC
  c.add(LAN_RULES.gateway.rule, watch({ gateways: gw }).process([...asked, arpPacket(T0 + 100, 2, liar(1), gw, vicMac, VIC)]), liar(1));
  // the same without the gateway known: two MACs claim one address, and either may be the liar
  c.add(LAN_RULES.conflict.rule, watch().process([...asked, arpPacket(T0 + 100, 2, liar(2), gw, vicMac, VIC)]), null);
  const burst = Array.from({ length: 12 }, (_, i) => arpPacket(T0 + i, 2, liar(3), host(63), vicMac, VIC));
  c.add(LAN_RULES.unsolicited.rule, watch().process(burst), liar(3));
  c.add(LAN_RULES.many.rule, watch().process(Array.from({ length: 8 }, (_, i) => gratuitousArp(T0 + i, liar(4), host(200 + i)))), liar(4));
  // a device joining, and an address whose holder left taken by another device: events, nobody to block
  c.add(LAN_RULES.newDevice.rule, watch().process([gratuitousArp(T0, liar(5), host(65))]), null);
  const moved = watch();
  moved.process([gratuitousArp(T0, vicMac, VIC)]);
  c.add(LAN_RULES.moved.rule, moved.process([gratuitousArp(T0 + 3_600_000, liar(6), VIC)]), null);
}

/**
 * Threat lists: a LAN device reaching a listed address (the listed address is
 * to blame, not the device), a listed address reaching in, and a connection
 * to a watched country (8.8.8.8 is in the US in the shipped DB-IP data).
 */
function reputation(c: Cases): void {
  const settings = { ...defaultsOf(reputationSchema), sources: '[{"name":"c2","url":"/nonexistent/c2.txt","category":"c2"}]', watchCountries: 'US', asn: false };
  const engine = new ReputationEngine('ip-reputation', settings, { userDir: '/nonexistent', refreshed: () => undefined, warn: () => undefined, kernel: () => undefined, geo: GeoIp.openSync() });
  engine.list('c2')?.useText(`${attacker(60)}\n${attacker(61)}\n`);
  const device = host(40);
  c.add(REPUTATION_RULES.outbound.rule, engine.process([syn(T0, device, attacker(60), 40_000, 443)]), attacker(60));
  c.add(REPUTATION_RULES.inbound.rule, engine.process([syn(T0, attacker(61), device, 40_000, 22)]), attacker(61));
  c.add(REPUTATION_RULES.country.rule, engine.process([syn(T0, device, '8.8.8.8', 40_000, 443)]), '8.8.8.8');
}

function flowModels(c: Cases): void {
  // A one-split model: a flow answered by its target is a 'scan' (an attacker class: offender named), one never answered a 'flood' (spoofable: none).
  const forest = new Forest({ format: 'ips-forest', version: 1, features: ['Total Bwd packets'], classes: ['benign', 'scan', 'flood'], voting: 'hard', malicious: ['scan', 'flood'], offender: ['scan'], trees: [{ nodes: [{ feature: 0, threshold: 0.5, left: 1, right: 2 }, { value: [0, 0, 1] }, { value: [0, 1, 0] }] }] });
  const model = { kind: 'rule test model', forest, features: forest.features, classes: forest.classes, malicious: forest.malicious, offender: forest.offender, predictBatch: () => Promise.resolve([]) };
  const judge = (packets: Packet[]): Alert[] => {
    const meter = new FlowMeter();
    const records: FlowRecord[] = [];
    meter.process(packets, records);
    meter.flush(records);
    const alerts: Alert[] = [];
    FlowClassifier.withModel('flow-classify', model).judgeSync(records, alerts);
    return alerts;
  };
  c.add(ML_RULES.source.rule, judge([syn(T0, attacker(40), VIC, 50_000, 23), syn(T0 + 1, VIC, attacker(40), 23, 50_000, 'RA')]), attacker(40));
  c.add(ML_RULES.flow.rule, judge([syn(T0, crowd(7), VIC, 50_001, 80)]), null);
}

/** Every rule's alert, from the engines, with who is to blame. */
export function everyRuleAlert(): RuleCase[] {
  const c = new Cases();
  floods(c);
  scans(c);
  payloads(c);
  devices(c);
  lan(c);
  reputation(c);
  flowModels(c);
  return c.list;
}

/** The ids of every rule of every catalog (the user rules included). */
export function everyRuleId(): string[] {
  const catalogs = [FLOOD_RULES, SCAN_RULES, BANDWIDTH_RULES, POLICY_RULES, LAN_RULES, REPUTATION_RULES, ML_RULES].flatMap((r) => Object.values(r).map((i) => i.rule));
  return [...catalogs, ...defaultRules().map((r) => r.id), ...USER_RULES.map((r) => r.id)];
}
