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
import type { Packet } from '../../packet/types';
import { AnchorAutomaton, type Anchor } from './anchors';
import { hexExcerpt, printable } from './evidence';
import { portIn, type PayloadRule } from './rules';
import { hasPercentEscape, looksLikeHttpRequest, urlDecodings } from './urldecode';

/** A rule that matched a packet, with evidence. */
export interface PayloadHit {
  rule: PayloadRule;
  /** The matched text (latin1, as matched: decoded when `decoded` > 0). */
  text: string;
  /** 0: matched in the raw payload; 1 or 2: after that many URL-decoding passes. */
  decoded: 0 | 1 | 2;
  /** Byte range of the match in the raw payload. */
  start: number;
  end: number;
}

/** Rules sharing the same protocol/port/direction constraints, checked once per packet. */
interface ConstraintGroup {
  sample: PayloadRule;
  members: number[];
}

const NO_HITS: readonly PayloadHit[] = Object.freeze([]);

/** Most automata kept for subsets of the rules (see `automatonFor`); other subsets use the one of all rules. */
const MAX_SUBSET_AUTOMATA = 32;

export class PayloadMatcher {
  readonly rules: readonly PayloadRule[];
  /** Automaton of every rule's anchors. */
  private readonly automaton: AnchorAutomaton;
  private readonly anchors: Anchor[];
  /**
   * Automata of the anchors of only the rules that apply, by bitmask of the
   * applicable constraint groups, built on first use: a UDP payload then
   * scans for the few anchors of the rules that may match UDP instead of
   * stepping through every web rule's prefixes.
   */
  private readonly subsets = new Map<number, AnchorAutomaton>();
  /** The automaton for the current packet. */
  private current: AnchorAutomaton;
  /** Per rule: a global regex to confirm it. */
  private readonly confirm: RegExp[];
  /** Rules without anchors: candidates on every payload. */
  private readonly unanchored: number[];
  private readonly groups: ConstraintGroup[];
  private readonly anyProto: boolean;
  private readonly protos: ReadonlySet<string>;
  /** Per rule: index of its constraint group. */
  private readonly groupOf: Int32Array;
  /** Per group: whether a member matches URL-decoded forms too. */
  private readonly groupDecodes: boolean[];
  // Per-packet scratch, reused.
  /** Per group: 1 when its constraints admit the current packet. */
  private readonly groupApplies: Uint8Array;
  /** Per rule: its anchors occurred (all 0 between scans). */
  private readonly candidate: Uint8Array;
  private readonly hit: Uint8Array;
  private hits: PayloadHit[] | null = null;
  private remaining = 0;
  private raw: Buffer | null = null;
  private maps: Int32Array[] | null = null;

  constructor(rules: readonly PayloadRule[]) {
    this.rules = rules;
    this.confirm = rules.map((r) => r.confirm);
    const anchors: Anchor[] = [];
    this.unanchored = [];
    rules.forEach((r, i) => {
      if (r.anchors.length === 0) this.unanchored.push(i);
      for (const text of r.anchors) anchors.push({ text, rule: i });
    });
    this.automaton = new AnchorAutomaton(anchors);
    this.anchors = anchors;
    this.current = this.automaton;
    const byKey = new Map<string, ConstraintGroup>();
    rules.forEach((r, i) => {
      const key = JSON.stringify([r.proto, r.ports, r.dport, r.sport, r.direction]);
      let g = byKey.get(key);
      if (!g) byKey.set(key, (g = { sample: r, members: [] }));
      g.members.push(i);
    });
    this.groups = [...byKey.values()];
    this.groupOf = new Int32Array(rules.length);
    this.groups.forEach((g, gi) => {
      for (const i of g.members) this.groupOf[i] = gi;
    });
    this.groupDecodes = this.groups.map((g) => g.members.some((i) => rules[i].decode));
    this.groupApplies = new Uint8Array(this.groups.length);
    this.anyProto = rules.some((r) => r.proto === 'any');
    this.protos = new Set(rules.map((r) => r.proto));
    this.candidate = new Uint8Array(rules.length);
    this.hit = new Uint8Array(rules.length);
  }

  /**
   * Rules matching the packet's payload, at most one hit per rule (the
   * first found). Returns a shared empty array when nothing matches.
   */
  match(p: Packet): readonly PayloadHit[] {
    const raw = p.payload;
    if (raw === undefined || raw === null || raw.length === 0 || this.rules.length === 0) return NO_HITS;
    if (!this.anyProto && !this.protos.has(p.proto)) return NO_HITS;
    if (!Buffer.isBuffer(raw)) return NO_HITS;
    let applicable = 0;
    let decodable = false;
    let mask = 0;
    const groups = this.groups;
    for (let gi = 0; gi < groups.length; gi++) {
      const g = groups[gi];
      const yes = ruleApplies(g.sample, p);
      this.groupApplies[gi] = yes ? 1 : 0;
      if (yes) {
        applicable += g.members.length;
        mask |= 1 << gi;
        if (this.groupDecodes[gi]) decodable = true;
      }
    }
    if (applicable === 0) return NO_HITS;
    this.current = applicable === this.rules.length || groups.length > 31 ? this.automaton : this.automatonFor(mask);

    this.hits = null;
    this.remaining = applicable;
    this.raw = raw;
    this.maps = null;
    this.scanForm(raw, 0);
    if (this.remaining > 0 && decodable && (looksLikeHttpRequest(raw) || hasPercentEscape(raw))) {
      const forms = urlDecodings(raw);
      for (let k = 0; k < forms.length && this.remaining > 0; k++) this.scanForm(forms[k].bytes, (k + 1) as 1 | 2);
    }
    const hits = this.hits;
    if (hits !== null) this.hit.fill(0);
    this.hits = null;
    this.raw = null;
    this.maps = null;
    return hits ?? NO_HITS;
  }

  /** One form (raw or decoded) of the payload: anchors, then the candidates' regexes. */
  private scanForm(bytes: Buffer, decoded: 0 | 1 | 2): void {
    const candidate = this.candidate;
    // Most payloads hold no anchor: then there is nothing to confirm and nothing to clear.
    if (this.current.scan(bytes, candidate) === 0 && this.unanchored.length === 0) return;
    for (const i of this.unanchored) candidate[i] = 1;
    let text: string | null = null;
    for (let i = 0; i < this.rules.length; i++) {
      if (candidate[i] === 0 || this.groupApplies[this.groupOf[i]] === 0 || this.hit[i] === 1) continue;
      if (decoded > 0 && !this.rules[i].decode) continue;
      text ??= bytes.toString('latin1');
      const re = this.confirm[i];
      re.lastIndex = 0;
      const m = re.exec(text);
      if (m !== null) this.record(i, m, decoded);
    }
    candidate.fill(0);
  }

  /** The automaton of the anchors of the rules in the groups of `mask`. */
  private automatonFor(mask: number): AnchorAutomaton {
    let a = this.subsets.get(mask);
    if (a !== undefined) return a;
    if (this.subsets.size >= MAX_SUBSET_AUTOMATA) return this.automaton;
    const inSubset = new Uint8Array(this.rules.length);
    this.groups.forEach((g, gi) => {
      if (mask & (1 << gi)) for (const i of g.members) inSubset[i] = 1;
    });
    a = new AnchorAutomaton(this.anchors.filter((x) => inSubset[x.rule] === 1));
    this.subsets.set(mask, a);
    return a;
  }

  private record(i: number, m: RegExpExecArray, decoded: 0 | 1 | 2): void {
    const raw = this.raw as Buffer;
    let start = m.index;
    let end = m.index + m[0].length;
    if (decoded > 0) {
      // Offsets into the raw payload are worked out only when a decoded form hits.
      this.maps ??= urlDecodings(raw, true).map((f) => f.map as Int32Array);
      const map = this.maps[decoded - 1];
      start = map[start] ?? 0;
      end = end < map.length ? map[end] : raw.length;
    }
    this.hit[i] = 1;
    this.remaining--;
    (this.hits ??= []).push({ rule: this.rules[i], text: m[0], decoded, start, end });
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

/** Evidence text for a hit: the matched text and a hexdump excerpt of the raw payload around it. */
export function hitEvidence(hit: PayloadHit, payload: Uint8Array, context = 32): string {
  const how = hit.decoded === 0 ? '' : hit.decoded === 1 ? ' (after URL-decoding)' : ' (after URL-decoding twice)';
  return `matched "${printable(hit.text)}"${how} at bytes ${hit.start}-${hit.end} of ${payload.length}\n${hexExcerpt(payload, hit.start, hit.end, context)}`;
}
