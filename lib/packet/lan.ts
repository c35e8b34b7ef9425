/**
 * What a packet says about who holds an address on the LAN: the ARP message
 * (opcode, sender and target), an ICMPv6 neighbour advertisement or
 * solicitation (target, link-layer address option) and a DHCP message
 * (client MAC, addresses, host name). Read on demand from a decoded
 * packet's `payload` rather than decoded into every Packet: these are a few
 * packets in thousands, and a field per packet would cost every packet
 * (the decoder keeps one object shape for all).
 */
import type { Packet } from './types';
import { ipv4IntAt, ipv4Text, macAt } from './decode';
import { formatIpv6At } from '../base/address';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

/** An Ethernet/IPv4 ARP message. */
export interface ArpMessage {
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** The ARP message of `p` (payload as the decoder sets it for ARP), or null unless Ethernet/IPv4 ARP. */
export function arpMessage(p: Packet): ArpMessage | null {
  const d = p.payload;
  if (p.proto !== 'arp' || d.length < 28) return null;
  // hardware type 1 (Ethernet), protocol 0x0800, lengths 6 and 4
  if (d[0] !== 0 || d[1] !== 1 || d[2] !== 8 || d[3] !== 0 || d[4] !== 6 || d[5] !== 4) return null;
  return {
    op: (d[6] << 8) | d[7],
    senderMac: macAt(d, 8),
    senderIp: ipv4Text(ipv4IntAt(d, 14)),
    targetMac: macAt(d, 18),
    targetIp: ipv4Text(ipv4IntAt(d, 24)),
  };
}

export const ND_SOLICIT = 135;
export const ND_ADVERT = 136;

/** An ICMPv6 neighbour solicitation or advertisement. */
export interface NeighbourMessage {
  type: typeof ND_SOLICIT | typeof ND_ADVERT;
  /** The target address. */
  target: string;
  /** The link-layer address option: target's (advertisement, option 2) or source's (solicitation, option 1). */
  mac?: string;
}

/**
 * The neighbour solicitation or advertisement of `p`, or null. The decoder's
 * ICMPv6 payload starts after the 8-byte header (type, code, checksum,
 * flags), so at the target address, options after it.
 */
export function neighbourMessage(p: Packet): NeighbourMessage | null {
  const type = p.icmpType;
  if (p.proto !== 'icmp6' || (type !== ND_SOLICIT && type !== ND_ADVERT) || p.payload.length < 16) return null;
  const d = p.payload;
  const msg: NeighbourMessage = { type, target: formatIpv6At(d, 0) };
  const want = type === ND_ADVERT ? 2 : 1;
  // options: type(1) length(1, in units of 8 bytes) value
  for (let o = 16; o + 8 <= d.length;) {
    const len = d[o + 1] * 8;
    if (len === 0) break;
    if (d[o] === want && len >= 8) {
      msg.mac = macAt(d, o + 2);
      break;
    }
    o += len;
  }
  return msg;
}

export const DHCP_DISCOVER = 1;
export const DHCP_REQUEST = 3;
export const DHCP_ACK = 5;

/** A DHCPv4 message, the fields that tie a MAC to an address and a name. */
export interface DhcpMessage {
  /** Option 53 (DISCOVER 1 … ACK 5 …), 0 when absent (BOOTP). */
  type: number;
  /** Client hardware address (chaddr) when it is an Ethernet MAC. */
  clientMac?: string;
  /** ciaddr, yiaddr: '0.0.0.0' when not set. */
  clientIp: string;
  yourIp: string;
  /** Option 50. */
  requestedIp?: string;
  /** Option 12, printable ASCII only. */
  hostname?: string;
}

const DHCP_COOKIE = 0x63825363;

/** The DHCP message of a UDP packet between ports 67 and 68, or null. */
export function dhcpMessage(p: Packet): DhcpMessage | null {
  if (p.proto !== 'udp' || !((p.sport === 68 && p.dport === 67) || (p.sport === 67 && p.dport === 68))) return null;
  const d = p.payload;
  if (d.length < 240 || d.readUInt32BE(236) !== DHCP_COOKIE) return null;
  const msg: DhcpMessage = { type: 0, clientIp: ipv4Text(ipv4IntAt(d, 12)), yourIp: ipv4Text(ipv4IntAt(d, 16)) };
  if (d[1] === 1 && d[2] === 6) msg.clientMac = macAt(d, 28);
  for (let o = 240; o < d.length;) {
    const code = d[o];
    if (code === 255) break;
    if (code === 0) {
      o++;
      continue;
    }
    if (o + 2 > d.length) break;
    const len = d[o + 1];
    const v = o + 2;
    if (v + len > d.length) break;
    if (code === 53 && len === 1) msg.type = d[v];
    else if (code === 50 && len === 4) msg.requestedIp = ipv4Text(ipv4IntAt(d, v));
    else if (code === 12 && len > 0) {
      const name = d.toString('latin1', v, v + len);
      if (/^[\x21-\x7e]+$/.test(name)) msg.hostname = name;
    }
    o = v + len;
  }
  return msg;
}
