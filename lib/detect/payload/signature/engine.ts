/**
 * The rule-language evaluator: many signatures in one pass per Inspection.
 *
 * - Headers: rules sharing a header (protocol, addresses, ports, direction)
 *   share one check per unit; a typical rule set has tens of headers for
 *   thousands of rules.
 * - Prefilter: each rule's fast pattern (its `fast_pattern` content, else
 *   its longest content, at most 32 bytes) goes into one Aho-Corasick
 *   automaton per buffer (anchors.ts); one scan of each buffer the unit has
 *   lists the candidate rules. Only candidates whose header applies are
 *   verified, so the work per unit follows the payload's length and the
 *   candidates, not the number of rules (5,000 rules: tests count it).
 *   Rules without a content are candidates on every unit their header admits.
 * - Verification: flow, dsize, flags, itype/icode, flowbits checks, then the
 *   contents and pcres of each buffer in rule order with offset/depth and
 *   distance/within, retrying later occurrences when a relative item after
 *   them fails (as Snort and Suricata do), within a budget of
 *   MAX_STEPS searches per rule and unit.
 * - After a match: flowbits set/unset/toggle on the unit's connection, then
 *   threshold / detection_filter on packet time per source or destination
 *   (a bounded table), then `noalert`.
 * - Found once: the default buffer is the reassembled `stream` (else
 *   `pkt_data`); its first `streamContext` bytes were inspected with earlier
 *   packets, so a chain over it must end in this packet's new bytes (later
 *   occurrences are retried for that, within the same step budget).
 * - HTTP rules per transaction: a rule's HTTP buffers are read from the
 *   unit's new fields, else from its `httpContext` (the message's fields
 *   completed earlier: the URI and headers when the body completes later),
 *   so a rule on the URI and the body matches when the later of them
 *   completes, whatever the segmentation. A unit with a context evaluates
 *   only rules with at least one HTTP buffer new in it, or a content on the
 *   stream (its new bytes, found once as above); the others were evaluated
 *   when their buffers were new: once per message.
 */
import { flagBitsOf } from '../../../packet/tcp-flags';
import { dstKey, srcKey, type AddrKey } from '../../keys';
import { BoundedTable } from '../../table';
import { AnchorAutomaton, type Anchor } from '../anchors';
import { bufferAt, bufferIndex, type Inspection } from '../inspection';
import { addrMatches, portMatches } from './header';
import { flagsMatch, numMatches, type BufferKey, type MatchItem, type Signature, type ThresholdSpec } from './parse';

const NO_HITS: readonly SignatureHit[] = Object.freeze([]);

/** Searches one rule may make in one unit (occurrences retried for relative matches). */
export const MAX_STEPS = 1000;

export interface SignatureHit {
  sig: Signature;
  /** Buffer and span of the positive contents and pcres matched in the rule's first buffer (none for a rule without one). */
  buffer: BufferKey | null;
  bytes: Uint8Array | null;
  start: number;
  end: number;
}

interface HeaderGroup {
  sample: Signature;
}

interface ThresholdState {
  start: number;
  count: number;
}

/** Work counters, for tests and the status: units seen, candidates from the prefilter (and unanchored rules), rules verified. */
export interface EngineCounters {
  units: number;
  candidates: number;
  verified: number;
  matched: number;
}

/** A chain's items with, per item, whether a relative item follows (then other occurrences are worth retrying). */
interface Chain {
  buffer: BufferKey;
  /** `buffer` resolved (see `bufferIndexOf`). */
  index: number;
  items: MatchItem[];
  retry: Uint8Array;
}

/** The default buffer: the reassembled stream, else the packet's payload. */
const PAYLOAD = -1;

/** A rule's buffer as read on the packet path: PAYLOAD or an index for `bufferAt`. */
function bufferIndexOf(key: BufferKey): number {
  return key === 'payload' ? PAYLOAD : bufferIndex(key);
}

function protoApplies(sig: Signature, ins: Inspection): boolean {
  const proto = ins.packet.proto;
  switch (sig.proto) {
    case 'tcp': return proto === 'tcp';
    case 'udp': return proto === 'udp';
    case 'icmp': return proto === 'icmp' || proto === 'icmp6';
    // An HTTP message's unit: its header fields, or its body with them as context.
    case 'http': return proto === 'tcp' && (ins.buffers['http.method'] !== undefined || ins.buffers['http.stat_code'] !== undefined || (ins.httpContext !== undefined && ins.httpContext !== null));
    default: return ins.packet.ip !== 0;
  }
}

function headerApplies(sig: Signature, ins: Inspection): boolean {
  if (!protoApplies(sig, ins)) return false;
  const p = ins.packet;
  if (addrMatches(sig.src, p.src) && portMatches(sig.sport, p.sport) && addrMatches(sig.dst, p.dst) && portMatches(sig.dport, p.dport)) return true;
  return sig.bidirectional && addrMatches(sig.src, p.dst) && portMatches(sig.sport, p.dport) && addrMatches(sig.dst, p.src) && portMatches(sig.dport, p.sport);
}

/** ASCII lower case (Snort's and Suricata's nocase), byte for byte. */
function lowerAscii(b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(b.length);
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    out[i] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
  }
  return out;
}

export class SignatureEngine {
  readonly signatures: readonly Signature[];
  private readonly chains: Chain[][];
  /** Per rule: the HTTP buffers its chains read (empty for a rule on the stream or packet only). */
  private readonly httpKeys: BufferKey[][];
  /** Per rule: 1 when a chain reads the stream or packet (new bytes in every unit that has them). */
  private readonly readsPayload: Uint8Array;
  private readonly groups: HeaderGroup[];
  private readonly groupOf: Int32Array;
  /** Per unit: 0 unknown, 1 applies, 2 does not. */
  private readonly groupState: Uint8Array;
  private readonly prefilters: { index: number; automaton: AnchorAutomaton }[] = [];
  private readonly unanchored: number[] = [];
  private readonly found: Uint8Array;
  private readonly list: number[] = [];
  private readonly thresholds: BoundedTable<AddrKey, ThresholdState>;
  readonly counters: EngineCounters = { units: 0, candidates: 0, verified: 0, matched: 0 };
  // Per unit, reused.
  private ins: Inspection | null = null;
  private readonly lowered = new Map<BufferKey, Buffer>();
  private readonly texts = new Map<BufferKey, string>();
  private steps = 0;
  /** A chain over the stream must end past this (its context, already inspected): a match is found once. */
  private minEnd = 0;
  private span: { buffer: BufferKey; bytes: Uint8Array; start: number; end: number } | null = null;

  /** `signatures` in evaluation order; rules that set flowbits go first so a checker in the same unit sees the bit. */
  constructor(signatures: readonly Signature[], maxTracked = 50_000) {
    const setsBits = (s: Signature): number => (s.flowbits.some((f) => f.op === 'set' || f.op === 'unset' || f.op === 'toggle') ? 0 : 1);
    this.signatures = [...signatures].sort((a, b) => setsBits(a) - setsBits(b));
    const sigs = this.signatures;
    this.chains = sigs.map((s) => s.chains.map((c) => ({ buffer: c.buffer, index: bufferIndexOf(c.buffer), items: c.items, retry: Uint8Array.from(c.items, (_, k) => (c.items.slice(k + 1).some((x) => x.relative) ? 1 : 0)) })));
    const payloadKey = (b: BufferKey): boolean => b === 'payload' || b === 'pkt_data' || b === 'stream';
    this.httpKeys = sigs.map((s) => [...new Set(s.chains.map((c) => c.buffer).filter((b) => !payloadKey(b)))]);
    this.readsPayload = Uint8Array.from(sigs, (s) => (s.chains.some((c) => payloadKey(c.buffer)) ? 1 : 0));
    const byHeader = new Map<string, number>();
    this.groups = [];
    this.groupOf = new Int32Array(sigs.length);
    sigs.forEach((s, i) => {
      let g = byHeader.get(s.headerKey);
      if (g === undefined) {
        g = this.groups.length;
        byHeader.set(s.headerKey, g);
        this.groups.push({ sample: s });
      }
      this.groupOf[i] = g;
    });
    this.groupState = new Uint8Array(this.groups.length);
    const anchorsBy = new Map<BufferKey, Anchor[]>();
    sigs.forEach((s, i) => {
      if (s.fast === null) {
        this.unanchored.push(i);
        return;
      }
      let list = anchorsBy.get(s.fast.buffer);
      if (!list) anchorsBy.set(s.fast.buffer, (list = []));
      list.push({ text: s.fast.text, rule: i });
    });
    for (const [buffer, anchors] of anchorsBy) this.prefilters.push({ index: bufferIndexOf(buffer), automaton: new AnchorAutomaton(anchors) });
    this.found = new Uint8Array(sigs.length);
    this.thresholds = new BoundedTable<AddrKey, ThresholdState>(maxTracked, () => ({ start: Number.NaN, count: 0 }), 100, (t) => (t.start = Number.NaN));
  }

  /** Some rules have no content (flags, itype, dsize …): they can match a packet without payload. */
  get matchesWithoutContent(): boolean {
    return this.unanchored.length > 0;
  }

  get evictions(): number {
    return this.thresholds.evictions;
  }

  set maxTracked(n: number) {
    this.thresholds.cap = n;
  }

  reset(): void {
    this.thresholds.clear();
    this.thresholds.evictions = 0;
    this.counters.units = this.counters.candidates = this.counters.verified = this.counters.matched = 0;
  }

  /** The rules matching one unit, at most one hit per rule; a shared empty array when none. */
  match(ins: Inspection): readonly SignatureHit[] {
    let hits: SignatureHit[] | null = null;
    if (this.signatures.length === 0) return NO_HITS;
    this.counters.units++;
    this.ins = ins;
    this.groupState.fill(0);
    const list = this.list;
    list.length = 0;
    for (const { index, automaton } of this.prefilters) {
      const bytes = this.bufferOf(index);
      if (bytes !== undefined && bytes.length > 0) automaton.scan(bytes, this.found, list);
    }
    for (const i of list) this.found[i] = 0;
    for (const i of this.unanchored) list.push(i);
    if (list.length > 1) list.sort((a, b) => a - b);
    for (const i of list) {
      if (!this.groupApplies(i)) continue;
      this.counters.candidates++;
      const hit = this.verify(i, ins);
      if (hit !== null) (hits ??= []).push(hit);
    }
    if (this.lowered.size > 0) this.lowered.clear();
    if (this.texts.size > 0) this.texts.clear();
    this.ins = null;
    return hits ?? NO_HITS;
  }

  private groupApplies(i: number): boolean {
    const g = this.groupOf[i];
    let state = this.groupState[g];
    if (state === 0) {
      state = headerApplies(this.groups[g].sample, this.ins as Inspection) ? 1 : 2;
      this.groupState[g] = state;
    }
    return state === 1;
  }

  /** A buffer of the current unit by `bufferIndexOf`: new in it, else (HTTP fields) from its message's context. */
  private bufferOf(index: number): Uint8Array | undefined {
    const ins = this.ins as Inspection;
    const b = ins.buffers;
    if (index === PAYLOAD) return b.stream ?? b.pkt_data;
    const v = bufferAt(b, index);
    return v !== undefined || ins.httpContext === undefined || ins.httpContext === null ? v : bufferAt(ins.httpContext, index);
  }

  /**
   * In a unit with an HTTP context: whether rule i has something new here —
   * an HTTP buffer new in the unit, or the stream's new bytes — else it was
   * evaluated with the earlier units of the message.
   */
  private newInUnit(i: number, ins: Inspection): boolean {
    if (this.readsPayload[i] === 1) return true;
    const keys = this.httpKeys[i];
    if (keys.length === 0) return this.signatures[i].proto !== 'http';
    for (let k = 0; k < keys.length; k++) if (ins.buffers[keys[k] as keyof Inspection['buffers']] !== undefined) return true;
    return false;
  }

  private verify(i: number, ins: Inspection): SignatureHit | null {
    const sig = this.signatures[i];
    const p = ins.packet;
    this.counters.verified++;
    if (ins.httpContext !== undefined && ins.httpContext !== null && !this.newInUnit(i, ins)) return null;
    if (sig.toServer !== null && ins.toServer !== sig.toServer) return null;
    if (sig.established !== null && (ins.flow === null ? sig.established : ins.flow.established !== sig.established)) return null;
    if (sig.dsize !== null && !numMatches(sig.dsize, p.payload.length)) return null;
    if (sig.flags !== null && (p.proto !== 'tcp' || !flagsMatch(sig.flags, flagBitsOf(p)))) return null;
    if (sig.itype !== null && !numMatches(sig.itype, p.icmpType)) return null;
    if (sig.icode !== null && !numMatches(sig.icode, p.icmpCode)) return null;
    const bits = ins.flow?.bits;
    for (const f of sig.flowbits) {
      if (f.op !== 'isset' && f.op !== 'isnotset') continue;
      const has = (n: string): boolean => bits !== undefined && bits.has(n);
      const ok = f.op === 'isset' ? (f.any ? f.names.some(has) : f.names.every(has)) : f.any ? f.names.some((n) => !has(n)) : f.names.every((n) => !has(n));
      if (!ok) return null;
    }
    this.span = null;
    for (const chain of this.chains[i]) {
      const buf = this.bufferOf(chain.index);
      if (buf === undefined) return null;
      this.steps = MAX_STEPS;
      this.minEnd = chain.buffer === 'payload' && ins.buffers.stream !== undefined ? (ins.streamContext ?? 0) : 0;
      if (!this.chainAt(chain, 0, buf, 0)) return null;
    }
    this.counters.matched++;
    if (bits !== undefined) {
      for (const f of sig.flowbits) {
        if (f.op === 'set') for (const n of f.names) bits.add(n);
        else if (f.op === 'unset') for (const n of f.names) bits.delete(n);
        else if (f.op === 'toggle') for (const n of f.names) if (!bits.delete(n)) bits.add(n);
      }
    }
    if (sig.threshold !== null && !this.passesThreshold(i, sig.threshold, ins)) return null;
    if (sig.noalert) return null;
    const span = this.span as { buffer: BufferKey; bytes: Uint8Array; start: number; end: number } | null;
    return span === null ? { sig, buffer: null, bytes: null, start: 0, end: 0 } : { sig, buffer: span.buffer, bytes: span.bytes, start: span.start, end: span.end };
  }

  /** Items k.. of a chain from `prevEnd` (the end of the previous match in this buffer). */
  private chainAt(chain: Chain, k: number, buf: Uint8Array, prevEnd: number): boolean {
    if (k === chain.items.length) return prevEnd > this.minEnd || this.minEnd === 0;
    const item = chain.items[k];
    if (item.kind === 'pcre') return this.pcreAt(chain, k, item, buf, prevEnd);
    const len = item.bytes.length;
    let start = item.relative ? prevEnd + item.distance : item.offset;
    let end = item.relative ? (item.within !== undefined ? start + item.within : buf.length) : item.depth !== undefined ? item.offset + item.depth : buf.length;
    if (start < 0) start = 0;
    if (end > buf.length) end = buf.length;
    if (item.endsWith) start = Math.max(start, end === buf.length ? end - len : end);
    const hay = item.folded !== null ? this.lowerOf(chain.buffer, buf) : (buf as Buffer);
    const needle = item.folded ?? item.bytes;
    let from = start;
    for (;;) {
      if (--this.steps < 0) return false;
      const pos = from + len <= end ? hay.indexOf(needle, from) : -1;
      const found = pos >= 0 && pos + len <= end;
      if (item.negated) return !found && this.chainAt(chain, k + 1, buf, prevEnd);
      if (!found) return false;
      if (this.chainAt(chain, k + 1, buf, pos + len)) {
        this.cover(chain.buffer, buf, pos, pos + len);
        return true;
      }
      if (chain.retry[k] === 0 && this.minEnd === 0) return false;
      from = pos + 1;
    }
  }

  private pcreAt(chain: Chain, k: number, item: Extract<MatchItem, { kind: 'pcre' }>, buf: Uint8Array, prevEnd: number): boolean {
    const whole = this.textOf(chain.buffer, buf);
    const base = item.relative ? Math.min(prevEnd, whole.length) : 0;
    const text = base === 0 ? whole : whole.slice(base);
    const re = item.re;
    re.lastIndex = 0;
    for (;;) {
      if (--this.steps < 0) return false;
      const m = re.exec(text);
      if (item.negated) return m === null && this.chainAt(chain, k + 1, buf, prevEnd);
      if (m === null) return false;
      const s = base + m.index;
      const e = s + m[0].length;
      if (this.chainAt(chain, k + 1, buf, e)) {
        this.cover(chain.buffer, buf, s, e);
        return true;
      }
      if ((chain.retry[k] === 0 && this.minEnd === 0) || m.index >= text.length) return false;
      re.lastIndex = m.index + 1;
    }
  }

  /** The evidence span: from the first to the last positive match in the first buffer that has one. */
  private cover(buffer: BufferKey, bytes: Uint8Array, start: number, end: number): void {
    const span = this.span;
    if (span === null) this.span = { buffer: buffer === 'payload' ? ((this.ins as Inspection).buffers.stream !== undefined ? 'stream' : 'pkt_data') : buffer, bytes, start, end };
    else if (span.bytes === bytes) {
      span.start = Math.min(span.start, start);
      span.end = Math.max(span.end, end);
    }
  }

  private lowerOf(key: BufferKey, buf: Uint8Array): Buffer {
    let l = this.lowered.get(key);
    if (l === undefined) this.lowered.set(key, (l = lowerAscii(buf)));
    return l;
  }

  private textOf(key: BufferKey, buf: Uint8Array): string {
    let t = this.texts.get(key);
    if (t === undefined) this.texts.set(key, (t = Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('latin1')));
    return t;
  }

  /** threshold (limit, threshold, both) and detection_filter on packet time, as Suricata counts them. */
  private passesThreshold(i: number, t: ThresholdSpec, ins: Inspection): boolean {
    const p = ins.packet;
    const key = t.track === 'by_src' ? srcKey(p) : dstKey(p);
    const st = this.thresholds.touch(key, p.ts, i + 1);
    // A new entry's start is NaN: no window yet.
    if (!(p.ts - st.start < t.seconds * 1000)) {
      st.start = p.ts;
      st.count = 1;
      return t.type === 'detection_filter' ? false : t.count === 1 || t.type === 'limit';
    }
    st.count++;
    switch (t.type) {
      case 'limit': return st.count <= t.count;
      case 'both': return st.count === t.count;
      case 'detection_filter': return st.count > t.count;
      default:
        if (st.count < t.count) return false;
        st.count = 0;
        return true;
    }
  }
}
