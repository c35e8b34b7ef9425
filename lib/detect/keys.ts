/**
 * State keys of addresses. Detector tables are keyed on numbers where the
 * packet is IPv4 (the decoder's `src4`/`dst4`) and on the address text
 * otherwise: hashing a number costs a few instructions, hashing a string a
 * loop over its characters, and a composite key such as 'src>dst' would be
 * a new string per packet (garbage). Composite keys are two-part (see
 * BoundedTable): exact, numeric when both addresses are IPv4.
 */
import type { Packet } from '../packet/types';

/** An address as a state key: the IPv4 address as a signed 32-bit integer, or the text (IPv6, unknown). */
export type AddrKey = number | string;

/** The key of an address text: dotted-quad IPv4 → integer (as the decoder's `src4`), anything else → the text. */
export function addrKey(text: string): AddrKey {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // No leading zeros: '010.0.0.1' is not the text the decoder makes, so it keeps a text key.
      if (digits > 0 && octet === 0) return text;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return text;
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return text;
    }
  }
  if (dots !== 3 || digits === 0) return text;
  return (value * 256 + octet) | 0;
}

export function srcKey(p: Packet): AddrKey {
  const n = p.src4;
  return n !== undefined ? n : addrKey(p.src);
}

export function dstKey(p: Packet): AddrKey {
  const n = p.dst4;
  return n !== undefined ? n : addrKey(p.dst);
}

/** The address text of a key. */
export function keyText(k: AddrKey): string {
  if (typeof k === 'string') return k;
  return `${k >>> 24}.${(k >>> 16) & 0xff}.${(k >>> 8) & 0xff}.${k & 0xff}`;
}

/**
 * First part of the two-part key of (a, b, n), n an integer in [0, 65536):
 * `a` when both are IPv4 (b and n then go into the second part, `pairLow`),
 * else the text 'a>b'.
 */
export function pairHigh(a: AddrKey, b: AddrKey): AddrKey {
  return typeof a === 'number' && typeof b === 'number' ? a : `${a}>${b}`;
}

/** Second part of the key of (a, b, n): exact within a double's 53 bits. */
export function pairLow(a: AddrKey, b: AddrKey, n = 0): number {
  return typeof a === 'number' && typeof b === 'number' ? b * 65536 + n : n;
}

/** Small codes of the protocols detectors key on (0 for any other). */
export function protoCode(proto: string): number {
  switch (proto) {
    case 'tcp': return 1;
    case 'udp': return 2;
    case 'icmp': return 3;
    case 'icmp6': return 4;
    default: return 0;
  }
}

/**
 * First part of the key of a connection (a:aPort → b:bPort), whose second
 * part is `pairLow(a, b, bPort)`: a × 65536 + aPort when both are IPv4,
 * else the text 'a|aPort>b'.
 */
export function connHigh(a: AddrKey, b: AddrKey, aPort: number): AddrKey {
  return typeof a === 'number' && typeof b === 'number' ? a * 65536 + aPort : `${a}|${aPort}>${b}`;
}
