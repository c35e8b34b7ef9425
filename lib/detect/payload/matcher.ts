/**
 * One-pass matching of many payload rules. All patterns of the same case
 * mode are joined into one regex of indexed alternation groups; a scan
 * finds every position where some rule matches, and only at those
 * (rare) positions are the other rules confirmed one by one with sticky
 * regexes, so a payload matching several rules gives a hit per rule without
 * one scan per rule for every packet.
 *
 * The payload is read as latin1 (one char per byte, binary-safe) once per
 * packet; HTTP requests and payloads holding %XX escapes are also matched
 * URL-decoded (once, and twice for double encoding).
 */
import type { Packet } from '../../packet/types';
import { hexExcerpt, printable } from './evidence';
import { portIn, relocateRegex, groupCount, RuleError, type PayloadRule } from './rules';
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

/**
 * After this many match positions in one text (a payload of repeated '../',
 * say) the combined scan hands over to one scan per remaining rule, which
 * bounds the work on hostile payloads without missing a rule.
 */
const MAX_POSITIONS_PER_TEXT = 256;

interface CombinedSet {
  re: RegExp;
  /** Rule index (into PayloadMatcher.rules) per set member. */
  members: number[];
  /** Combined-regex group index of each member's wrapper group. */
  groups: number[];
}

const NO_HITS: readonly PayloadHit[] = Object.freeze([]);

export class PayloadMatcher {
  readonly rules: readonly PayloadRule[];
  private readonly sets: CombinedSet[] = [];
  /** Per rule: a sticky regex to confirm it at a position, and a global one for the fallback scan. */
  private readonly sticky: RegExp[];
  private readonly single: RegExp[];
  private readonly anyProto: boolean;
  private readonly protos: ReadonlySet<string>;
  private readonly decodeAny: boolean;
  // Per-packet scratch, reused: which rules already hit, which apply to the packet.
  private readonly hitMark: Uint8Array;
  private readonly applies: Int8Array;
  private hits: PayloadHit[] = [];
  private current: { packet: Packet; raw: Buffer } | null = null;
  private decodedMaps: Int32Array[] | null = null;

  /** Builds the combined regexes; throws RuleError (naming the rule) if a pattern cannot be combined. */
  constructor(rules: readonly PayloadRule[]) {
    this.rules = rules;
    this.sticky = rules.map((r) => new RegExp(r.source, r.nocase ? 'iy' : 'y'));
    this.single = rules.map((r) => new RegExp(r.source, r.nocase ? 'gi' : 'g'));
    this.hitMark = new Uint8Array(rules.length);
    this.applies = new Int8Array(rules.length);
    for (const nocase of [true, false]) {
      const members: number[] = [];
      const groups: number[] = [];
      const parts: string[] = [];
      let nextGroup = 1;
      rules.forEach((r, i) => {
        if (r.nocase !== nocase) return;
        let part: string;
        try {
          part = relocateRegex(r.source, i, nextGroup, groupCount(r.source));
        } catch (err) {
          throw new RuleError(`rule '${r.id}': pattern: ${(err as Error).message}`);
        }
        members.push(i);
        groups.push(nextGroup);
        parts.push(`(${part})`);
        nextGroup += 1 + groupCount(r.source);
      });
      if (members.length === 0) continue;
      let re: RegExp;
      try {
        re = new RegExp(parts.join('|'), nocase ? 'gi' : 'g');
      } catch (err) {
        throw new RuleError(`rules cannot be combined into one regex: ${(err as Error).message}`);
      }
      this.sets.push({ re, members, groups });
    }
    this.anyProto = rules.some((r) => r.proto === 'any');
    this.protos = new Set(rules.map((r) => r.proto));
    this.decodeAny = rules.some((r) => r.decode);
  }

  /**
   * Rules matching the packet's payload, at most one hit per rule (the first
   * found). Returns a shared empty array when nothing matches.
   */
  match(p: Packet): readonly PayloadHit[] {
    const raw = p.payload;
    if (raw === undefined || raw === null || raw.length === 0 || this.sets.length === 0) return NO_HITS;
    if (!this.anyProto && !this.protos.has(p.proto)) return NO_HITS;
    if (!Buffer.isBuffer(raw)) return NO_HITS;
    this.hitMark.fill(0);
    this.applies.fill(-1);
    this.hits = [];
    this.current = { packet: p, raw };
    this.decodedMaps = null;
    let remaining = this.rules.length;
    remaining = this.scan(raw.toString('latin1'), 0, remaining);
    if (remaining > 0 && this.decodeAny && (looksLikeHttpRequest(raw) || hasPercentEscape(raw))) {
      const forms = urlDecodings(raw);
      for (let k = 0; k < forms.length && remaining > 0; k++) {
        remaining = this.scan(forms[k].bytes.toString('latin1'), (k + 1) as 1 | 2, remaining);
      }
    }
    this.current = null;
    this.decodedMaps = null;
    return this.hits.length ? this.hits : NO_HITS;
  }

  /** Scan one form of the payload; returns how many rules may still hit. */
  private scan(text: string, decoded: 0 | 1 | 2, remaining: number): number {
    for (const set of this.sets) {
      const re = set.re;
      re.lastIndex = 0;
      let positions = 0;
      let m: RegExpExecArray | null;
      while (remaining > 0 && positions < MAX_POSITIONS_PER_TEXT && (m = re.exec(text)) !== null) {
        positions++;
        const pos = m.index;
        // The alternative that won at this position...
        for (let j = 0; j < set.members.length; j++) {
          if (m[set.groups[j]] !== undefined) {
            remaining -= this.consider(set.members[j], text, pos, m[set.groups[j]], decoded);
            break;
          }
        }
        // ...and every other rule that also matches here (across both sets).
        for (let i = 0; i < this.rules.length && remaining > 0; i++) {
          if (this.hitMark[i] || !this.usable(i, decoded)) continue;
          const s = this.sticky[i];
          s.lastIndex = pos;
          const mm = s.exec(text);
          if (mm !== null) remaining -= this.consider(i, text, pos, mm[0], decoded);
        }
        re.lastIndex = pos + 1;
      }
      if (positions >= MAX_POSITIONS_PER_TEXT && remaining > 0) {
        const from = re.lastIndex;
        for (let i = 0; i < this.rules.length && remaining > 0; i++) {
          if (this.hitMark[i] || !this.usable(i, decoded)) continue;
          const s = this.single[i];
          s.lastIndex = from;
          const mm = s.exec(text);
          if (mm !== null) remaining -= this.consider(i, text, mm.index, mm[0], decoded);
        }
      }
    }
    return remaining;
  }

  /** Whether rule i can still produce a hit on the current packet in this form. */
  private usable(i: number, decoded: number): boolean {
    if (decoded > 0 && !this.rules[i].decode) return false;
    let a = this.applies[i];
    if (a < 0) {
      a = this.applies[i] = ruleApplies(this.rules[i], (this.current as { packet: Packet }).packet) ? 1 : 0;
      if (a === 0) this.hitMark[i] = 1;
    }
    return a === 1;
  }

  /** Record a hit of rule i unless it already hit or does not apply; returns 1 when newly recorded. */
  private consider(i: number, _text: string, pos: number, matched: string, decoded: 0 | 1 | 2): number {
    if (this.hitMark[i] || !this.usable(i, decoded)) return 0;
    this.hitMark[i] = 1;
    let start = pos;
    let end = pos + matched.length;
    if (decoded > 0) {
      const map = this.mapFor(decoded as 1 | 2);
      start = map[start] ?? 0;
      end = end < map.length ? map[end] : (this.current as { raw: Buffer }).raw.length;
    }
    this.hits.push({ rule: this.rules[i], text: matched, decoded, start, end });
    return 1;
  }

  private mapFor(decoded: 1 | 2): Int32Array {
    if (!this.decodedMaps) {
      this.decodedMaps = urlDecodings((this.current as { raw: Buffer }).raw, true).map((d) => d.map as Int32Array);
    }
    return this.decodedMaps[decoded - 1];
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
