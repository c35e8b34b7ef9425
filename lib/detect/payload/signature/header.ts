/**
 * The header of a rule-language rule: addresses and ports with lists,
 * negation, ranges and variables. Both compile to small trees evaluated once
 * per packet per distinct header (rules sharing a header share the result),
 * so a set of 5,000 rules with a handful of headers costs a handful of
 * checks per packet.
 */
import { CidrSet } from '../../../base/cidr';

export class HeaderError extends Error {}

/** Variables a rule may name: address groups and port groups, as rule-language text. */
export interface RuleVars {
  /** Name (without $) → address text such as '[10.0.0.0/8,192.168.0.0/16]' or '!$HOME_NET'. */
  addresses: Record<string, string>;
  /** Name → port text such as '[80,8080]' or '!80'. */
  ports: Record<string, string>;
}

/**
 * An address or port condition: every value ('any'), one leaf (a set of
 * CIDRs, a port range), or a list whose positive items are or-ed and whose
 * negative ones exclude; `not` negates.
 */
export type SpecTest<L> =
  | { kind: 'any' }
  | { kind: 'leaf'; leaf: L; not: boolean }
  | { kind: 'list'; items: SpecTest<L>[]; not: boolean };

export type AddrTest = SpecTest<CidrSet>;
export type PortTest = SpecTest<{ lo: number; hi: number }>;

const MAX_DEPTH = 8;

/** Split a bracketed list's inside at top-level commas. */
function splitList(inner: string, what: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (c === '[') depth++;
    else if (c === ']') {
      if (--depth < 0) throw new HeaderError(`unbalanced ] in ${what} list`);
    } else if (c === ',' && depth === 0) {
      parts.push(inner.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (depth !== 0) throw new HeaderError(`unbalanced [ in ${what} list`);
  parts.push(inner.slice(start).trim());
  if (parts.some((p) => p === '')) throw new HeaderError(`empty item in ${what} list`);
  return parts;
}

interface SpecKind<L> {
  what: 'address' | 'port';
  vars: Record<string, string>;
  leaf(text: string): L;
}

/** any, !x, $VAR, [a,b,...] (nested) or a leaf. */
function parseSpec<L>(text: string, kind: SpecKind<L>, depth: number): SpecTest<L> {
  if (depth > MAX_DEPTH) throw new HeaderError(`${kind.what} variables nest too deep (a variable refers to itself?)`);
  const t = text.trim();
  if (t === 'any') return { kind: 'any' };
  if (t.startsWith('!')) {
    const inner = parseSpec(t.slice(1), kind, depth + 1);
    if (inner.kind === 'any') throw new HeaderError(`!any matches no ${kind.what}`);
    return { ...inner, not: !inner.not };
  }
  if (t.startsWith('$')) {
    const value = kind.vars[t.slice(1)];
    if (value === undefined) throw new HeaderError(`unknown ${kind.what} variable ${t}`);
    return parseSpec(value, kind, depth + 1);
  }
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new HeaderError(`${kind.what} list "${t}" has no closing ]`);
    return { kind: 'list', items: splitList(t.slice(1, -1), kind.what).map((p) => parseSpec(p, kind, depth + 1)), not: false };
  }
  return { kind: 'leaf', leaf: kind.leaf(t), not: false };
}

function cidrLeaf(t: string): CidrSet {
  try {
    return new CidrSet([t]);
  } catch (err) {
    throw new HeaderError(`address "${t}": ${(err as Error).message}`);
  }
}

function portLeaf(text: string): { lo: number; hi: number } {
  const m = /^(\d{0,5})(?:\s*(:)\s*(\d{0,5}))?$/.exec(text);
  if (!m || (m[1] === '' && (m[3] ?? '') === '')) throw new HeaderError(`port "${text}" is not a port, a range like 1024:65535, a list or a variable`);
  const lo = m[1] === '' ? 0 : Number(m[1]);
  const hi = m[2] === undefined ? lo : m[3] === '' ? 65535 : Number(m[3]);
  if (lo > 65535 || hi > 65535) throw new HeaderError(`port "${text}" is above 65535`);
  if (hi < lo) throw new HeaderError(`port range "${text}" is reversed`);
  return { lo, hi };
}

export function parseAddress(text: string, vars: RuleVars): AddrTest {
  return parseSpec(text, { what: 'address', vars: vars.addresses, leaf: cidrLeaf }, 0);
}

export function parsePortSpec(text: string, vars: RuleVars): PortTest {
  return parseSpec(text, { what: 'port', vars: vars.ports, leaf: portLeaf }, 0);
}

/** A list matches when some positive item matches (or it has none) and no negative item does. */
function specMatches<L, V>(test: SpecTest<L>, v: V, has: (leaf: L, v: V) => boolean): boolean {
  if (test.kind === 'any') return true;
  if (test.kind === 'leaf') return has(test.leaf, v) !== test.not;
  let positives = 0;
  let hit = false;
  for (const item of test.items) {
    if (item.kind !== 'any' && item.not) {
      if (!specMatches(item, v, has)) return test.not;
    } else {
      positives++;
      if (!hit && specMatches(item, v, has)) hit = true;
    }
  }
  return (positives === 0 || hit) !== test.not;
}

const inCidrs = (set: CidrSet, ip: string): boolean => set.has(ip);
const inRange = (r: { lo: number; hi: number }, port: number): boolean => port >= r.lo && port <= r.hi;

export function addrMatches(test: AddrTest, ip: string): boolean {
  return specMatches(test, ip, inCidrs);
}

/** A packet without ports matches only 'any'. */
export function portMatches(test: PortTest, port: number | undefined): boolean {
  if (test.kind === 'any') return true;
  return port !== undefined && specMatches(test, port, inRange);
}
