/**
 * Scan detection: vertical scans (many ports on one target), horizontal
 * scans (one port on many targets), impossible TCP flag combinations,
 * repeated attempts on one service port (brute force), and failed
 * connections (RST / ICMP unreachable answers) as evidence.
 *
 * ACK, Window and Maimon scans (`nmap -sA`, `-sW`, `-sM`) send ACK or
 * FIN+ACK packets that look like the middle of a connection. The detector
 * tracks TCP connections (`conns`) in a bounded table on packet time, with
 * the eviction and admission rules of the other tables, so a packet with
 * ACK that belongs to no known connection is a probe of its destination
 * port, and the RSTs it draws are failures. A connection enters the table
 * with its first packet with ACK, not with its SYN: the SYN already counted
 * its port, so its handshake's ACK counting the same port again changes no
 * count, and a SYN flood from spoofed sources (no ACKs) costs the table
 * nothing (recording every SYN cost that flood a third of the scan
 * detector's time). Only the client's side is looked up: a packet to a port above
 * its source port (the server answering a client's ephemeral port) is never
 * a probe, which halves the lookups and keeps the server side of
 * connections already open when the capture started from counting as a
 * scan of the client's ports. A connection already open when the capture
 * starts is one probe of one port (its service port), so it cannot add up
 * to a scan; strays count for vertical scans only, not sweeps (a client
 * with connections to 30 servers on port 443 is no sweep).
 *
 * Failures count distinct (target, port) answers: a SYN flood on a closed
 * port draws thousands of RSTs from one port, which is the flood detector's
 * business, not a scan.
 */
import type { Packet } from '../packet/types';
import { admit, RepeatFilter } from './admission';
import { defineRules, packetFields, type PacketFields, type RuleInfo } from './alerts';
import { baseSchema, Detector, type BaseSettings } from './detector';
import { withDefault, type Schema } from '../base/settings';
import { KeyedCounter, KeyedDistinct } from './window';
import { dstKey, keyText, protoCode, srcKey, withPort, type AddrKey } from './keys';
import { BoundedTable } from './table';
import { flagBitsOf, isOpeningSyn, TCP_ACK, TCP_FIN, TCP_FLAG_TEXT, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../packet/tcp-flags';

export const SCAN_RULES = defineRules({
  vertical: { rule: 'scan.vertical', sid: 1000101, signature: 'Port scan: many ports on one host', category: 'scan', severity: 'medium', tracks: 'pair' },
  horizontal: { rule: 'scan.horizontal', sid: 1000102, signature: 'Host sweep: one port on many hosts', category: 'scan', severity: 'medium', tracks: 'src' },
  null: { rule: 'scan.null', sid: 1000103, signature: 'TCP NULL scan (no flags)', category: 'scan', severity: 'medium', tracks: 'src' },
  fin: { rule: 'scan.fin', sid: 1000104, signature: 'TCP FIN scan (FIN without ACK)', category: 'scan', severity: 'medium', tracks: 'src' },
  xmas: { rule: 'scan.xmas', sid: 1000105, signature: 'TCP XMAS scan (FIN+PSH+URG)', category: 'scan', severity: 'medium', tracks: 'src' },
  synFin: { rule: 'scan.synfin', sid: 1000106, signature: 'TCP SYN+FIN (impossible flags)', category: 'scan', severity: 'medium', tracks: 'src' },
  badFlags: { rule: 'scan.badflags', sid: 1000107, signature: 'TCP impossible flag combination', category: 'scan', severity: 'medium', tracks: 'src' },
  bruteForce: { rule: 'scan.bruteforce', sid: 1000108, signature: 'Repeated connection attempts on one service (brute force)', category: 'scan', severity: 'high', tracks: 'pair' },
  failures: { rule: 'scan.failures', sid: 1000109, signature: 'Many failed connection attempts (RST / ICMP unreachable answers)', category: 'scan', severity: 'low', tracks: 'src' },
  malformed: { rule: 'decode.malformed', sid: 1000110, signature: 'Many malformed packets from one source (fuzzing or evasion)', category: 'scan', severity: 'low', tracks: 'src' },
  protocol: { rule: 'scan.protocol', sid: 1000111, signature: 'IP protocol scan: many IP protocols on one host', category: 'scan', severity: 'medium', tracks: 'pair' },
});

export interface ScanSettings extends BaseSettings {
  /** Window for every scan rule, seconds of packet time. */
  windowS: number;
  /** Distinct destination ports from one source to one target in the window; 0 = off. */
  verticalPorts: number;
  /** Distinct targets from one source on one port (not answered positively) in the window; 0 = off. */
  horizontalHosts: number;
  /** Alert on impossible TCP flag combinations (one packet is enough). */
  oddFlags: boolean;
  /** Service ports watched for repeated attempts. */
  bruteForcePorts: number[];
  /** New connections from one source to one service in the window; 0 = off. */
  bruteForceAttempts: number;
  /** RST / ICMP unreachable answers to one source in the window; 0 = off. */
  failures: number;
  /** Distinct IP protocols other than TCP, UDP and ICMP from one source to one target in the window; 0 = off. */
  protocols: number;
  /** Malformed packets (whole on the wire, not cut by the capture) from one source in the window; 0 = off. */
  malformed: number;
  /** Track TCP connections so ACK / FIN+ACK packets of no known connection count as probes (ACK, Window, Maimon scans). */
  trackConnections: boolean;
}

const threshold = { type: 'int', min: 0, max: 65_536 } as const;

/** Home-network defaults: a browser opens a handful of ports per server, a printer discovery sweep a few hosts; nmap's default scan 1,000 ports. */
export const scanSchema: Schema<ScanSettings> = {
  ...baseSchema,
  cooldownS: withDefault(baseSchema.cooldownS, 60),
  windowS: { type: 'number', min: 1, max: 3600, default: 60, unit: 's', label: 'Window', help: 'window of every scan rule, in packet time' },
  verticalPorts: { ...threshold, default: 20, unit: 'ports', label: 'Ports on one host', help: 'distinct destination ports from one source to one target (vertical scan); 0 turns the rule off' },
  horizontalHosts: { ...threshold, default: 20, unit: 'hosts', label: 'Hosts on one port', help: 'distinct targets from one source on one port, not answered positively (host sweep); 0 turns the rule off' },
  oddFlags: { type: 'bool', default: true, label: 'Odd TCP flags', help: 'alert on impossible TCP flag combinations (NULL, FIN, XMAS, SYN+FIN); one packet is enough' },
  bruteForcePorts: { type: 'ports', default: [21, 22, 23, 25, 110, 143, 445, 1433, 3306, 3389, 5432, 5900], label: 'Brute-force ports', help: 'service ports watched for repeated connection attempts' },
  bruteForceAttempts: { ...threshold, default: 10, unit: 'attempts', label: 'Attempts', help: 'new connections from one source to one watched service; 0 turns the rule off' },
  failures: { ...threshold, default: 20, unit: 'answers', label: 'Failed connections', help: 'RST / ICMP unreachable answers to one source, from distinct ports or hosts (a flood at one closed port is not a scan); 0 turns the rule off' },
  protocols: { ...threshold, default: 8, unit: 'protocols', label: 'IP protocols on one host', help: 'distinct IP protocols other than TCP, UDP and ICMP from one source to one target (protocol scan, nmap -sO); a host uses a few (GRE, ESP, IGMP); 0 turns the rule off' },
  malformed: { ...threshold, default: 20, unit: 'packets', label: 'Malformed packets', help: 'packets from one source the decoder could not read (captured whole, so the bytes on the wire were bad); 0 turns the rule off' },
  trackConnections: { type: 'bool', default: true, label: 'Track connections', help: 'track TCP connections, so ACK and FIN+ACK packets of no known connection count as probes (nmap -sA, -sW, -sM); their RST answers count as failures' },
};

/**
 * The flag rule for TCP flag bits (tcp-flags.ts, a packet's `flagBits`), or
 * null when the combination is possible:
 * testing bits costs no string compares (the decoder's flag strings are not
 * internalized, so a switch on them calls a string compare per case).
 */
export function oddFlagBitsRule(bits: number): RuleInfo | null {
  const f = (bits & TCP_FIN) !== 0;
  const s = (bits & TCP_SYN) !== 0;
  const r = (bits & TCP_RST) !== 0;
  const a = (bits & TCP_ACK) !== 0;
  const pu = (bits & (TCP_PSH | TCP_URG)) !== 0;
  if (!f && !s && !r && !pu && !a) return SCAN_RULES.null;
  if (s && f) return SCAN_RULES.synFin;
  if (s && r) return SCAN_RULES.badFlags;
  if (!a && f && (bits & (TCP_PSH | TCP_URG)) === (TCP_PSH | TCP_URG)) return SCAN_RULES.xmas;
  if (!a && f && !s && !r && !pu) return SCAN_RULES.fin;
  // Without ACK only SYN or RST may stand alone; FIN/PSH/URG need an established connection.
  if (!a && (f || pu)) return SCAN_RULES.badFlags;
  return null;
}

/** A TCP packet (flag bits, tcp-flags.ts) that opens or probes a port (SYN without ACK, or a stealth probe without ACK), not an answer. */
function isTcpProbe(bits: number): boolean {
  if (bits & TCP_ACK) return false;
  // A bare RST is the scanner tearing down or an answer, not a probe.
  return bits !== TCP_RST;
}

/**
 * A packet from a client's side rather than a reply: to a well-known port,
 * or to a port not above its source port (replies go back to the client's
 * high ephemeral port). A UDP packet like that is a probe; so is a TCP
 * packet with ACK like that when it belongs to no known connection, while
 * the server's side of a connection is never looked up.
 */
function toServicePort(p: Packet): boolean {
  const dport = p.dport ?? 0;
  return dport < 1024 || dport <= (p.sport ?? 0);
}

/**
 * The destination port of the datagram an ICMP / ICMPv6 error quotes (its
 * payload starts at the quoted IP header), or 0 when it is not there.
 */
function quotedPort(p: Packet): number {
  const q = p.payload;
  const ihl = p.proto === 'icmp' ? (q.length > 0 ? (q[0] & 0x0f) * 4 : 0) : 40;
  return ihl >= 20 && q.length >= ihl + 4 ? (q[ihl + 2] << 8) | q[ihl + 3] : 0;
}

/** RST to the prober, or ICMP/ICMPv6 destination unreachable; `tcpBits`: the flag bits of a TCP packet. */
function isFailureAnswer(p: Packet, tcpBits: number): boolean {
  if (p.proto === 'tcp') return (tcpBits & TCP_RST) !== 0;
  if (p.proto === 'icmp') return p.icmpType === 3;
  if (p.proto === 'icmp6') return p.icmpType === 1;
  return false;
}

const MAX_EVIDENCE_ITEMS = 20;

/** Second key part of a sweep (src, port, proto): the first part is the source's key. */
function sweepLow(port: number, proto: string): number {
  return port * 8 + protoCode(proto);
}

export class ScanDetector extends Detector<ScanSettings> {
  // Keys are two-part numbers (keys.ts): no string built per packet.
  /** Distinct ports per (src, dst): src, withPort(dst). */
  private readonly portsByPair = this.track(new KeyedDistinct<AddrKey>(1).table);
  /** Distinct unanswered targets (address keys) per (src, port, proto): src, sweepLow(port, proto). */
  private readonly hostsByPort = this.track(new KeyedDistinct<AddrKey>(1).table);
  /** New connections per (src, dst, port) on brute-force ports: src, withPort(dst, port). */
  private readonly attempts = this.track(new KeyedCounter<AddrKey>(1).table);
  /** Distinct failure answers (withPort(target, port)) per prober. */
  private readonly failed = this.track(new KeyedDistinct<AddrKey>(1).table);
  /**
   * Known TCP connections (seen with ACK), by the client's side: withPort(client, client port),
   * withPort(server, server port). Twice the cap, as one host opens many (as the flood detector's half-open table).
   */
  private readonly conns = this.track(new BoundedTable<AddrKey, true>(1, () => true, 100), 2);
  /** Connections seen once while `conns` was full (admission.ts). */
  private readonly connSeen = new RepeatFilter();
  /** Distinct other IP protocols per (src, dst): src, withPort(dst). */
  private readonly protocolsByPair = this.track(new KeyedDistinct<AddrKey>(1).table);
  /** Malformed packets per source. */
  private readonly malformedBySrc = this.track(new KeyedCounter<AddrKey>(1).table);
  private bruteForcePorts = new Set<number>(this.settings.bruteForcePorts);
  /** Keys seen once while portsByPair / hostsByPort were full (admission.ts): one-shot spoofed sources get no entry. */
  private readonly pairSeen = new RepeatFilter();
  private readonly sweepSeen = new RepeatFilter();

  /** This detector's own tables, whose eviction order granularity follows the window (`followWindow`). */
  private readonly windowTables = [this.portsByPair, this.hostsByPort, this.attempts, this.failed, this.conns, this.protocolsByPair, this.malformedBySrc];

  constructor(name: string, config: Record<string, unknown> = {}) {
    super(name, scanSchema, config);
    this.followWindow();
  }

  /**
   * Eviction order of the window tables exact to a tenth of the window
   * (table.ts `reorderMs`; 6 s for the default 60 s) rather than 100 ms: an
   * entry evicted up to a tenth of the window early loses little of what
   * its rule counts over the window, and an entry is then moved to the end
   * of the order at most once per 6 s, not on nearly every touch (on the
   * mixed bench capture 1.2 of the 1.6 moves a packet, each a few cache
   * misses). Nothing here ages entries out by their order (`expire`).
   */
  private followWindow(): void {
    const reorderMs = this.windowMs / 10;
    for (const t of this.windowTables) t.reorderMs = reorderMs;
  }

  protected override stateCleared(): void {
    this.pairSeen.clear();
    this.sweepSeen.clear();
    this.connSeen.clear();
  }

  protected override settingsChanged(): void {
    this.bruteForcePorts = new Set<number>(this.settings.bruteForcePorts);
    this.followWindow();
  }

  protected inspect(p: Packet): void {
    // Fields after the point where decoding stopped cannot be trusted (a TCP data offset of 0 still has its flag byte): no flag or scan rule on them.
    if (p.malformed !== undefined) {
      this.malformedPacket(p);
      return;
    }
    const proto = p.proto;
    if (proto === 'tcp') {
      const bits = flagBitsOf(p);
      if (bits < 0) return;
      if (this.settings.oddFlags) {
        const odd = oddFlagBitsRule(bits);
        if (odd !== null) this.flagHit(odd, p, bits);
      }
      if (isTcpProbe(bits)) {
        this.probe(p, p.dport ?? 0);
        if (isOpeningSyn(bits)) this.attempt(p);
      } else if ((bits & (TCP_SYN | TCP_RST)) === 0) {
        if (this.settings.trackConnections && toServicePort(p)) this.midway(p);
      } else {
        this.answer(p, bits);
      }
    } else if (proto === 'udp') {
      if (toServicePort(p)) this.probe(p, p.dport ?? 0);
      else this.answer(p);
    } else if (proto === 'icmp' || proto === 'icmp6') {
      const echo = proto === 'icmp' ? 8 : 128;
      if (p.icmpType === echo) this.sweep(p, 0);
      else this.answer(p);
    } else if (proto.startsWith('ip-')) {
      this.protocolProbe(p, Number(proto.slice(3)));
    }
  }

  /**
   * A client-side packet with ACK and without SYN or RST (tcp-flags.ts): a
   * packet of a known connection, or, of none, a probe of its destination
   * port (ACK, Window, Maimon scans); the connection is known from then on.
   */
  private midway(p: Packet): void {
    const src = srcKey(p);
    const dst = dstKey(p);
    const c1 = withPort(src, p.sport ?? 0);
    const c2 = withPort(dst, p.dport ?? 0);
    if (this.conns.touchExisting(c1, p.ts, c2) !== undefined) return;
    admit(this.conns, this.connSeen, c1, p.ts, this.windowMs, 0, c2);
    this.vertical(p, p.dport ?? 0, src);
  }

  /** A packet of IP protocol `protocol` (not TCP, UDP or ICMP) from p.src to p.dst. */
  private protocolProbe(p: Packet, protocol: number): void {
    const s = this.settings;
    if (s.protocols === 0) return;
    const windowMs = this.windowMs;
    const src = srcKey(p);
    const dst = dstKey(p);
    const k1 = src;
    const k2 = withPort(dst);
    const n = this.protocolsByPair.touch(k1, p.ts, k2).add(protocol, p.ts, windowMs, s.protocols + 1);
    if (n > s.protocols) {
      this.report(SCAN_RULES.protocol, src, p, windowMs, () => ({
        ...this.where(p),
        threshold: s.protocols,
        reason: `${p.src} sent more than ${s.protocols} distinct IP protocols to ${p.dst} in ${s.windowS} s (TCP, UDP and ICMP not counted)${this.failureNote(src, p.ts)}`,
        evidence: `protocols ${this.protocolsByPair.get(k1, k2)?.values().slice(0, MAX_EVIDENCE_ITEMS).join(',') ?? ''}`,
      }));
    }
  }

  /**
   * A packet the decoder could not read: evidence of fuzzing or evasion when
   * it was captured whole (a capture's snaplen cutting it short is not).
   */
  private malformedPacket(p: Packet): void {
    const s = this.settings;
    if (s.malformed === 0 || p.caplen < p.len || p.src === '') return;
    const windowMs = this.windowMs;
    const src = srcKey(p);
    const n = this.malformedBySrc.touch(src, p.ts).add(p.ts, windowMs);
    if (n > s.malformed) {
      this.report(SCAN_RULES.malformed, src, p, windowMs, () => ({
        ...this.where(p),
        threshold: s.malformed,
        reason: `${Math.round(n)} malformed packets from ${p.src} in ${s.windowS} s (threshold ${s.malformed}); the last: ${p.malformed}`,
        evidence: p.malformed,
      }));
    }
  }

  /** An allowlisted host can still answer a scanner: its answers are evidence against the scanner. */
  protected override inspectAllowed(p: Packet): void {
    if (p.malformed !== undefined) return;
    if (p.proto === 'tcp') {
      const bits = flagBitsOf(p);
      if (bits >= 0) this.answer(p, bits);
    } else if (p.proto === 'udp' || p.proto === 'icmp' || p.proto === 'icmp6') {
      this.answer(p);
    }
  }

  private get windowMs(): number {
    return this.settings.windowS * 1000;
  }

  /** A probe of `port` (TCP or UDP) from p.src to p.dst. */
  private probe(p: Packet, port: number): void {
    const src = srcKey(p);
    this.vertical(p, port, src);
    this.sweep(p, port, src);
  }

  /** One more port for (p.src, p.dst); `src` is p.src's key. */
  private vertical(p: Packet, port: number, src: AddrKey): void {
    const s = this.settings;
    const windowMs = this.windowMs;
    if (s.verticalPorts > 0) {
      const dst = dstKey(p);
      const k1 = src;
      const k2 = withPort(dst);
      const ports = admit(this.portsByPair, this.pairSeen, k1, p.ts, windowMs, port, k2);
      // Admitted on its second sighting: the first sighting's port counts too.
      if (ports !== undefined && this.pairSeen.admitted) ports.add(this.pairSeen.lastDatum, this.pairSeen.lastTs, windowMs, s.verticalPorts + 1);
      const n = ports === undefined ? 1 : ports.add(port, p.ts, windowMs, s.verticalPorts + 1);
      if (n > s.verticalPorts && !this.counted(SCAN_RULES.vertical, src, p, windowMs)) this.verticalAlert(p, src, k1, k2);
    }
  }

  /** The vertical scan rule's hit, described (out of the hot path: see Detector `counted`). */
  private verticalAlert(p: Packet, src: AddrKey, k1: AddrKey, k2: number): void {
    const s = this.settings;
    this.report(SCAN_RULES.vertical, src, p, this.windowMs, () => ({
      ...this.where(p),
      threshold: s.verticalPorts,
      reason: `${p.src} probed more than ${s.verticalPorts} distinct ${p.proto} ports on ${p.dst} in ${s.windowS} s${this.failureNote(src, p.ts)}`,
      evidence: `ports ${this.portsByPair.get(k1, k2)?.values().slice(0, MAX_EVIDENCE_ITEMS).join(',') ?? ''}`,
    }));
  }

  /** One more target for (p.src, port, proto); `src` is p.src's key. */
  private sweep(p: Packet, port: number, src: AddrKey = srcKey(p)): void {
    const s = this.settings;
    if (s.horizontalHosts === 0) return;
    const windowMs = this.windowMs;
    const k2 = sweepLow(port, p.proto);
    // While the table is full, the first host of a newly admitted key is not known (not kept): counted from the second.
    const hosts = admit(this.hostsByPort, this.sweepSeen, src, p.ts, windowMs, 0, k2);
    const n = hosts === undefined ? 1 : hosts.add(dstKey(p), p.ts, windowMs, s.horizontalHosts + 1);
    if (n > s.horizontalHosts && !this.counted(SCAN_RULES.horizontal, src, p, windowMs)) this.sweepAlert(p, port, src, k2);
  }

  /** The horizontal scan rule's hit, described (out of the hot path: see Detector `counted`). */
  private sweepAlert(p: Packet, port: number, src: AddrKey, k2: number): void {
    const s = this.settings;
    const what = port === 0 && p.proto !== 'tcp' && p.proto !== 'udp' ? 'ICMP echo (ping sweep)' : `${p.proto} port ${port}`;
    this.report(SCAN_RULES.horizontal, src, p, this.windowMs, () => ({
      ...this.where(p),
      threshold: s.horizontalHosts,
      reason: `${p.src} tried ${what} on more than ${s.horizontalHosts} hosts without a positive answer in ${s.windowS} s${this.failureNote(src, p.ts)}`,
      evidence: `hosts ${this.hostsByPort.get(src, k2)?.values().slice(0, MAX_EVIDENCE_ITEMS).map(keyText).join(',') ?? ''}`,
    }));
  }

  /** A new TCP connection attempt: counted on brute-force ports. */
  private attempt(p: Packet): void {
    const s = this.settings;
    const port = p.dport ?? 0;
    if (s.bruteForceAttempts === 0 || !this.bruteForcePorts.has(port)) return;
    const windowMs = this.windowMs;
    const src = srcKey(p);
    const dst = dstKey(p);
    const k1 = src;
    const k2 = withPort(dst, port);
    const n = this.attempts.touch(k1, p.ts, k2).add(p.ts, windowMs);
    if (n > s.bruteForceAttempts) {
      this.report(SCAN_RULES.bruteForce, k1, p, windowMs, () => ({
        ...this.where(p),
        threshold: s.bruteForceAttempts,
        reason: `${Math.round(n)} connection attempts from ${p.src} to ${p.dst} port ${port} in ${s.windowS} s (threshold ${s.bruteForceAttempts})`,
      }), true, 'src', k2);
    }
  }

  /**
   * A packet that is not a probe: a positive answer (SYN-ACK, UDP reply,
   * echo reply) takes its sender off the prober's sweep list; a failure
   * answer (RST, ICMP unreachable) counts against the prober (p.dst).
   * `tcpBits`: the flag bits of a TCP packet (tcp-flags.ts).
   */
  private answer(p: Packet, tcpBits = 0): void {
    const s = this.settings;
    if (isFailureAnswer(p, tcpBits)) {
      if (s.failures === 0) return;
      // Only answers from hosts the prober actually probed count (a reset of an ordinary connection is not evidence).
      const windowMs = this.windowMs;
      const prober = dstKey(p);
      if (p.proto === 'tcp' && !this.probed(prober, srcKey(p), sweepLow(p.sport ?? 0, p.proto), p.ts, windowMs)) return;
      const target = srcKey(p);
      const port = p.proto === 'tcp' ? p.sport ?? 0 : quotedPort(p);
      const n = this.failed.touch(prober, p.ts).add(withPort(target, port), p.ts, windowMs, s.failures + 1);
      if (n > s.failures) {
        this.report(SCAN_RULES.failures, prober, p, windowMs, () => ({
          ts: p.ts,
          src: p.dst,
          dst: p.src,
          proto: p.proto,
          sport: p.dport,
          dport: p.sport,
          windowMs,
          threshold: s.failures,
          reason: `more than ${s.failures} failed connection attempts by ${p.dst} to distinct ports or hosts (answered with ${p.proto === 'tcp' ? 'RST' : 'ICMP unreachable'}) in ${s.windowS} s (threshold ${s.failures})`,
        }), true, 'dst');
      }
      return;
    }
    if (s.horizontalHosts === 0 || this.hostsByPort.size === 0) return;
    let port: number;
    if (p.proto === 'tcp') {
      if ((tcpBits & TCP_SYN) === 0) return; // only the SYN-ACK answers a probe
      port = p.sport ?? 0;
    } else if (p.proto === 'udp') {
      port = p.sport ?? 0;
    } else if ((p.proto === 'icmp' && p.icmpType === 0) || (p.proto === 'icmp6' && p.icmpType === 129)) {
      port = 0;
    } else {
      return;
    }
    this.hostsByPort.get(dstKey(p), sweepLow(port, p.proto))?.delete(srcKey(p));
  }

  /** Whether `prober` has pair state with `target` or sweep state on `sweepKey2`, or was seen once while that table was full. */
  private probed(prober: AddrKey, target: AddrKey, sweepKey2: number, ts: number, windowMs: number): boolean {
    const p1 = prober;
    const p2 = withPort(target);
    return this.portsByPair.has(p1, p2) || this.hostsByPort.has(prober, sweepKey2)
      || this.pairSeen.recent(p1, ts, windowMs, p2) || this.sweepSeen.recent(prober, ts, windowMs, sweepKey2);
  }

  private flagHit(info: RuleInfo, p: Packet, bits: number): void {
    this.report(info, srcKey(p), p, this.windowMs, () => {
      const flags = p.flags ?? TCP_FLAG_TEXT[bits];
      return {
        ...this.where(p),
        threshold: 1,
        reason: `TCP packet from ${p.src} to ${p.dst}:${p.dport ?? '?'} with flags '${flags || '(none)'}', which no TCP stack sends in a real connection`,
        evidence: `flags=${flags || '(none)'}`,
      };
    });
  }

  private where(p: Packet): PacketFields & { windowMs: number } {
    return { ...packetFields(p), windowMs: this.windowMs };
  }

  private failureNote(prober: AddrKey, ts: number): string {
    const f = this.failed.get(prober)?.count(ts, this.windowMs) ?? 0;
    return f >= 1 ? `; ${f} answered with RST/ICMP unreachable` : '';
  }
}
