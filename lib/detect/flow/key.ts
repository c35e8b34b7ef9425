/**
 * The key of a bidirectional flow: the 5-tuple with its two ends in a fixed
 * order, so both directions of a conversation find the same flow. flow-meter
 * keys its table on it and flow-classify its list of condemned flows (drop
 * mode), from a packet or from a flow record.
 *
 * An IPv4 TCP, UDP or ICMP flow (nearly all traffic) is two numbers for
 * BoundedTable (lib/detect/table.ts), built without allocating: the lower end
 * (address 32 bits, port 16) in `key` (48 bits), the higher end and a 2-bit
 * protocol code in `key2` (50 bits), both below 2^53. Anything else (IPv6,
 * other IP protocols) gets a string key, one allocation per packet.
 */
import { parseIp } from '../../base/cidr';

/** IPv4 text → the signed 32-bit integer the decoder puts in src4/dst4; null for anything else. */
function ipv4Int(text: string): number | null {
  const ip = parseIp(text);
  if (ip === null || ip.family !== 4) return null;
  const b = ip.bytes;
  return (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
}

/** A flow key as BoundedTable takes it: `key` and `key2` (0 for a string key). */
export interface FlowKey {
  key: number | string;
  key2: number;
}

const PROTO_CODE: Readonly<Record<string, number>> = { tcp: 1, udp: 2, icmp: 3 };

/** The 5-tuple of a flow end: what the key is built from (a packet or a record). */
export interface FlowEnds {
  proto: string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  src4?: number;
  dst4?: number;
}

/**
 * The key of the flow `e` belongs to, written into `out` (reused: no object
 * per packet). Ports absent (ICMP, fragments without a transport header) count as 0.
 */
export function flowKeyInto(e: FlowEnds, out: FlowKey): FlowKey {
  const sp = e.sport ?? 0;
  const dp = e.dport ?? 0;
  const code = PROTO_CODE[e.proto];
  const s4 = e.src4 ?? (code !== undefined ? ipv4Int(e.src) : null);
  const d4 = e.dst4 ?? (code !== undefined ? ipv4Int(e.dst) : null);
  if (code !== undefined && typeof s4 === 'number' && typeof d4 === 'number') {
    const a = (s4 >>> 0) * 65536 + sp;
    const b = (d4 >>> 0) * 65536 + dp;
    if (a <= b) {
      out.key = a;
      out.key2 = b * 4 + code;
    } else {
      out.key = b;
      out.key2 = a * 4 + code;
    }
    return out;
  }
  const one = `${e.src}|${sp}`;
  const two = `${e.dst}|${dp}`;
  out.key = one <= two ? `${e.proto}|${one}|${two}` : `${e.proto}|${two}|${one}`;
  out.key2 = 0;
  return out;
}
