/**
 * IP addresses and CIDR ranges, IPv4 and IPv6: parsing with a reason on
 * refusal, canonical text, and fast membership tests for allowlists.
 */
import { formatIpv6At } from './address';

export type IpFamily = 4 | 6;

export interface Cidr {
  family: IpFamily;
  /** Network address bytes (4 or 16), host bits cleared. */
  bytes: Uint8Array;
  prefix: number;
  /** Canonical text, e.g. '10.0.0.0/8', 'fd00::/8'. */
  text: string;
}

const IPV4_PART = /^(0|[1-9]\d{0,2})$/;

/** IPv4 text → 4 bytes, or null. Leading zeros are refused (ambiguous octal). */
function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!IPV4_PART.test(parts[i])) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** IPv6 text (with '::', embedded IPv4, optional %zone) → 16 bytes, or null. */
function parseIpv6(input: string): Uint8Array | null {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.length < 2 || s.length > 45) return null;
  const out = new Uint8Array(16);
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const words: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (!v4) return null;
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        words.push(parseInt(g, 16));
      }
    }
    return words;
  };
  const head = parseGroups(halves[0]);
  const tail = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (!head || !tail) return null;
  if (halves.length === 1 && head.length !== 8) return null;
  if (halves.length === 2 && head.length + tail.length > 7) return null;
  const words = new Array<number>(8).fill(0);
  head.forEach((w, i) => (words[i] = w));
  tail.forEach((w, i) => (words[8 - tail.length + i] = w));
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >> 8;
    out[2 * i + 1] = words[i] & 0xff;
  }
  return out;
}

/** Bytes of an address, or null when `s` is not an IPv4 or IPv6 address. */
export function parseIp(s: string): { family: IpFamily; bytes: Uint8Array } | null {
  if (typeof s !== 'string') return null;
  const t = s;
  if (t.includes(':')) {
    const b = parseIpv6(t);
    return b ? { family: 6, bytes: b } : null;
  }
  const b = parseIpv4(t);
  return b ? { family: 4, bytes: b } : null;
}

export function isValidIp(s: string): boolean {
  return parseIp(s) !== null;
}

export function ipFamily(s: string): IpFamily | null {
  const p = parseIp(s);
  return p ? p.family : null;
}

/** Canonical text of address bytes: dotted quad, or RFC 5952 IPv6 (the decoder's formatter). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  return formatIpv6At(Buffer.from(bytes.buffer, bytes.byteOffset, 16), 0);
}

/** Canonical text of an address, or throws with the reason. */
export function normalizeIp(s: string): string {
  const p = parseIp(s);
  if (!p) throw new Error(`invalid IP address '${String(s)}'`);
  return formatIp(p.bytes);
}

/** Parse 'a.b.c.d/n', 'x::/n', or a bare address (a /32 or /128). Throws with the reason. */
export function parseCidr(s: string): Cidr {
  if (typeof s !== 'string' || s.trim() === '') throw new Error('empty CIDR');
  const t = s.trim();
  const slash = t.indexOf('/');
  const addrText = slash >= 0 ? t.slice(0, slash) : t;
  const ip = parseIp(addrText);
  if (!ip) throw new Error(`invalid CIDR '${t}': '${addrText}' is not an IPv4 or IPv6 address`);
  const max = ip.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new Error(`invalid CIDR '${t}': prefix length must be 0-${max}`);
    prefix = Number(p);
  }
  const bytes = ip.bytes.slice();
  for (let bit = prefix; bit < max; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { family: ip.family, bytes, prefix, text: `${formatIp(bytes)}/${prefix}` };
}

/**
 * Parse a list of CIDRs given as an array or as text separated by commas,
 * whitespace or newlines. Throws one error naming every bad entry.
 */
export function parseCidrList(list: string | readonly string[]): Cidr[] {
  const items = typeof list === 'string' ? list.split(/[\s,]+/) : [...list];
  const out: Cidr[] = [];
  const bad: string[] = [];
  for (const raw of items) {
    const item = raw.trim();
    if (!item) continue;
    try {
      out.push(parseCidr(item));
    } catch (err) {
      bad.push((err as Error).message);
    }
  }
  if (bad.length) throw new Error(bad.join('; '));
  return out;
}

function bytesInCidr(c: Cidr, bytes: Uint8Array): boolean {
  const full = c.prefix >> 3;
  for (let i = 0; i < full; i++) if (bytes[i] !== c.bytes[i]) return false;
  const rest = c.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[full] & mask) === c.bytes[full];
}

export function cidrContains(c: Cidr, ip: string): boolean {
  const p = parseIp(ip);
  return !!p && p.family === c.family && bytesInCidr(c, p.bytes);
}

/** IPv4 dotted quad → uint32, or -1. Fast path for the packet hot path. */
function ipv4ToInt(s: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1;
  return n * 256 + part;
}

/**
 * A set of CIDRs with a fast `has(ip)`: IPv4 ranges compare as integers
 * without allocating; IPv6 goes through byte matching. An empty set has
 * nothing, so `has` is one length check.
 */
export class CidrSet {
  readonly cidrs: readonly Cidr[];
  private readonly v4: { base: number; mask: number }[] = [];
  private readonly v6: Cidr[] = [];

  constructor(list: string | readonly string[] | readonly Cidr[] = []) {
    const cidrs = typeof list === 'string' || list.length === 0 || typeof list[0] === 'string'
      ? parseCidrList(list as string | readonly string[])
      : [...(list as readonly Cidr[])];
    this.cidrs = cidrs;
    for (const c of cidrs) {
      if (c.family === 4) {
        const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
        const base = ((c.bytes[0] << 24) | (c.bytes[1] << 16) | (c.bytes[2] << 8) | c.bytes[3]) >>> 0;
        this.v4.push({ base, mask });
      } else {
        this.v6.push(c);
      }
    }
  }

  get size(): number {
    return this.cidrs.length;
  }

  has(ip: string): boolean {
    if (this.cidrs.length === 0) return false;
    const n = ipv4ToInt(ip);
    if (n >= 0) {
      for (const r of this.v4) if (((n & r.mask) >>> 0) === r.base) return true;
      return false;
    }
    if (this.v6.length === 0) return false;
    const p = parseIp(ip);
    if (!p || p.family !== 6) return false;
    for (const c of this.v6) if (bytesInCidr(c, p.bytes)) return true;
    return false;
  }
}
