/**
 * Aho-Corasick automaton over bytes for the literal anchors of payload
 * rules: one pass over a payload finds every rule whose anchor occurs, so
 * only those rules' regexes run on it. Matching folds ASCII and latin1
 * letter case (a prefilter may only ever say "maybe" too often, never miss).
 *
 * The automaton is a full DFA over byte classes (bytes no anchor uses share
 * one class), so the table stays small enough for the L1 cache and the scan
 * is two lookups per byte. Each table entry holds the next state's row
 * offset shifted left by one, with the low bit set when anchors end there.
 * Each step depends on the one before, so in the start state the scan first
 * skips, without that dependency, the bytes that cannot begin an anchor.
 */

export interface Anchor {
  /** Literal text, read as latin1 bytes. */
  text: string;
  /** Index of the rule it belongs to. */
  rule: number;
}

/** Lower-case of a latin1 byte, as the prefilter compares them. */
const FOLD = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  const upperAscii = b >= 0x41 && b <= 0x5a;
  const upperLatin1 = b >= 0xc0 && b <= 0xde && b !== 0xd7;
  FOLD[b] = upperAscii || upperLatin1 ? b + 0x20 : b;
}

export class AnchorAutomaton {
  /** Byte → class. */
  private readonly classOf: Uint8Array;
  private readonly classes: number;
  /** Row per state, `classes` entries: (next state × classes) << 1 | has-output. */
  private readonly table: Int32Array;
  /** Per state: index into `outputs`, or -1 when no anchor ends here. */
  private readonly outIndex: Int32Array;
  private readonly outputs: Int32Array[];
  /** Byte → 1 when the start state stays where it is on it (the byte begins no anchor). */
  private readonly idle: Uint8Array;
  /**
   * The one byte that leaves the start state, when there is only one (e.g.
   * '$' of '${' for the rules that apply to UDP and ICMP), else -1: the scan
   * then jumps to it with indexOf (memchr) instead of stepping byte by byte.
   */
  private readonly leap: number;
  readonly states: number;

  constructor(anchors: readonly Anchor[]) {
    // Trie on folded bytes.
    const children: Map<number, number>[] = [new Map()];
    const own: number[][] = [[]];
    for (const a of anchors) {
      let s = 0;
      for (let i = 0; i < a.text.length; i++) {
        const c = FOLD[a.text.charCodeAt(i) & 0xff];
        let next = children[s].get(c);
        if (next === undefined) {
          next = children.length;
          children.push(new Map());
          own.push([]);
          children[s].set(c, next);
        }
        s = next;
      }
      if (!own[s].includes(a.rule)) own[s].push(a.rule);
    }
    const n = children.length;
    this.states = n;
    const delta = new Int32Array(n * 256);
    const fail = new Int32Array(n);
    const out: number[][] = own.map((o) => o.slice());
    // Breadth-first: failure links, then full transitions (missing ones follow the failure link's).
    const queue: number[] = [];
    for (let c = 0; c < 256; c++) {
      const t = children[0].get(c);
      if (t !== undefined) {
        delta[c] = t;
        fail[t] = 0;
        queue.push(t);
      }
    }
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q];
      for (const r of out[fail[s]]) if (!out[s].includes(r)) out[s].push(r);
      for (let c = 0; c < 256; c++) {
        const t = children[s].get(c);
        if (t !== undefined) {
          fail[t] = delta[fail[s] * 256 + c];
          delta[s * 256 + c] = t;
          queue.push(t);
        } else {
          delta[s * 256 + c] = delta[fail[s] * 256 + c];
        }
      }
    }
    // Case folding: an upper-case byte moves like its lower-case one.
    for (let s = 0; s < n; s++) {
      for (let b = 0; b < 256; b++) if (FOLD[b] !== b) delta[s * 256 + b] = delta[s * 256 + FOLD[b]];
    }
    // Byte classes: one per folded byte some anchor uses, upper case with its lower case, the rest class 0.
    const classOf = new Uint8Array(256);
    let classes = 1;
    for (const a of anchors) {
      for (let i = 0; i < a.text.length; i++) {
        const c = FOLD[a.text.charCodeAt(i) & 0xff];
        if (classOf[c] === 0) classOf[c] = classes++;
      }
    }
    for (let b = 0; b < 256; b++) if (FOLD[b] !== b) classOf[b] = classOf[FOLD[b]];
    // Representative byte per class, to read the full DFA.
    const rep = new Int32Array(classes).fill(-1);
    for (let b = 255; b >= 0; b--) rep[classOf[b]] = FOLD[b];
    this.classOf = classOf;
    this.classes = classes;
    this.outIndex = new Int32Array(n).fill(-1);
    this.outputs = [];
    for (let s = 0; s < n; s++) {
      if (out[s].length > 0) {
        this.outIndex[s] = this.outputs.length;
        this.outputs.push(Int32Array.from(out[s]));
      }
    }
    const table = new Int32Array(n * classes);
    for (let s = 0; s < n; s++) {
      for (let k = 0; k < classes; k++) {
        const next = delta[s * 256 + rep[k]];
        table[s * classes + k] = ((next * classes) << 1) | (out[next].length > 0 ? 1 : 0);
      }
    }
    this.table = table;
    this.idle = new Uint8Array(256);
    for (let b = 0; b < 256; b++) this.idle[b] = table[classOf[b]] === 0 ? 1 : 0;
    const starters: number[] = [];
    for (let b = 0; b < 256; b++) if (this.idle[b] === 0) starters.push(b);
    this.leap = starters.length === 1 ? starters[0] : -1;
  }

  /**
   * Set `found[rule] = 1` for every rule with an anchor in `buf`; returns how
   * many entries it changed from 0 to 1. With `list`, those rules are also
   * appended to it, so a caller with thousands of rules visits only the
   * candidates instead of every flag.
   */
  scan(buf: Uint8Array, found: Uint8Array, list?: number[]): number {
    const table = this.table;
    const classOf = this.classOf;
    const idle = this.idle;
    const leap = this.leap;
    let v = 0;
    let set = 0;
    for (let i = 0, n = buf.length; i < n; i++) {
      if (v === 0) {
        if (leap >= 0) {
          i = buf.indexOf(leap, i);
          if (i < 0) return set;
        } else {
          while (idle[buf[i]] === 1) if (++i === n) return set;
        }
      }
      v = table[(v >> 1) + classOf[buf[i]]];
      if ((v & 1) !== 0) {
        const rules = this.outputs[this.outIndex[(v >> 1) / this.classes]];
        for (let k = 0; k < rules.length; k++) {
          if (found[rules[k]] === 0) {
            found[rules[k]] = 1;
            set++;
            if (list !== undefined) list.push(rules[k]);
          }
        }
      }
    }
    return set;
  }
}
