/**
 * Who holds which address on the LAN, and who lies about it: ARP and IPv6
 * neighbour spoofing (a MAC claiming the gateway's address or one another
 * MAC holds, bursts of unsolicited ARP replies, one MAC answering for many
 * addresses) and the router dashboard's events (a new device, an address
 * that moved to another MAC).
 *
 * Built from claims: (address, MAC) pairs an ARP message's sender, a
 * neighbour advertisement's target, a solicitation's source, a DHCP ACK or
 * the kernel's neighbour table assert. Only these packets carry them (a few
 * in thousands), so the per-packet cost elsewhere is one test of `proto`
 * and a device-table touch. Two bounded tables (lib/detect/table.ts,
 * stalest first, evictions counted): bindings (address → holder) and
 * devices (MAC → first seen, host name, recent claims); each holds
 * `maxTracked`, 20,000 by default, far above a home LAN's hundred devices.
 *
 * A different MAC claiming a held address is a conflict only while the
 * holder is still claiming it (its last claim within `holdS`, 300 s: Linux
 * re-confirms a neighbour at least every 30–60 s while it talks); after
 * that, or when DHCP assigns it, the address has moved — an event, not an
 * attack. A device re-announcing its own address (gratuitous ARP, a DHCP
 * renewal) changes nothing. New-device and moved events wait out a learning
 * period (`learnS` of packet time from the first packet), so a fresh install
 * learns the LAN silently; spoofing is reported from the first packet.
 */
import type { Packet } from '../packet/types';
import type { Alert } from './alert';
import { defineRules, packetFields, type RuleInfo } from './alerts';
import { Detector, baseSchema, type BaseSettings } from './detector';
import { BoundedTable } from './table';
import { addrKey, type AddrKey } from './keys';
import type { Schema } from '../base/settings';
import { normalizeIp } from '../base/cidr';
import { ARP_REPLY, ARP_REQUEST, arpMessage, dhcpMessage, DHCP_ACK, ND_ADVERT, neighbourMessage } from '../packet/lan';

export interface LanSettings extends BaseSettings {
  /** The gateway's addresses (IPv4, IPv6): any other MAC claiming one is spoofing. */
  gateways: string[];
  /** MACs of known devices: never a new-device or moved event. */
  knownDevices: string;
  /** Learning period after the first packet, s: new devices and moves are learned without events. */
  learnS: number;
  /** An address its holder claimed less than this ago is held, s. */
  holdS: number;
  /** Window of the unsolicited-reply and many-addresses counts, s. */
  windowS: number;
  /** Unsolicited ARP replies from one MAC in the window that raise an alert. */
  unsolicitedReplies: number;
  /** Addresses of one family one MAC may claim in the window; more raise an alert. */
  manyAddresses: number;
}

const MAC = '[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}';

export const lanSchema: Schema<LanSettings> = {
  ...baseSchema,
  gateways: { type: 'cidrs', default: [], label: 'Gateways', help: "the gateway's IPv4/IPv6 addresses: another MAC claiming one is spoofing; blank: learned from the kernel's default routes and the interface's own addresses when polling, else none" },
  knownDevices: { type: 'string', default: '', maxLength: 100_000, pattern: `\\s*${MAC}(?:[\\s,]+${MAC})*[\\s,]*`, patternError: 'is not a list of MAC addresses', label: 'Known devices', help: 'MACs (comma or space separated) that never raise a new-device or moved event' },
  learnS: { type: 'number', min: 0, max: 30 * 86_400, default: 3600, unit: 's', label: 'Learning period', help: 'after the first packet, new devices and moved addresses are learned without events (spoofing is always reported)' },
  holdS: { type: 'number', min: 1, max: 86_400, default: 300, unit: 's', label: 'Hold', help: 'an address its holder claimed this recently is held: another MAC claiming it is a conflict; later, the address moved' },
  windowS: { type: 'number', min: 1, max: 3600, default: 30, unit: 's', label: 'Window', help: 'window of the unsolicited-reply and many-addresses counts' },
  unsolicitedReplies: { type: 'int', min: 2, max: 100_000, default: 10, unit: 'replies', label: 'Unsolicited replies', help: 'ARP replies no request asked for, from one MAC within the window, that raise an alert' },
  manyAddresses: { type: 'int', min: 2, max: 10_000, default: 6, unit: 'addresses', label: 'Addresses per MAC', help: 'IPv4 (or IPv6) addresses one MAC may claim within the window; more raise an alert' },
};

export const LAN_RULES = defineRules({
  gateway: { rule: 'lan.spoof.gateway', sid: 1000401, signature: "LAN spoofing: a MAC claims the gateway's address", category: 'lan', severity: 'high', tracks: 'mac' },
  conflict: { rule: 'lan.spoof.conflict', sid: 1000402, signature: 'LAN spoofing: two MACs claim one address', category: 'lan', severity: 'medium', tracks: 'network' },
  unsolicited: { rule: 'lan.spoof.unsolicited', sid: 1000403, signature: 'LAN spoofing: burst of unsolicited ARP replies', category: 'lan', severity: 'medium', tracks: 'mac' },
  many: { rule: 'lan.spoof.many', sid: 1000404, signature: 'LAN spoofing: one MAC answers for many addresses', category: 'lan', severity: 'high', tracks: 'mac' },
  newDevice: { rule: 'lan.device.new', sid: 1000410, signature: 'new device on the LAN', category: 'lan', severity: 'low', tracks: 'mac', offence: false },
  moved: { rule: 'lan.address.moved', sid: 1000411, signature: 'an address moved to another MAC', category: 'lan', severity: 'low', tracks: 'network' },
} satisfies Record<string, RuleInfo>);

/** How an address was claimed. */
export type ClaimKind = 'arp' | 'nd' | 'dhcp' | 'neighbour-table';

/** Who holds an address. */
interface Binding {
  mac: string;
  since: number;
  /** Last claim by the holder. */
  last: number;
  /** Last ARP request (or neighbour solicitation) asking for the address. */
  asked: number;
}

/** One MAC seen on the LAN. */
export interface LanDevice {
  mac: string;
  firstSeen: number;
  /** The first address it claimed (or the source of its first packet). */
  ip: string;
  hostname?: string;
  unsolicitedStart: number;
  unsolicited: number;
  /** Recent claims, per family: addresses and times, oldest first, at most manyAddresses + 1. */
  claims4: string[];
  claimTs4: number[];
  claims6: string[];
  claimTs6: number[];
}

/** A reply is solicited when a request asked for its address this recently. */
const ASKED_MS = 5000;

/** Lowercase colon MACs of a settings text. */
function macList(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.split(/[\s,]+/)) if (m) out.add(m.toLowerCase().replace(/-/g, ':'));
  return out;
}

/** A multicast or broadcast MAC (group bit) is never a device. */
function isGroupMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

export class LanDetector extends Detector<LanSettings> {
  private readonly bindings = this.track(new BoundedTable<AddrKey, Binding>(1, () => ({ mac: '', since: 0, last: 0, asked: Number.NEGATIVE_INFINITY })));
  private readonly devices = this.track(new BoundedTable<string, LanDevice>(1, (mac) => ({ mac, firstSeen: 0, ip: '', unsolicitedStart: 0, unsolicited: 0, claims4: [], claimTs4: [], claims6: [], claimTs6: [] })));
  private known = macList(this.settings.knownDevices);
  /** Gateways given by `setGateways` (a router's own addresses, default routes). */
  private learnedGateways: readonly { ip: string; mac?: string }[] = [];
  private gatewaySet = new Set<string>();
  /** Gateway address → its MAC: from `setGateways`, else the first MAC that claimed it. */
  private readonly gatewayMacs = new Map<string, string>();
  private learnUntil = Number.NaN;

  constructor(name: string, config: Record<string, unknown> = {}) {
    super(name, lanSchema, config);
    this.setGateways([]);
  }

  /** Devices tracked now. */
  get deviceCount(): number {
    return this.devices.size;
  }

  /** A device by MAC (for enrichment and tests). */
  device(mac: string): Readonly<LanDevice> | undefined {
    return this.devices.get(mac);
  }

  /**
   * Gateways learned outside the packets (a router's own addresses and
   * default routes), with their MAC when known; they replace the previous
   * ones. Configured gateways stay.
   */
  setGateways(gateways: readonly { ip: string; mac?: string }[]): void {
    this.learnedGateways = gateways;
    this.gatewaySet = new Set([...this.settings.gateways.map((c) => normalizeIp(c.split('/')[0])), ...gateways.map((g) => g.ip)]);
    for (const g of gateways) if (g.mac) this.gatewayMacs.set(g.ip, g.mac);
  }

  /** The kernel's neighbour table read at `ts`: each entry is a claim, as if the device had answered ARP. */
  observeNeighbours(entries: readonly { ip: string; mac: string }[], ts: number): Alert[] {
    return this.collect(ts, () => {
      // the kernel resolved these by asking: an entry is as good as a solicited answer
      for (const e of entries) this.claim(e.ip, e.mac, ts, 'neighbour-table', tablePacket(e.ip, e.mac, ts), true);
    });
  }

  protected override settingsChanged(): void {
    this.known = macList(this.settings.knownDevices);
    this.setGateways(this.learnedGateways);
  }

  protected override stateCleared(): void {
    this.learnUntil = Number.NaN;
    this.gatewayMacs.clear();
    this.setGateways(this.learnedGateways);
  }

  private learning(ts: number): boolean {
    if (Number.isNaN(this.learnUntil)) this.learnUntil = ts + this.settings.learnS * 1000;
    return ts < this.learnUntil;
  }

  protected inspect(p: Packet): void {
    const learning = this.learning(p.ts);
    const proto = p.proto;
    if (proto === 'arp') this.arp(p);
    else if (proto === 'icmp6') this.neighbour(p);
    else if (proto === 'udp' && (p.dport === 67 || p.dport === 68)) this.dhcp(p);
    const mac = p.srcMac;
    if (mac !== undefined && !isGroupMac(mac)) this.seen(mac, p, learning);
  }

  /** First sighting of a MAC: the new-device event (after learning, unless known). */
  private seen(mac: string, p: Packet, learning: boolean, hostname?: string): LanDevice {
    const existing = this.devices.touchExisting(mac, p.ts);
    if (existing !== undefined) return existing;
    const d = this.devices.insert(mac, p.ts);
    d.mac = mac;
    d.firstSeen = p.ts;
    d.ip = p.src;
    d.hostname = hostname;
    d.unsolicitedStart = p.ts;
    d.unsolicited = 0;
    d.claims4.length = d.claimTs4.length = d.claims6.length = d.claimTs6.length = 0;
    if (!learning && !this.known.has(mac) && !this.isGatewayMac(mac)) {
      this.report(LAN_RULES.newDevice, mac, p, 0, () => ({
        ...packetFields(p),
        srcMac: mac,
        windowMs: 0,
        threshold: 0,
        reason: `first packet from ${mac} (${p.proto} from ${p.src || 'no address'})${d.hostname ? `, host name ${d.hostname}` : ''}, after the ${this.settings.learnS} s learning period`,
        evidence: d.hostname ? `hostname ${d.hostname}` : undefined,
      }), false);
    }
    return d;
  }

  private arp(p: Packet): void {
    const m = arpMessage(p);
    if (m === null) return;
    if (m.op === ARP_REQUEST && m.targetIp !== m.senderIp) this.bindings.touch(addrKey(m.targetIp), p.ts).asked = p.ts;
    // sender 0.0.0.0: an address probe (RFC 5227), claims nothing
    if (m.senderIp === '0.0.0.0' || isGroupMac(m.senderMac)) return;
    let solicited = false;
    if (m.op === ARP_REPLY && m.targetIp !== m.senderIp) {
      const b = this.bindings.get(addrKey(m.senderIp));
      solicited = b !== undefined && p.ts - b.asked <= ASKED_MS;
      if (!solicited) this.unsolicited(m.senderMac, m.senderIp, p);
    }
    this.claim(m.senderIp, m.senderMac, p.ts, 'arp', p, solicited);
  }

  private neighbour(p: Packet): void {
    const m = neighbourMessage(p);
    if (m === null) return;
    if (m.type === ND_ADVERT) {
      const mac = m.mac ?? p.srcMac;
      // an advertisement to a unicast address answers a solicitation (unsolicited ones go to all nodes)
      if (mac !== undefined) this.claim(m.target, mac, p.ts, 'nd', p, !p.dst.startsWith('ff'));
      return;
    }
    this.bindings.touch(addrKey(m.target), p.ts).asked = p.ts;
    if (m.mac !== undefined && p.src !== '::') this.claim(p.src, m.mac, p.ts, 'nd', p);
  }

  private dhcp(p: Packet): void {
    const m = dhcpMessage(p);
    if (m === null || m.clientMac === undefined) return;
    if (m.hostname !== undefined) {
      const d = this.devices.get(m.clientMac);
      if (d !== undefined) d.hostname = m.hostname;
      else this.seen(m.clientMac, p, this.learning(p.ts), m.hostname);
    }
    if (m.type === DHCP_ACK && m.yourIp !== '0.0.0.0') this.claim(m.yourIp, m.clientMac, p.ts, 'dhcp', p);
  }

  private isGatewayMac(mac: string): boolean {
    for (const m of this.gatewayMacs.values()) if (m === mac) return true;
    return false;
  }

  /**
   * `mac` asserts it holds `ip`; `solicited`: in answer to a request for it.
   * A gateway address whose MAC no setting or poll gave takes the MAC of the
   * first solicited answer: a spoofer's unsolicited replies, even sent
   * first, never make it the gateway (until then, claims of it are
   * checked like any address's).
   */
  private claim(ip: string, mac: string, ts: number, kind: ClaimKind, p: Packet, solicited = false): void {
    this.countClaim(mac, ip, p);
    const how = kind === 'neighbour-table' ? "in the kernel's neighbour table" : kind === 'dhcp' ? 'by DHCP' : kind === 'nd' ? 'by neighbour advertisement' : 'by ARP';
    if (this.gatewaySet.has(ip)) {
      const gwMac = this.gatewayMacs.get(ip);
      if (gwMac === undefined) {
        if (solicited) this.gatewayMacs.set(ip, mac);
      } else if (gwMac !== mac) {
        this.gatewaySpoofed(ip, gwMac, mac, how, p);
        return;
      }
    }
    const key = addrKey(ip);
    const b = this.bindings.touch(key, ts);
    if (b.mac === '') {
      b.mac = mac;
      b.since = b.last = ts;
      return;
    }
    if (b.mac === mac) {
      b.last = ts;
      return;
    }
    const idle = ts - b.last;
    if (kind !== 'dhcp' && idle <= this.settings.holdS * 1000) {
      const holder = b.mac;
      this.report(LAN_RULES.conflict, key, p, 0, () => ({
        ...packetFields(p),
        src: ip,
        srcMac: mac,
        windowMs: this.settings.holdS * 1000,
        threshold: 0,
        reason: `${mac} claims ${ip} ${how} while ${holder} holds it (its last claim ${seconds(idle)} ago, within the ${this.settings.holdS} s hold)`,
        evidence: `${ip} is-at ${holder}; claimed is-at ${mac}`,
      }), false);
      return;
    }
    const previous = b.mac;
    b.mac = mac;
    b.since = b.last = ts;
    if (this.learning(ts) || this.known.has(mac)) return;
    this.report(LAN_RULES.moved, key, p, 0, () => ({
      ...packetFields(p),
      src: ip,
      srcMac: mac,
      windowMs: this.settings.holdS * 1000,
      threshold: 0,
      reason: `${ip} moved from ${previous} to ${mac} ${how}${kind === 'dhcp' ? '' : ` (${previous} last claimed it ${seconds(idle)} ago)`}`,
      evidence: `${ip}: ${previous} → ${mac}`,
    }), false);
  }

  private gatewaySpoofed(ip: string, gwMac: string, mac: string, how: string, p: Packet): void {
    this.report(LAN_RULES.gateway, mac, p, 0, () => ({
      ...packetFields(p),
      src: ip,
      srcMac: mac,
      windowMs: 0,
      threshold: 0,
      reason: `${mac} claims the gateway's address ${ip} ${how}; the gateway is ${gwMac}`,
      evidence: `gateway ${ip} is-at ${gwMac}; claimed is-at ${mac}`,
    }), false);
  }

  /** Counts an unsolicited ARP reply of `mac` (never the gateway's) in the window. */
  private unsolicited(mac: string, ip: string, p: Packet): void {
    if (this.isGatewayMac(mac)) return;
    const d = this.seen(mac, p, this.learning(p.ts));
    const windowMs = this.settings.windowS * 1000;
    if (p.ts - d.unsolicitedStart > windowMs) {
      d.unsolicitedStart = p.ts;
      d.unsolicited = 0;
    }
    const n = ++d.unsolicited;
    const threshold = this.settings.unsolicitedReplies;
    if (n < threshold) return;
    this.report(LAN_RULES.unsolicited, mac, p, windowMs, () => ({
      ...packetFields(p),
      src: ip,
      srcMac: mac,
      windowMs,
      threshold,
      reason: `${n} ARP replies from ${mac} that no request asked for within ${this.settings.windowS} s (threshold ${threshold}), the last claiming ${ip}`,
    }), false);
  }

  /** Remembers `ip` among the recent claims of `mac`; too many distinct ones of a family raise lan.spoof.many. */
  private countClaim(mac: string, ip: string, p: Packet): void {
    if (this.isGatewayMac(mac)) return;
    const d = this.seen(mac, p, this.learning(p.ts));
    const v6 = ip.includes(':');
    const ips = v6 ? d.claims6 : d.claims4;
    const times = v6 ? d.claimTs6 : d.claimTs4;
    const windowMs = this.settings.windowS * 1000;
    let stale = 0;
    while (stale < times.length && p.ts - times[stale] > windowMs) stale++;
    if (stale > 0) {
      ips.splice(0, stale);
      times.splice(0, stale);
    }
    const at = ips.indexOf(ip);
    if (at >= 0) {
      ips.splice(at, 1);
      times.splice(at, 1);
    }
    ips.push(ip);
    times.push(p.ts);
    const threshold = this.settings.manyAddresses;
    if (ips.length > threshold + 1) {
      ips.shift();
      times.shift();
    }
    if (ips.length <= threshold) return;
    this.report(LAN_RULES.many, mac, p, windowMs, () => ({
      ...packetFields(p),
      src: ip,
      srcMac: mac,
      windowMs,
      threshold,
      reason: `${mac} claimed ${ips.length} IPv${v6 ? 6 : 4} addresses within ${this.settings.windowS} s (more than ${threshold})`,
      evidence: ips.join(' '),
    }), false);
  }
}

/** A stand-in packet for a neighbour-table entry, so its alerts carry who and when like a packet's. */
function tablePacket(ip: string, mac: string, ts: number): Packet {
  return {
    ts, len: 0, caplen: 0, iface: undefined, srcMac: mac, dstMac: undefined, vlan: undefined, ip: ip.includes(':') ? 6 : 4,
    src: ip, dst: '', src4: undefined, dst4: undefined, proto: ip.includes(':') ? 'icmp6' : 'arp', sport: undefined, dport: undefined,
    flags: undefined, flagBits: undefined, icmpType: undefined, icmpCode: undefined, ttl: undefined, frag: undefined,
    payload: NO_PAYLOAD, malformed: undefined,
  };
}

const NO_PAYLOAD = Buffer.alloc(0);
