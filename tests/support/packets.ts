/** Crafted packets for detector unit tests. */
import type { Packet } from '../../lib/packet/types';

const EMPTY = Buffer.alloc(0);

export function pkt(fields: Partial<Packet> & Pick<Packet, 'ts' | 'src' | 'dst' | 'proto'>): Packet {
  return { len: 60, caplen: 60, ip: fields.src.includes(':') ? 6 : 4, payload: EMPTY, ...fields };
}

export function tcpPkt(ts: number, src: string, dst: string, sport: number, dport: number, flags: string): Packet {
  return pkt({ ts, src, dst, proto: 'tcp', sport, dport, flags });
}

export function udpPkt(ts: number, src: string, dst: string, sport: number, dport: number): Packet {
  return pkt({ ts, src, dst, proto: 'udp', sport, dport });
}

export function echoPkt(ts: number, src: string, dst: string): Packet {
  const v6 = src.includes(':');
  return pkt({ ts, src, dst, proto: v6 ? 'icmp6' : 'icmp', icmpType: v6 ? 128 : 8, icmpCode: 0 });
}
