/**
 * Sorted address ranges in typed arrays, for tables far larger than an
 * allowlist: threat lists of 500,000 CIDRs, GeoIP and ASN tables of
 * 400,000+ ranges. IPv4 addresses are uint32 values, IPv6 addresses four
 * uint32 words (most significant first); a lookup is a binary search (19-20
 * steps at 500,000 entries) with no allocation for IPv4, so millions of
 * lookups a second, and an entry costs 13 bytes (IPv4) or 37 bytes (IPv6)
 * instead of the ~200 of a `Cidr` object with its Uint8Array and text.
 * `CidrSet` (cidr.ts) stays for short lists (allowlists, LAN networks): it
 * keeps each entry's canonical text and validates with reasons; this file
 * adds the bulk form and a parser for IPv4 text that allocates nothing.
 */
import { formatIp, parseIp } from './cidr';

/** IPv4 dotted quad (no leading zeros beyond a single 0) → uint32, or -1. Allocates nothing. */
export function ipv4ToUint(s: string, start = 0, end = s.length): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let first = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255 || (digits > 1 && first === 48)) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 0) first = c;
      part = part * 10 + (c - 48);
      if (++digits > 3) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0 || part > 255 || (digits > 1 && first === 48)) return -1;
  return n * 256 + part;
}

/** 16 address bytes → four uint32 words into `out` at `at`. */
function bytesToWords(b: Uint8Array, out: Uint32Array, at: number): void {
  for (let w = 0; w < 4; w++) out[at + w] = ((b[4 * w] << 24) | (b[4 * w + 1] << 16) | (b[4 * w + 2] << 8) | b[4 * w + 3]) >>> 0;
}

/** The last address of a prefix: `start` with the host bits set (IPv6 words). */
function v6End(start: Uint32Array, at: number, prefix: number, out: Uint32Array, outAt: number): void {
  for (let w = 0; w < 4; w++) {
    const bits = Math.min(32, Math.max(0, prefix - 32 * w));
    const hostMask = bits === 32 ? 0 : bits === 0 ? 0xffffffff : (0xffffffff >>> bits);
    out[outAt + w] = (start[at + w] | hostMask) >>> 0;
  }
}

/** Compare IPv6 words a[ai..ai+3] with b[bi..bi+3]. */
function cmp6(a: Uint32Array, ai: number, b: Uint32Array, bi: number): number {
  for (let w = 0; w < 4; w++) {
    const x = a[ai + w];
    const y = b[bi + w];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Scratch words for parsing a looked-up IPv6 address (one lookup at a time: JavaScript is single-threaded). */
const SCRATCH6 = new Uint32Array(4);

const GROUPS = new Uint16Array(8);

/**
 * An IPv6 address text ('::', an embedded IPv4 tail and a %zone allowed) →
 * SCRATCH6, or false. Allocates nothing: five times the rate of parsing
 * through cidr.ts, for the IPv6 packets and flows of the lookup path.
 */
function parseV6Into(s: string): boolean {
  let end = s.indexOf('%');
  if (end < 0) end = s.length;
  if (end < 2 || end > 45) return false;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === end) return fillWords(n, gap);
  }
  for (;;) {
    const start = i;
    let v = 0;
    while (i < end && i - start < 5) {
      const c = s.charCodeAt(i);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      v = v * 16 + d;
      i++;
    }
    if (i < end && s.charCodeAt(i) === 46) {
      // an IPv4 tail: the last 32 bits
      const v4 = ipv4ToUint(s, start, end);
      if (v4 < 0 || n > 6) return false;
      GROUPS[n++] = v4 >>> 16;
      GROUPS[n++] = v4 & 0xffff;
      return fillWords(n, gap);
    }
    if (i === start || i - start > 4 || n === 8) return false;
    GROUPS[n++] = v;
    if (i === end) return fillWords(n, gap);
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
      if (i === end) return fillWords(n, gap);
    } else if (i === end) {
      return false;
    }
  }
}

/** `n` groups read, '::' before group `gap` (-1: none) → SCRATCH6. */
function fillWords(n: number, gap: number): boolean {
  if (gap < 0 ? n !== 8 : n > 7) return false;
  const zeros = 8 - n;
  for (let w = 0; w < 4; w++) {
    const hi = groupAt(2 * w, gap, zeros);
    const lo = groupAt(2 * w + 1, gap, zeros);
    SCRATCH6[w] = ((hi << 16) | lo) >>> 0;
  }
  return true;
}

function groupAt(k: number, gap: number, zeros: number): number {
  if (gap < 0 || k < gap) return GROUPS[k];
  if (k < gap + zeros) return 0;
  return GROUPS[k - zeros];
}

/**
 * Collects CIDRs (text, IPv4 or IPv6, bare addresses as /32 and /128) and
 * builds an `IpRangeSet`. IPv4 text is parsed without allocating; IPv6 goes
 * through cidr.ts. `add` returns false for text that is not a CIDR.
 */
export class IpRangeSetBuilder {
  private v4s: number[] = [];
  private v4p: number[] = [];
  private v6: number[] = [];
  private v6p: number[] = [];

  add(text: string): boolean {
    const slash = text.indexOf('/');
    const addrEnd = slash < 0 ? text.length : slash;
    let prefix = -1;
    if (slash >= 0) {
      const len = text.length - slash - 1;
      if (len < 1 || len > 3) return false;
      prefix = 0;
      for (let i = slash + 1; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c < 48 || c > 57) return false;
        prefix = prefix * 10 + (c - 48);
      }
    }
    const n = ipv4ToUint(text, 0, addrEnd);
    if (n >= 0) {
      if (prefix < 0) prefix = 32;
      if (prefix > 32) return false;
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      this.v4s.push((n & mask) >>> 0);
      this.v4p.push(prefix);
      return true;
    }
    const p = parseIp(slash < 0 ? text : text.slice(0, slash));
    if (!p || p.family !== 6) return false;
    if (prefix < 0) prefix = 128;
    if (prefix > 128) return false;
    const b = p.bytes;
    for (let bit = prefix; bit < 128; bit++) b[bit >> 3] &= ~(0x80 >> (bit & 7));
    const words = new Uint32Array(4);
    bytesToWords(b, words, 0);
    this.v6.push(words[0], words[1], words[2], words[3]);
    this.v6p.push(prefix);
    return true;
  }

  get size(): number {
    return this.v4p.length + this.v6p.length;
  }

  build(): IpRangeSet {
    return new IpRangeSet(this.build4(), this.build6());
  }

  private build4(): Ranges4 {
    const count = this.v4p.length;
    // Sort by start, then the wider prefix first, so a network comes before the networks inside it.
    const order = new Uint32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
    const s = this.v4s;
    const p = this.v4p;
    order.sort((a, b) => s[a] - s[b] || p[a] - p[b]);
    const start = new Uint32Array(count);
    const end = new Uint32Array(count);
    const prefix = new Uint8Array(count);
    let n = 0;
    for (let k = 0; k < count; k++) {
      const i = order[k];
      if (n > 0 && start[n - 1] === s[i] && prefix[n - 1] === p[i]) continue; // duplicate
      start[n] = s[i];
      prefix[n] = p[i];
      end[n] = p[i] === 0 ? 0xffffffff : (s[i] + 2 ** (32 - p[i]) - 1);
      n++;
    }
    this.v4s = [];
    this.v4p = [];
    return withParents4({ start: start.slice(0, n), end: end.slice(0, n), prefix: prefix.slice(0, n), parent: new Int32Array(n) });
  }

  private build6(): Ranges6 {
    const count = this.v6p.length;
    const w = Uint32Array.from(this.v6);
    const p = this.v6p;
    const order = Array.from({ length: count }, (_, i) => i);
    order.sort((a, b) => cmp6(w, 4 * a, w, 4 * b) || p[a] - p[b]);
    const start = new Uint32Array(4 * count);
    const end = new Uint32Array(4 * count);
    const prefix = new Uint8Array(count);
    let n = 0;
    for (const i of order) {
      if (n > 0 && prefix[n - 1] === p[i] && cmp6(start, 4 * (n - 1), w, 4 * i) === 0) continue;
      for (let k = 0; k < 4; k++) start[4 * n + k] = w[4 * i + k];
      prefix[n] = p[i];
      v6End(start, 4 * n, p[i], end, 4 * n);
      n++;
    }
    this.v6 = [];
    this.v6p = [];
    const r: Ranges6 = { start: start.slice(0, 4 * n), end: end.slice(0, 4 * n), prefix: prefix.slice(0, n), parent: new Int32Array(n) };
    // Parents: the nearest enclosing entry, from a stack of open networks.
    const stack: number[] = [];
    for (let i = 0; i < n; i++) {
      while (stack.length && cmp6(r.end, 4 * stack[stack.length - 1], r.start, 4 * i) < 0) stack.pop();
      r.parent[i] = stack.length ? stack[stack.length - 1] : -1;
      stack.push(i);
    }
    return r;
  }
}

interface Ranges4 {
  start: Uint32Array;
  end: Uint32Array;
  prefix: Uint8Array;
  /** The nearest entry that contains this one, or -1: CIDRs nest or are disjoint, so a miss on the last start ≤ x walks up these. */
  parent: Int32Array;
}

interface Ranges6 {
  start: Uint32Array;
  end: Uint32Array;
  prefix: Uint8Array;
  parent: Int32Array;
}

function withParents4(r: Ranges4): Ranges4 {
  const stack: number[] = [];
  for (let i = 0; i < r.start.length; i++) {
    while (stack.length && r.end[stack[stack.length - 1]] < r.start[i]) stack.pop();
    r.parent[i] = stack.length ? stack[stack.length - 1] : -1;
    stack.push(i);
  }
  return r;
}

/**
 * First-level index of sorted IPv4 starts by their top 16 bits: entry
 * `index[h]` is the first whose start is ≥ h·65536. A lookup then searches
 * only its /16's entries (a handful at 500,000 entries instead of 19 steps
 * over all), which doubles the lookup rate; it costs 256 KiB per table, so
 * small tables (allowlists) go without.
 */
function bucketIndex(start: Uint32Array): Uint32Array | null {
  if (start.length < 1024) return null;
  const index = new Uint32Array(65_537);
  let i = 0;
  for (let h = 0; h <= 65_536; h++) {
    while (i < start.length && start[i] < h * 65_536) i++;
    index[h] = i;
  }
  return index;
}

/** Index of the last entry whose start ≤ x (unsigned), or -1, searching only x's /16 bucket. */
function lastStartAtMost4(start: Uint32Array, index: Uint32Array | null, x: number): number {
  const h = x >>> 16;
  let lo = index === null ? 0 : index[h];
  let hi = index === null ? start.length - 1 : index[h + 1] - 1;
  let found = lo - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (start[mid] <= x) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function lastStartAtMost6(start: Uint32Array, x: Uint32Array): number {
  let lo = 0;
  let hi = start.length / 4 - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp6(start, 4 * mid, x, 0) <= 0) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** An entry found by a lookup: the family and its index (for `entryText`). */
export type RangeHit = number;

/**
 * A set of IPv4 and IPv6 CIDRs that may nest: `find4`/`find` give the most
 * specific entry containing an address (a hit index: IPv4 entries 0..n4-1,
 * IPv6 entries n4..), or -1; `entryText` turns a hit into canonical text.
 */
export class IpRangeSet {
  private readonly index4: Uint32Array | null;

  constructor(private readonly r4: Ranges4, private readonly r6: Ranges6) {
    this.index4 = bucketIndex(r4.start);
  }

  get size(): number {
    return this.r4.start.length + this.r6.prefix.length;
  }

  get size4(): number {
    return this.r4.start.length;
  }

  get size6(): number {
    return this.r6.prefix.length;
  }

  /** Bytes held by the typed arrays. */
  get bytes(): number {
    const a = [this.r4.start, this.r4.end, this.r4.prefix, this.r4.parent, this.index4 ?? new Uint32Array(0), this.r6.start, this.r6.end, this.r6.prefix, this.r6.parent];
    return a.reduce((sum, x) => sum + x.byteLength, 0);
  }

  /** An IPv4 address as uint32 (or the decoder's signed `src4`: `>>> 0` makes it unsigned). */
  find4(x: number): RangeHit {
    const r = this.r4;
    if (r.start.length === 0) return -1;
    const u = x >>> 0;
    for (let i = lastStartAtMost4(r.start, this.index4, u); i >= 0; i = r.parent[i]) if (u <= r.end[i]) return i;
    return -1;
  }

  /** IPv6 words in SCRATCH6-style array (4 words). */
  private find6(x: Uint32Array): RangeHit {
    const r = this.r6;
    if (r.prefix.length === 0) return -1;
    for (let i = lastStartAtMost6(r.start, x); i >= 0; i = r.parent[i]) if (cmp6(x, 0, r.end, 4 * i) <= 0) return this.r4.start.length + i;
    return -1;
  }

  /** Any address text; -1 for none or for text that is not an address. */
  find(ip: string): RangeHit {
    const n = ipv4ToUint(ip);
    if (n >= 0) return this.find4(n);
    if (this.r6.prefix.length === 0 || !parseV6Into(ip)) return -1;
    return this.find6(SCRATCH6);
  }

  has(ip: string): boolean {
    return this.find(ip) >= 0;
  }

  /** Canonical CIDR text of a hit, e.g. '198.51.100.0/24'. */
  entryText(hit: RangeHit): string {
    const n4 = this.r4.start.length;
    if (hit < n4) {
      const s = this.r4.start[hit];
      return `${s >>> 24}.${(s >>> 16) & 255}.${(s >>> 8) & 255}.${s & 255}/${this.r4.prefix[hit]}`;
    }
    const i = hit - n4;
    const b = new Uint8Array(16);
    for (let w = 0; w < 4; w++) {
      const v = this.r6.start[4 * i + w];
      b[4 * w] = v >>> 24;
      b[4 * w + 1] = (v >>> 16) & 255;
      b[4 * w + 2] = (v >>> 8) & 255;
      b[4 * w + 3] = v & 255;
    }
    return `${formatIp(b)}/${this.r6.prefix[i]}`;
  }

  /** Every entry's CIDR text (for kernel sets and the cache), IPv4 first. */
  *entries(): Generator<string> {
    for (let i = 0; i < this.size; i++) yield this.entryText(i);
  }

  /** IPv4 entries as [start, end] uint32 pairs, sorted (nested ones included). */
  ranges4(): Array<[number, number]> {
    return Array.from(this.r4.start, (s, i) => [s, this.r4.end[i]]);
  }

  /** IPv6 entries as [start, end] 128-bit BigInts, sorted. */
  ranges6(): Array<[bigint, bigint]> {
    const big = (a: Uint32Array, i: number): bigint => (BigInt(a[4 * i]) << 96n) | (BigInt(a[4 * i + 1]) << 64n) | (BigInt(a[4 * i + 2]) << 32n) | BigInt(a[4 * i + 3]);
    return Array.from(this.r6.prefix, (_, i) => [big(this.r6.start, i), big(this.r6.end, i)]);
  }
}

/** Addresses as [start, end] ranges of one family: the form kernel sets are computed in. */
export type Interval = [bigint, bigint];

/** Sort and merge overlapping or adjacent intervals. */
export function mergeIntervals(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Interval[] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1] + 1n) {
      if (e > last[1]) last[1] = e;
    } else {
      out.push([s, e]);
    }
  }
  return out;
}

/** `keep` minus `remove` (both merged and sorted). */
export function subtractIntervals(keep: Interval[], remove: Interval[]): Interval[] {
  const out: Interval[] = [];
  let j = 0;
  for (const [s0, e] of keep) {
    let s = s0;
    while (j < remove.length && remove[j][1] < s) j++;
    let k = j;
    while (k < remove.length && remove[k][0] <= e && s <= e) {
      if (remove[k][0] > s) out.push([s, remove[k][0] - 1n]);
      s = remove[k][1] + 1n;
      k++;
    }
    if (s <= e) out.push([s, e]);
  }
  return out;
}

/** The fewest CIDRs that cover [start, end] exactly, for a family of `bits` (32 or 128). */
export function intervalToCidrs(start: bigint, end: bigint, bits: 32 | 128): string[] {
  const out: string[] = [];
  let s = start;
  while (s <= end) {
    // The largest block aligned at s that does not pass end.
    let size = 0;
    while (size < bits && ((s >> BigInt(size)) & 1n) === 0n && s + (1n << BigInt(size + 1)) - 1n <= end) size++;
    out.push(`${bigToText(s, bits)}/${bits - size}`);
    s += 1n << BigInt(size);
  }
  return out;
}

/** Text of an address given as a number of `bits` (32: IPv4, 128: IPv6). */
export function bigToText(v: bigint, bits: 32 | 128): string {
  if (bits === 32) {
    const n = Number(v);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const b = new Uint8Array(16);
  for (let i = 15, x = v; i >= 0; i--, x >>= 8n) b[i] = Number(x & 255n);
  return formatIp(b);
}

/** An address text → [family, value as BigInt], or null. */
export function addressValue(ip: string): [4 | 6, bigint] | null {
  const p = parseIp(ip);
  if (!p) return null;
  let v = 0n;
  for (const byte of p.bytes) v = (v << 8n) | BigInt(byte);
  return [p.family, v];
}

/**
 * Non-overlapping ranges with a numeric value each (GeoIP country, AS
 * number): `value4(x)` / `value(ip)` give the value of the range containing
 * an address, or -1. Built from sorted, disjoint ranges.
 */
export class ValueRanges {
  private readonly index4: Uint32Array | null;

  private constructor(
    private readonly start4: Uint32Array,
    private readonly end4: Uint32Array,
    private readonly val4: Uint32Array,
    private readonly start6: Uint32Array,
    private readonly end6: Uint32Array,
    private readonly val6: Uint32Array,
  ) {
    this.index4 = bucketIndex(start4);
  }

  /** From arrays as they are stored in a cache file (see `arrays`). */
  static fromArrays(a: readonly Uint32Array[]): ValueRanges {
    const [s4, e4, v4, s6, e6, v6] = a;
    return new ValueRanges(s4, e4, v4, s6, e6, v6);
  }

  /** The six arrays (IPv4 start/end/value, IPv6 start/end/value) for a cache file. */
  get arrays(): Uint32Array[] {
    return [this.start4, this.end4, this.val4, this.start6, this.end6, this.val6];
  }

  get size(): number {
    return this.start4.length + this.val6.length;
  }

  value4(x: number): number {
    const u = x >>> 0;
    const i = lastStartAtMost4(this.start4, this.index4, u);
    return i >= 0 && u <= this.end4[i] ? this.val4[i] : -1;
  }

  value(ip: string): number {
    const n = ipv4ToUint(ip);
    if (n >= 0) return this.value4(n);
    if (this.val6.length === 0 || !parseV6Into(ip)) return -1;
    const i = lastStartAtMost6(this.start6, SCRATCH6);
    return i >= 0 && cmp6(SCRATCH6, 0, this.end6, 4 * i) <= 0 ? this.val6[i] : -1;
  }
}

/** Collects ranges (sorted or not, disjoint) with values, then builds `ValueRanges`. */
export class ValueRangesBuilder {
  private readonly r4: number[] = [];
  private readonly r6: number[] = [];

  /** IPv4 range as uint32 values. */
  add4(start: number, end: number, value: number): void {
    this.r4.push(start, end, value);
  }

  /** IPv6 range as 128-bit BigInts. */
  add6(start: bigint, end: bigint, value: number): void {
    const words = (v: bigint): number[] => [Number((v >> 96n) & 0xffffffffn), Number((v >> 64n) & 0xffffffffn), Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn)];
    this.r6.push(...words(start), ...words(end), value);
  }

  build(): ValueRanges {
    const n4 = this.r4.length / 3;
    const o4 = Array.from({ length: n4 }, (_, i) => i).sort((a, b) => this.r4[3 * a] - this.r4[3 * b]);
    const s4 = new Uint32Array(n4);
    const e4 = new Uint32Array(n4);
    const v4 = new Uint32Array(n4);
    o4.forEach((i, k) => {
      s4[k] = this.r4[3 * i];
      e4[k] = this.r4[3 * i + 1];
      v4[k] = this.r4[3 * i + 2];
    });
    const n6 = this.r6.length / 9;
    const all6 = Uint32Array.from(this.r6);
    const o6 = Array.from({ length: n6 }, (_, i) => i).sort((a, b) => cmp6(all6, 9 * a, all6, 9 * b));
    const s6 = new Uint32Array(4 * n6);
    const e6 = new Uint32Array(4 * n6);
    const v6 = new Uint32Array(n6);
    o6.forEach((i, k) => {
      for (let w = 0; w < 4; w++) {
        s6[4 * k + w] = all6[9 * i + w];
        e6[4 * k + w] = all6[9 * i + 4 + w];
      }
      v6[k] = all6[9 * i + 8];
    });
    return ValueRanges.fromArrays([s4, e4, v4, s6, e6, v6]);
  }
}
