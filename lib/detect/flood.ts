/**
 * Flood detection: ICMP/ICMPv6 echo floods, SYN floods counted as half-open
 * connections, UDP floods; each per source and per target, so a flood from
 * many (spoofed) sources is still caught at its target, and over the whole
 * network, so a flood from random sources at random targets (where no one
 * address crosses a threshold) is still caught.
 *
 * Half-open connections are counted per (source, destination port) and per
 * (target, destination port): a SYN flood concentrates on a port or a few
 * (`hping3 --flood -S -p 80`: every SYN to port 80), while a fast port scan
 * spreads one half-open connection over each of hundreds of ports (`nmap -sS
 * -T5`: 1,000 ports in about a second, i.e. one per port), which is the scan
 * detector's business. A flood spread over k ports still counts 1/k of its
 * rate on each: at flood rates (tens of thousands a second) far over any
 * threshold for small k.
 *
 * The network-wide counters are three WindowCounters (a few numbers, no
 * table): their thresholds are rates a home network never reaches (a busy
 * NAT gateway opens tens of connections a second; `hping3 --flood` sends
 * 80,000-110,000 packets a second on the test machine).
 *
 * Per source MAC (packets that carry one: Ethernet, SLL): a device flooding
 * from forged source addresses (`hping3 --rand-source`) spreads its packets
 * over thousands of source IPs, so no per-source counter fills, but every
 * frame carries its MAC. The MAC rules count opening SYNs, echo requests and
 * UDP packets per MAC in a fixed window, and alert only when that MAC also
 * used more than `macSources` distinct source IPs in the window: that is the
 * spoofing evidence, and the choice that keeps a router's upstream gateway
 * from being named: on the WAN side all internet traffic arrives from its
 * MAC, but a home's download does not bring more than 64 distinct senders'
 * SYNs, echo requests or 5,000 UDP packets within one second. A device
 * sending from its own one or two addresses is the per-source rules'
 * business. Memory: at
 * most MAC_TABLE_CAP MACs (oldest dropped first), each holding at most
 * `macSources` + 1 addresses: 1,024 x 65 strings at the defaults. The
 * gateway's MAC is protected again in iptables-block, which refuses it.
 */
import type { Packet } from '../packet/types';
import { defineRules, packetFields, type RuleInfo } from './alerts';
import { baseSchema, Detector, type BaseSettings } from './detector';
import type { Schema } from '../base/settings';
import { admit, RepeatFilter } from './admission';
import { BoundedTable } from './table';
import { KeyedCounter, WindowCounter } from './window';
import { dstKey, srcKey, withPort, type AddrKey } from './keys';
import { flagBitsOf, isOpeningSyn, TCP_ACK, TCP_RST, TCP_SYN } from '../packet/tcp-flags';

export const FLOOD_RULES = defineRules({
  icmpSrc: { rule: 'flood.icmp.src', sid: 1000001, signature: 'ICMP echo flood from one source', category: 'flood', severity: 'high', tracks: 'src' },
  icmpDst: { rule: 'flood.icmp.dst', sid: 1000002, signature: 'ICMP echo flood against one target', category: 'flood', severity: 'high', tracks: 'dst' },
  synSrc: { rule: 'flood.syn.src', sid: 1000003, signature: 'SYN flood (half-open connections) from one source', category: 'flood', severity: 'high', tracks: 'src' },
  synDst: { rule: 'flood.syn.dst', sid: 1000004, signature: 'SYN flood (half-open connections) against one target', category: 'flood', severity: 'high', tracks: 'dst' },
  udpSrc: { rule: 'flood.udp.src', sid: 1000005, signature: 'UDP flood from one source', category: 'flood', severity: 'high', tracks: 'src' },
  udpDst: { rule: 'flood.udp.dst', sid: 1000006, signature: 'UDP flood against one target', category: 'flood', severity: 'high', tracks: 'dst' },
  synNet: { rule: 'flood.syn.net', sid: 1000007, signature: 'SYN flood over the network (half-open connections from any source to any target)', category: 'flood', severity: 'high', tracks: 'network' },
  icmpNet: { rule: 'flood.icmp.net', sid: 1000008, signature: 'ICMP echo flood over the network (from any source to any target)', category: 'flood', severity: 'high', tracks: 'network' },
  udpNet: { rule: 'flood.udp.net', sid: 1000009, signature: 'UDP flood over the network (from any source to any target)', category: 'flood', severity: 'high', tracks: 'network' },
  synMac: { rule: 'flood.syn.mac', sid: 1000010, signature: 'SYN flood from one device (source MAC) using many forged source addresses', category: 'flood', severity: 'high', tracks: 'mac' },
  icmpMac: { rule: 'flood.icmp.mac', sid: 1000011, signature: 'ICMP echo flood from one device (source MAC) using many forged source addresses', category: 'flood', severity: 'high', tracks: 'mac' },
  udpMac: { rule: 'flood.udp.mac', sid: 1000012, signature: 'UDP flood from one device (source MAC) using many forged source addresses', category: 'flood', severity: 'high', tracks: 'mac' },
});

export interface FloodSettings extends BaseSettings {
  /** Rate window, ms of packet time. Thresholds are counts within it. */
  windowMs: number;
  /** ICMP/ICMPv6 echo requests per window from one source; 0 turns the rule off. */
  icmpSrc: number;
  icmpDst: number;
  /** SYNs without a completed handshake per window from one source to one destination port. */
  synSrc: number;
  /** The same to one target's port, from any source. */
  synDst: number;
  /** UDP packets per window from one source. */
  udpSrc: number;
  udpDst: number;
  /** Half-open connections, echo requests and UDP packets per window over everything the node sees; 0 turns a rule off. */
  synNet: number;
  icmpNet: number;
  udpNet: number;
  /** Opening SYNs, echo requests and UDP packets per window from one source MAC; 0 turns a rule off. */
  synMac: number;
  icmpMac: number;
  udpMac: number;
  /** The MAC rules alert only when the MAC used more distinct source IPs than this in the window. */
  macSources: number;
}

const threshold = { type: 'int', min: 0, max: 100_000_000, unit: 'per window' } as const;

/** Home-network defaults: a phone's ping sends 1 echo/s, a busy NAT gateway opens tens of connections/s, a video call sends ~1,500 UDP packets/s. */
export const floodSchema: Schema<FloodSettings> = {
  ...baseSchema,
  windowMs: { type: 'int', min: 100, max: 600_000, default: 1000, unit: 'ms', label: 'Window', help: 'rate window in packet time; every threshold is a count within it' },
  icmpSrc: { ...threshold, default: 50, label: 'ICMP echo per source', help: 'ICMP/ICMPv6 echo requests from one source; 0 turns the rule off' },
  icmpDst: { ...threshold, default: 100, label: 'ICMP echo per target', help: 'echo requests to one target from any source; 0 turns the rule off' },
  synSrc: { ...threshold, default: 100, label: 'SYN per source', help: 'half-open connections (SYN without completed handshake) from one source to one port (a scan spreads over many ports: scan-detect); 0 turns the rule off' },
  synDst: { ...threshold, default: 200, label: 'SYN per target', help: "half-open connections to one target's port from any source; 0 turns the rule off" },
  udpSrc: { ...threshold, default: 5000, label: 'UDP per source', help: 'UDP packets from one source; 0 turns the rule off' },
  udpDst: { ...threshold, default: 10_000, label: 'UDP per target', help: 'UDP packets to one target from any source; 0 turns the rule off' },
  synNet: { ...threshold, default: 5000, label: 'SYN over the network', help: 'half-open connections from any source to any target (random sources and targets); 0 turns the rule off' },
  icmpNet: { ...threshold, default: 2000, label: 'ICMP echo over the network', help: 'echo requests from any source to any target; 0 turns the rule off' },
  udpNet: { ...threshold, default: 30_000, label: 'UDP over the network', help: 'UDP packets from any source to any target; 0 turns the rule off' },
  synMac: { ...threshold, default: 100, label: 'SYN per MAC', help: 'opening SYNs from one source MAC (needs the spoofing evidence below); 0 turns the rule off' },
  icmpMac: { ...threshold, default: 50, label: 'ICMP echo per MAC', help: 'echo requests from one source MAC (needs the spoofing evidence below); 0 turns the rule off' },
  udpMac: { ...threshold, default: 5000, label: 'UDP per MAC', help: 'UDP packets from one source MAC (needs the spoofing evidence below); 0 turns the rule off' },
  macSources: { type: 'int', min: 1, max: 100_000, default: 64, unit: 'addresses', label: 'Sources per MAC', help: 'the MAC rules alert only when one MAC sent from more distinct source IPs than this in the window (forged sources), so a gateway forwarding busy traffic is not named' },
};

/** Source MACs followed by the MAC rules; the oldest is dropped first when full. */
export const MAC_TABLE_CAP = 1024;

/** One source MAC's window: what it sent and from how many addresses (kept up to macSources + 1). */
interface MacWindow {
  start: number;
  syn: number;
  echo: number;
  udp: number;
  sources: Set<string>;
}

/** Which count of a MacWindow a packet adds to: a number, so telling them apart costs no string compare. */
const MAC_SYN = 0;
const MAC_ECHO = 1;
const MAC_UDP = 2;
type MacKind = typeof MAC_SYN | typeof MAC_ECHO | typeof MAC_UDP;

/** A connection seen as a SYN and not yet completed. */
interface HalfOpen {
  /** Packet time of the first SYN (the event counted in the windows). */
  ts: number;
}

export class FloodDetector extends Detector<FloodSettings> {
  private readonly icmpBySrc = this.track(new KeyedCounter<AddrKey>(1).table);
  private readonly icmpByDst = this.track(new KeyedCounter<AddrKey>(1).table);
  /** Half-open connections by (source, destination port) and by (target, destination port): key, key2 = port. */
  private readonly synBySrc = this.track(new KeyedCounter<AddrKey>(1).table);
  private readonly synByDst = this.track(new KeyedCounter<AddrKey>(1).table);
  private readonly udpBySrc = this.track(new KeyedCounter<AddrKey>(1).table);
  private readonly udpByDst = this.track(new KeyedCounter<AddrKey>(1).table);
  /** Half-open connections by (src, sport, dst, dport) (keys.ts withPort); twice the cap, as one source opens many. */
  private readonly halfOpen = this.track(new BoundedTable<AddrKey, HalfOpen>(1, () => ({ ts: 0 }), 100, (h) => (h.ts = 0)), 2);

  /**
   * Sources seen once within the window, per per-source table: while a table
   * is full, a new source gets an entry (and its first packet counted) only
   * on its second sighting, so a flood of one-shot spoofed sources keeps no
   * key strings alive (see admission.ts).
   */
  private readonly icmpSeen = new RepeatFilter();
  private readonly synSeen = new RepeatFilter();
  private readonly udpSeen = new RepeatFilter();
  /** The one SYN (by connection key, with its time) of each source not yet admitted to synBySrc. */
  private readonly synPending = new RepeatFilter();
  /** Half-open connections, echo requests and UDP packets over the whole network. */
  private readonly synAll = new WindowCounter();
  private readonly echoAll = new WindowCounter();
  private readonly udpAll = new WindowCounter();
  /** Per source MAC (see the header). */
  private readonly byMac = new Map<string, MacWindow>();
  /**
   * The MAC counted last and its window (the same object as in byMac): on a
   * LAN most packets in a row come from one MAC (the gateway, the attacker),
   * so most packets need no Map lookup of a 17-character key.
   */
  private lastMac: string | undefined = undefined;
  private lastMacWindow: MacWindow | undefined = undefined;

  constructor(name: string, config: Record<string, unknown> = {}) {
    super(name, floodSchema, config);
  }

  protected override stateCleared(): void {
    this.icmpSeen.clear();
    this.synSeen.clear();
    this.udpSeen.clear();
    this.synPending.clear();
    this.synAll.reset();
    this.echoAll.reset();
    this.udpAll.reset();
    this.byMac.clear();
    this.lastMac = undefined;
    this.lastMacWindow = undefined;
  }

  /** Count one `kind` packet from `p.srcMac` in its window; alert when over `limit` with more than macSources addresses. */
  private countMac(p: Packet, kind: MacKind, limit: number, info: RuleInfo, what: string): void {
    const mac = p.srcMac;
    if (limit === 0 || mac === undefined) return;
    const s = this.settings;
    let w = mac === this.lastMac ? this.lastMacWindow : this.byMac.get(mac);
    if (w === undefined || p.ts - w.start >= s.windowMs || p.ts < w.start) {
      if (w === undefined && this.byMac.size >= MAC_TABLE_CAP) this.byMac.delete(this.byMac.keys().next().value as string);
      w = { start: p.ts, syn: 0, echo: 0, udp: 0, sources: new Set() };
      // Re-inserted: the map's order is the order of last new window, oldest first.
      this.byMac.delete(mac);
      this.byMac.set(mac, w);
    }
    // Set after any eviction above, which can only have dropped another MAC (possibly the one before).
    this.lastMac = mac;
    this.lastMacWindow = w;
    if (w.sources.size <= s.macSources) w.sources.add(p.src);
    // Not w[kind] with a string kind: a property read by a variable name was a megamorphic keyed load on every call.
    const n = kind === MAC_SYN ? ++w.syn : kind === MAC_ECHO ? ++w.echo : ++w.udp;
    if (n <= limit || w.sources.size <= s.macSources) return;
    // Not dropSource: the packet's source address is forged; the MAC is the offender.
    if (!this.counted(info, mac, p, s.windowMs, false)) this.macAlert(p, mac, n, limit, info, what);
  }

  /** A MAC rule's hit, described (out of the hot path: see Detector `counted`). */
  private macAlert(p: Packet, mac: string, n: number, limit: number, info: RuleInfo, what: string): void {
    const s = this.settings;
    this.report(info, mac, p, s.windowMs, () => ({
      ...packetFields(p),
      windowMs: s.windowMs,
      threshold: limit,
      reason: `${n} ${what} from MAC ${mac} in ${s.windowMs} ms, sent from more than ${s.macSources} source addresses (forged; threshold ${limit}); last ${p.src} to ${p.dst}`,
    }), false);
  }

  /** Count one event from `src` in its per-source window (admitted as admission.ts `admit` says; a refused first sighting counts 1). */
  private countSource(table: BoundedTable<AddrKey, WindowCounter>, seen: RepeatFilter, src: AddrKey, ts: number, windowMs: number): number {
    const counter = admit(table, seen, src, ts, windowMs);
    if (counter === undefined) return 1;
    return counter.add(ts, windowMs, seen.admitted ? 2 : 1);
  }

  protected inspect(p: Packet): void {
    switch (p.proto) {
      case 'tcp': {
        const bits = flagBitsOf(p);
        if (bits >= 0) this.tcp(p, bits);
        break;
      }
      case 'udp':
        this.udp(p);
        break;
      case 'icmp':
        if (p.icmpType === 8) this.echo(p);
        break;
      case 'icmp6':
        if (p.icmpType === 128) this.echo(p);
        break;
    }
  }

  private echo(p: Packet): void {
    const s = this.settings;
    this.countMac(p, MAC_ECHO, s.icmpMac, FLOOD_RULES.icmpMac, 'ICMP echo requests');
    if (s.icmpSrc > 0) {
      const src = srcKey(p);
      const n = this.countSource(this.icmpBySrc, this.icmpSeen, src, p.ts, s.windowMs);
      if (n > s.icmpSrc) this.hit(FLOOD_RULES.icmpSrc, src, p, n, s.icmpSrc, 'ICMP echo requests');
    }
    if (s.icmpDst > 0) {
      const dst = dstKey(p);
      const n = this.icmpByDst.touch(dst, p.ts).add(p.ts, s.windowMs);
      if (n > s.icmpDst) this.hit(FLOOD_RULES.icmpDst, dst, p, n, s.icmpDst, 'ICMP echo requests');
    }
    if (s.icmpNet > 0) {
      const n = this.echoAll.add(p.ts, s.windowMs);
      if (n > s.icmpNet) this.hit(FLOOD_RULES.icmpNet, 0, p, n, s.icmpNet, 'ICMP echo requests');
    }
  }

  private udp(p: Packet): void {
    const s = this.settings;
    this.countMac(p, MAC_UDP, s.udpMac, FLOOD_RULES.udpMac, 'UDP packets');
    if (s.udpSrc > 0) {
      const src = srcKey(p);
      const n = this.countSource(this.udpBySrc, this.udpSeen, src, p.ts, s.windowMs);
      if (n > s.udpSrc) this.hit(FLOOD_RULES.udpSrc, src, p, n, s.udpSrc, 'UDP packets');
    }
    if (s.udpDst > 0) {
      const dst = dstKey(p);
      const n = this.udpByDst.touch(dst, p.ts).add(p.ts, s.windowMs);
      if (n > s.udpDst) this.hit(FLOOD_RULES.udpDst, dst, p, n, s.udpDst, 'UDP packets');
    }
    if (s.udpNet > 0) {
      const n = this.udpAll.add(p.ts, s.windowMs);
      if (n > s.udpNet) this.hit(FLOOD_RULES.udpNet, 0, p, n, s.udpNet, 'UDP packets');
    }
  }

  /** `bits`: the packet's TCP flag bits (tcp-flags.ts). */
  private tcp(p: Packet, bits: number): void {
    const s = this.settings;
    const syn = isOpeningSyn(bits);
    if (syn) this.countMac(p, MAC_SYN, s.synMac, FLOOD_RULES.synMac, 'opening SYNs');
    if (s.synSrc === 0 && s.synDst === 0 && s.synNet === 0) return;
    const src = srcKey(p);
    const dst = dstKey(p);
    // The per-source and per-target counters are keyed with the destination port (key2): see the header.
    const port = p.dport ?? 0;
    if (syn) {
      // The connection's key, in two parts.
      const c1 = withPort(src, p.sport ?? 0);
      const c2 = withPort(dst, port);
      // A retransmitted SYN is the same half-open connection: counted once.
      if (this.halfOpen.get(c1, c2) !== undefined) return;
      let nSrc: number;
      const full = this.synBySrc.size >= this.synBySrc.cap;
      const cell = full ? this.synBySrc.cellOf(src, port) : -1;
      if (!full || cell >= 0) {
        // Its first SYN, sent before admission (pending ones exist only once the table has filled; it stays full).
        if (full && this.synPending.recent(c1, p.ts, s.windowMs, c2)) return;
        this.halfOpen.insert(c1, p.ts, c2).ts = p.ts;
        // One lookup of src, not has() then touch(): halfOpen and synPending are other tables, so the cell still holds src.
        nSrc = (cell >= 0 ? this.synBySrc.touchCell(cell, p.ts) : this.synBySrc.touch(src, p.ts, port)).add(p.ts, s.windowMs);
      } else if (this.synPending.recent(c1, p.ts, s.windowMs, c2)) {
        return;
      } else if (this.synSeen.repeat(src, p.ts, s.windowMs, 0, port)) {
        // Second SYN from this source to this port: admitted, its first (still in synPending) counted too.
        this.halfOpen.insert(c1, p.ts, c2).ts = p.ts;
        nSrc = this.synBySrc.insert(src, p.ts, port).add(p.ts, s.windowMs, 2);
      } else {
        this.synPending.repeat(c1, p.ts, s.windowMs, 0, c2);
        this.synBySrc.evictions++; // no room for it: its state is dropped as an evicted entry's would be
        nSrc = 1;
      }
      const nDst = this.synByDst.touch(dst, p.ts, port).add(p.ts, s.windowMs);
      const nNet = this.synAll.add(p.ts, s.windowMs);
      const what = 'half-open connections (SYN without completed handshake)';
      if (s.synSrc > 0 && nSrc > s.synSrc) this.hit(FLOOD_RULES.synSrc, src, p, nSrc, s.synSrc, what, port);
      if (s.synDst > 0 && nDst > s.synDst) this.hit(FLOOD_RULES.synDst, dst, p, nDst, s.synDst, what, port);
      if (s.synNet > 0 && nNet > s.synNet) this.hit(FLOOD_RULES.synNet, 0, p, nNet, s.synNet, what);
      return;
    }
    // The client's ACK completes the handshake: the connection is no longer half-open.
    // Looked up only while the source has half-open connections counted to this port (or one pending), so data packets stay cheap.
    if ((bits & (TCP_ACK | TCP_SYN | TCP_RST)) === TCP_ACK) {
      const bySrc = this.synBySrc.get(src, port);
      // Only then is the connection's key looked up.
      if (bySrc === undefined ? !this.synSeen.recent(src, p.ts, s.windowMs, port) : bySrc.value(p.ts, s.windowMs) <= 0) return;
      const c1 = withPort(src, p.sport ?? 0);
      const c2 = withPort(dst, port);
      const conn = bySrc === undefined ? undefined : this.halfOpen.get(c1, c2);
      let synTs: number;
      if (conn !== undefined) {
        synTs = conn.ts;
        this.halfOpen.delete(c1, c2);
      } else if (this.synPending.recent(c1, p.ts, s.windowMs, c2)) {
        // The source's first SYN, sent before it was admitted.
        synTs = this.synPending.lastTs;
        this.synPending.forget(c1, c2);
        if (bySrc === undefined) this.synSeen.forget(src, port);
      } else {
        return;
      }
      bySrc?.remove(synTs, p.ts, s.windowMs);
      this.synByDst.get(dst, port)?.remove(synTs, p.ts, s.windowMs);
      this.synAll.remove(synTs, p.ts, s.windowMs);
    }
  }

  /** `key`: the state key of the source (perSource), the target, or 0 (the network); `port`: the destination port the rule counts on, if it does. */
  private hit(info: RuleInfo, key: AddrKey, p: Packet, n: number, limit: number, what: string, port?: number): void {
    if (!this.counted(info, key, p, this.settings.windowMs, info.tracks === 'src')) this.hitAlert(info, key, p, n, limit, what, port);
  }

  /** A hit out of cooldown, described (see Detector `counted`). */
  private hitAlert(info: RuleInfo, key: AddrKey, p: Packet, n: number, limit: number, what: string, port?: number): void {
    const perSource = info.tracks === 'src';
    const s = this.settings;
    // Described only when an alert is emitted: during a flood every packet over the threshold is a hit.
    this.report(info, key, p, s.windowMs, () => {
      const count = Math.round(n);
      const within = `in ${s.windowMs} ms`;
      const reason = perSource
        ? `${count} ${what} from ${p.src}${port === undefined ? '' : ` to port ${port}`} ${within} (threshold ${limit})`
        : info.tracks === 'network'
          ? `${count} ${what} over the network ${within}, from any source to any target (threshold ${limit}); last ${p.src} to ${p.dst}`
          : `${count} ${what} to ${p.dst}${port === undefined ? '' : ` port ${port}`} ${within} from any source (threshold ${limit}); last source ${p.src}`;
      return { ...packetFields(p), windowMs: s.windowMs, threshold: limit, reason };
    }, perSource);
  }
}
