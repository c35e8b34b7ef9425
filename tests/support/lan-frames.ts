/**
 * LAN frames built as bytes and decoded, for the tests of lib/packet/lan.ts
 * and lib/detect/lan.ts: ARP, ICMPv6 neighbour solicitation/advertisement
 * with their link-layer address options, DHCP.
 */
import type { Packet } from '../../lib/packet/types';
import { decodePacket } from '../../lib/packet/decode';
import { LINKTYPE_ETHERNET } from '../../lib/packet/linktypes';
import { arp, ether, ipv4, ipv6, mac, udp } from '../../bench/support/make-capture';

const BROADCAST = 'ff:ff:ff:ff:ff:ff';

function decoded(ts: number, frame: Buffer): Packet {
  return decodePacket(frame, LINKTYPE_ETHERNET, ts, frame.length);
}

/** An ARP message from `senderMac` (also the Ethernet source), broadcast for requests, to `targetMac` for replies. */
export function arpPacket(ts: number, op: 1 | 2, senderMac: string, senderIp: string, targetMac: string, targetIp: string): Packet {
  const dst = op === 1 ? BROADCAST : targetMac;
  return decoded(ts, ether(dst, senderMac, 0x0806, arp(op, senderMac, senderIp, op === 1 ? '00:00:00:00:00:00' : targetMac, targetIp)));
}

/** A gratuitous ARP (sender address = target address), as `arping -U` sends it. */
export function gratuitousArp(ts: number, senderMac: string, ip: string): Packet {
  return decoded(ts, ether(BROADCAST, senderMac, 0x0806, arp(1, senderMac, ip, BROADCAST, ip)));
}

/** ICMPv6 neighbour solicitation (135) or advertisement (136): target and one link-layer address option (1 source, 2 target). */
function neighbourIcmp(type: 135 | 136, target: string, optionMac: string | null): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  if (type === 136) h[4] = 0x20; // override flag
  const t = ipv6('::', target, 58, Buffer.alloc(0)).subarray(24, 40);
  const parts = [h, t];
  if (optionMac) parts.push(Buffer.concat([Buffer.from([type === 136 ? 2 : 1, 1]), mac(optionMac)]));
  return Buffer.concat(parts);
}

/** A neighbour advertisement from `srcMac` for `target` with the target link-layer option `optionMac` (default srcMac; null: none). */
export function neighbourAdvert(ts: number, srcMac: string, src: string, target: string, optionMac: string | null = srcMac, dst = 'ff02::1'): Packet {
  return decoded(ts, ether('33:33:00:00:00:01', srcMac, 0x86dd, ipv6(src, dst, 58, neighbourIcmp(136, target, optionMac), { hopLimit: 255 })));
}

/** A neighbour solicitation from `src` (`srcMac`, also its source link-layer option) for `target`. */
export function neighbourSolicit(ts: number, srcMac: string, src: string, target: string): Packet {
  return decoded(ts, ether('33:33:ff:00:00:01', srcMac, 0x86dd, ipv6(src, 'ff02::1:ff00:1', 58, neighbourIcmp(135, target, srcMac), { hopLimit: 255 })));
}

/** A DHCP message: type (1 DISCOVER, 3 REQUEST, 5 ACK), client MAC, addresses, host name option. */
export function dhcpPacket(ts: number, type: number, o: { clientMac: string; serverMac?: string; clientIp?: string; yourIp?: string; hostname?: string; server?: string }): Packet {
  const b = Buffer.alloc(240);
  const fromServer = type === 2 || type === 5 || type === 6;
  b[0] = fromServer ? 2 : 1;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(0x1234, 4);
  const quad = (ip: string | undefined, off: number) => (ip ?? '0.0.0.0').split('.').forEach((n, i) => (b[off + i] = Number(n)));
  quad(o.clientIp, 12);
  quad(o.yourIp, 16);
  mac(o.clientMac).copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  const opts: number[] = [53, 1, type];
  if (o.hostname) opts.push(12, o.hostname.length, ...Buffer.from(o.hostname, 'latin1'));
  opts.push(255);
  const body = Buffer.concat([b, Buffer.from(opts)]);
  const server = o.server ?? '192.168.1.1';
  const src = fromServer ? server : o.clientIp ?? '0.0.0.0';
  const dst = fromServer ? o.yourIp ?? '255.255.255.255' : o.clientIp ? server : '255.255.255.255';
  const datagram = ipv4(src, dst, 17, fromServer ? udp(67, 68, body) : udp(68, 67, body));
  return decoded(ts, ether(fromServer ? o.clientMac : BROADCAST, fromServer ? o.serverMac ?? '02:00:00:00:00:01' : o.clientMac, 0x0800, datagram));
}
