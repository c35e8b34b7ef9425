/**
 * Matching many payload rules in one pass: an Aho-Corasick automaton of the
 * rules' literal anchors scans each payload once; only the rules whose
 * anchor occurred (and whose protocol, port and direction constraints admit
 * the packet) confirm with their own regex. Benign and binary payloads
 * usually stop after the automaton pass.
 *
 * The payload is read as bytes (latin1 text for the regexes, made at most
 * once per packet and only when a rule needs confirming). HTTP requests and
 * payloads holding %XX escapes are also matched URL-decoded (once, and twice
 * for double encoding).
 */
import { Buffer } from 'node:buffer';
import type { Packet } from '../../packet/types';
import { AnchorAutomaton, type Anchor } from './anchors';
import { hexExcerpt, printable } from './evidence';
import { BUFFER_NAMES, bufferAt, bufferIndex, type BufferName, type Inspection } from './inspection';
import { portIn, RULE_FIELDS, type PayloadRule, type RuleField } from './rules';
import { hasPercentEscape, looksLikeHttpRequest, urlDecodings } from './urldecode';
import { packetInspection, streamSchema, streamSettings } from '../stream/inspector';
import { defaultsOf } from '../../base/settings';

/** A rule that matched a packet, with evidence. */
export interface PayloadHit {
  rule: PayloadRule;
  /** The buffer matched: 'pkt_data', 'stream' or an http.* field. */
  buffer: BufferName;
  /** Its bytes (for the evidence). */
  bytes: Uint8Array;
  /** The matched text (latin1, as matched: decoded when `decoded` > 0). */
  text: string;
  /** 0: matched in the buffer as it is; 1 or 2: after that many URL-decoding passes. */
  decoded: 0 | 1 | 2;
  /** Byte range of the match in the buffer. */
  start: number;
  end: number;
}

/** One rule on one of its fields: the unit the automaton and the groups work on. */
interface Entry {
  rule: number;
  field: RuleField;
}

/** Entries sharing the same field and protocol/port/direction constraints, checked once per unit. */
interface ConstraintGroup {
  sample: PayloadRule;
  field: RuleField;
  members: number[];
}

const NO_HITS: readonly PayloadHit[] = Object.freeze([]);

/** Most automata kept for subsets of the rules (see `automatonFor`); other subsets use the one of all rules. */
const MAX_SUBSET_AUTOMATA = 32;

/** A field's buffer in BUFFER_NAMES, or RAW (stream, else pkt_data) or BODY (request body, else response body). */
const RAW = -1;
const BODY = -2;
const STREAM = bufferIndex('stream');
const PKT_DATA = bufferIndex('pkt_data');
const REQUEST_BODY = bufferIndex('http.request_body');
const RESPONSE_BODY = bufferIndex('http.response_body');

function fieldBuffer(field: RuleField): number {
  switch (field) {
    case 'raw': return RAW;
    case 'uri': return bufferIndex('http.uri');
    case 'uri_raw': return bufferIndex('http.uri.raw');
    case 'method': return bufferIndex('http.method');
    case 'header': return bufferIndex('http.header');
    case 'cookie': return bufferIndex('http.cookie');
    case 'user_agent': return bufferIndex('http.user_agent');
    case 'host': return bufferIndex('http.host');
    default: return BODY;
  }
}

/** The index of the buffer of a unit a field (by `fieldBuffer`) reads. */
function bufferOf(u: Inspection, field: number): number {
  if (field >= 0) return field;
  if (field === RAW) return u.buffers.stream !== undefined ? STREAM : PKT_DATA;
  return u.buffers['http.request_body'] !== undefined ? REQUEST_BODY : RESPONSE_BODY;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export class PayloadMatcher {
  readonly rules: readonly PayloadRule[];
  private readonly entries: Entry[];
  /** Automaton of every entry's anchors. */
  private readonly automaton: AnchorAutomaton;
  private readonly anchors: Anchor[];
  /**
   * Automata of the anchors of only the entries that apply, by bitmask of
   * the applicable constraint groups, built on first use: a UDP payload
   * then scans for the few anchors of the rules that may match UDP instead
   * of stepping through every web rule's prefixes.
   */
  private readonly subsets = new Map<number, AnchorAutomaton>();
  /** The last subset looked up (most units in a row share one: a Map lookup per field and unit was 6 % of the matcher). */
  private lastMask = -1;
  private lastSubset: AnchorAutomaton | null = null;
  /** The automaton for the current buffer. */
  private current: AnchorAutomaton;
  /** Per rule: a global regex to confirm it. */
  private readonly confirm: RegExp[];
  /** Entries without anchors: candidates on every buffer of their field. */
  private readonly unanchored: number[];
  private readonly groups: ConstraintGroup[];
  /** Fields some rule reads, in a fixed order, and per field the groups that read it. */
  private readonly fields: RuleField[];
  /** Per field, its buffer (see `fieldBuffer`). */
  private readonly fieldBuffers: Int32Array;
  private readonly fieldGroups: number[][];
  /** The index in `fields` of 'raw' (the field a packet's payload is matched as), -1 when no rule reads it. */
  private readonly rawField: number;
  private readonly anyProto: boolean;
  private readonly protos: ReadonlySet<string>;
  /** Per entry: index of its constraint group. */
  private readonly groupOf: Int32Array;
  /** Per group: whether a member matches URL-decoded forms too. */
  private readonly groupDecodes: boolean[];
  // Per-unit scratch, reused.
  /** Per group: 1 when its constraints admit the current packet and it reads the current field. */
  private readonly groupApplies: Uint8Array;
  /** Per entry: its anchors occurred (all 0 between scans). */
  private readonly candidate: Uint8Array;
  /** Per rule: it hit this unit. */
  private readonly hit: Uint8Array;
  private hits: PayloadHit[] | null = null;
  private remaining = 0;
  private raw: Buffer | null = null;
  private rawName: BufferName = 'pkt_data';
  /** Matches ending at or before this offset of the buffer were reported with an earlier unit. */
  private minEnd = 0;
  private maps: Int32Array[] | null = null;
  private readonly httpSettings = streamSettings(defaultsOf(streamSchema));

  constructor(rules: readonly PayloadRule[]) {
    this.rules = rules;
    this.confirm = rules.map((r) => r.confirm);
    this.entries = [];
    rules.forEach((r, i) => {
      for (const field of r.fields) this.entries.push({ rule: i, field });
    });
    const anchors: Anchor[] = [];
    this.unanchored = [];
    this.entries.forEach((e, k) => {
      const r = rules[e.rule];
      if (r.anchors.length === 0) this.unanchored.push(k);
      for (const text of r.anchors) anchors.push({ text, rule: k });
    });
    this.automaton = new AnchorAutomaton(anchors);
    this.anchors = anchors;
    this.current = this.automaton;
    const byKey = new Map<string, ConstraintGroup>();
    this.entries.forEach((e, k) => {
      const r = rules[e.rule];
      const key = JSON.stringify([e.field, r.proto, r.ports, r.dport, r.sport, r.direction]);
      let g = byKey.get(key);
      if (!g) byKey.set(key, (g = { sample: r, field: e.field, members: [] }));
      g.members.push(k);
    });
    this.groups = [...byKey.values()];
    this.fields = RULE_FIELDS.filter((f) => this.groups.some((g) => g.field === f));
    this.fieldBuffers = Int32Array.from(this.fields, fieldBuffer);
    this.rawField = this.fields.indexOf('raw');
    this.fieldGroups = this.fields.map((f) => this.groups.flatMap((g, gi) => (g.field === f ? [gi] : [])));
    this.groupOf = new Int32Array(this.entries.length);
    this.groups.forEach((g, gi) => {
      for (const k of g.members) this.groupOf[k] = gi;
    });
    this.groupDecodes = this.groups.map((g) => g.members.some((k) => rules[this.entries[k].rule].decode));
    this.groupApplies = new Uint8Array(this.groups.length);
    this.anyProto = rules.some((r) => r.proto === 'any');
    this.protos = new Set(rules.map((r) => r.proto));
    this.candidate = new Uint8Array(this.entries.length);
    this.hit = new Uint8Array(rules.length);
  }

  /**
   * Rules matching a packet on its own (its payload, and the HTTP fields of
   * a whole message in it; no reassembly), at most one hit per rule.
   * Returns a shared empty array when nothing matches.
   */
  match(p: Packet): readonly PayloadHit[] {
    const raw = p.payload;
    if (raw === undefined || raw === null || raw.length === 0 || this.rules.length === 0) return NO_HITS;
    return this.matchUnit(packetInspection(p, this.httpSettings));
  }

  /**
   * Rules matching an inspection unit, each rule on the buffers of its
   * fields, at most one hit per rule (the first found). A match in
   * `stream` that ends within its context was reported with an earlier
   * unit and is skipped. Returns a shared empty array when nothing matches.
   */
  matchUnit(u: Inspection): readonly PayloadHit[] {
    const p = u.packet;
    if (this.rules.length === 0) return NO_HITS;
    if (!this.anyProto && !this.protos.has(p.proto)) return NO_HITS;
    this.hits = null;
    const fields = this.fields;
    for (let fi = 0; fi < fields.length; fi++) {
      const index = bufferOf(u, this.fieldBuffers[fi]);
      const bytes = bufferAt(u.buffers, index);
      if (bytes === undefined || bytes.length === 0) continue;
      this.matchField(u, p, fi, index, bytes);
    }
    return this.finish();
  }

  /**
   * `matchUnit` of a unit whose only buffer is `pkt_data` (the stream
   * inspector's unit of a UDP, ICMP … packet): only the fields reading the
   * raw bytes can match it, so the other fields are not visited (each cost
   * about 45 instructions a unit in the generic loop's checks; inspect and
   * match of a UDP/ICMP unit went from about 1,360 to 1,120 instructions,
   * callgrind).
   */
  matchPayloadUnit(u: Inspection): readonly PayloadHit[] {
    const fi = this.rawField;
    if (fi < 0) return NO_HITS;
    const p = u.packet;
    if (!this.anyProto && !this.protos.has(p.proto)) return NO_HITS;
    const bytes = u.buffers.pkt_data;
    if (bytes === undefined || bytes.length === 0) return NO_HITS;
    this.hits = null;
    this.matchField(u, p, fi, PKT_DATA, bytes);
    return this.finish();
  }

  /** One field of a unit with its bytes (from buffer `index`): the groups that apply, the anchors, the candidates' regexes, decoded forms. */
  private matchField(u: Inspection, p: Packet, fi: number, index: number, bytes: Uint8Array): void {
    const groups = this.groups;
    const applies = this.groupApplies;
    // Only this field's groups are marked (the others stay 0), and cleared after the scan.
    const own = this.fieldGroups[fi];
    let applicable = 0;
    let decodable = false;
    let mask = 0;
    for (let j = 0; j < own.length; j++) {
      const gi = own[j];
      if (!ruleApplies(groups[gi].sample, p)) continue;
      applies[gi] = 1;
      applicable += groups[gi].members.length;
      mask |= 1 << gi;
      if (this.groupDecodes[gi]) decodable = true;
    }
    if (applicable === 0) return;
    this.current = groups.length > 31 ? this.automaton : this.automatonFor(mask);
    const raw = asBuffer(bytes);
    this.remaining = applicable;
    this.raw = raw;
    this.rawName = BUFFER_NAMES[index];
    this.minEnd = index === STREAM ? (u.streamContext ?? 0) : 0;
    this.maps = null;
    this.scanForm(raw, 0);
    if (this.remaining > 0 && decodable && (this.fieldBuffers[fi] !== RAW || looksLikeHttpRequest(raw) || hasPercentEscape(raw))) {
      const forms = urlDecodings(raw);
      for (let k = 0; k < forms.length && this.remaining > 0; k++) this.scanForm(forms[k].bytes, (k + 1) as 1 | 2);
    }
    for (let j = 0; j < own.length; j++) applies[own[j]] = 0;
  }

  /** The unit's hits (the scratch cleared), or the shared empty array. */
  private finish(): readonly PayloadHit[] {
    const hits = this.hits;
    if (hits !== null) this.hit.fill(0);
    this.hits = null;
    this.raw = null;
    this.maps = null;
    return hits ?? NO_HITS;
  }

  /** One form (raw or decoded) of a buffer: anchors, then the candidates' regexes. */
  private scanForm(bytes: Buffer, decoded: 0 | 1 | 2): void {
    const candidate = this.candidate;
    // Most buffers hold no anchor: then there is nothing to confirm and nothing to clear.
    if (this.current.scan(bytes, candidate) === 0 && this.unanchored.length === 0) return;
    for (const k of this.unanchored) candidate[k] = 1;
    let text: string | null = null;
    const entries = this.entries;
    for (let k = 0; k < entries.length; k++) {
      if (candidate[k] === 0 || this.groupApplies[this.groupOf[k]] === 0) continue;
      const i = entries[k].rule;
      if (this.hit[i] === 1) continue;
      if (decoded > 0 && !this.rules[i].decode) continue;
      text ??= bytes.toString('latin1');
      const re = this.confirm[i];
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (this.record(i, m, decoded)) break;
      }
    }
    candidate.fill(0);
  }

  /** The automaton of the anchors of the entries in the groups of `mask`. */
  private automatonFor(mask: number): AnchorAutomaton {
    if (mask === this.lastMask) return this.lastSubset as AnchorAutomaton;
    let a = this.subsets.get(mask);
    if (a !== undefined) {
      this.lastMask = mask;
      this.lastSubset = a;
      return a;
    }
    if (this.subsets.size >= MAX_SUBSET_AUTOMATA) return this.automaton;
    const inSubset = new Uint8Array(this.entries.length);
    this.groups.forEach((g, gi) => {
      if (mask & (1 << gi)) for (const k of g.members) inSubset[k] = 1;
    });
    a = new AnchorAutomaton(this.anchors.filter((x) => inSubset[x.rule] === 1));
    this.subsets.set(mask, a);
    return a;
  }

  /** Record a match unless it ends within the already inspected context; returns whether it was recorded. */
  private record(i: number, m: RegExpExecArray, decoded: 0 | 1 | 2): boolean {
    const raw = this.raw as Buffer;
    let start = m.index;
    let end = m.index + m[0].length;
    if (decoded > 0) {
      // Offsets into the raw buffer are worked out only when a decoded form hits.
      this.maps ??= urlDecodings(raw, true).map((f) => f.map as Int32Array);
      const map = this.maps[decoded - 1];
      start = map[start] ?? 0;
      end = end < map.length ? map[end] : raw.length;
    }
    if (end <= this.minEnd) return false;
    this.hit[i] = 1;
    this.remaining--;
    (this.hits ??= []).push({ rule: this.rules[i], buffer: this.rawName, bytes: raw, text: m[0], decoded, start, end });
    return true;
  }
}

/** Whether a rule's protocol, port and direction constraints admit the packet. */
export function ruleApplies(r: PayloadRule, p: Packet): boolean {
  if (r.proto !== 'any' && r.proto !== p.proto) return false;
  if (r.dport !== null && !portIn(r.dport, p.dport)) return false;
  if (r.sport !== null && !portIn(r.sport, p.sport)) return false;
  switch (r.direction) {
    case 'to-server':
      if (r.ports !== null) return portIn(r.ports, p.dport);
      // Without service ports: clients use high ephemeral ports, services low ones.
      return p.dport === undefined || p.sport === undefined || p.dport <= p.sport;
    case 'to-client':
      if (r.ports !== null) return portIn(r.ports, p.sport);
      return p.dport === undefined || p.sport === undefined || p.sport <= p.dport;
    default:
      return r.ports === null || portIn(r.ports, p.dport) || portIn(r.ports, p.sport);
  }
}

/** Evidence text for a hit: the matched text, where, and a hexdump excerpt of the buffer around it (for a stream, the joined bytes). */
export function hitEvidence(hit: PayloadHit, context = 32): string {
  const how = hit.decoded === 0 ? '' : hit.decoded === 1 ? ' (after URL-decoding)' : ' (after URL-decoding twice)';
  const where = hit.buffer === 'pkt_data' ? '' : ` in ${hit.buffer}`;
  return `matched "${printable(hit.text)}"${how}${where} at bytes ${hit.start}-${hit.end} of ${hit.bytes.length}\n${hexExcerpt(hit.bytes, hit.start, hit.end, context)}`;
}
