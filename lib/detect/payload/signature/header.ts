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

/** An address condition: every packet ('any'), a set of CIDRs, or a list whose positive items are or-ed and negative ones excluded. */
export type AddrTest =
  | { kind: 'any' }
  | { kind: 'set'; set: CidrSet; not: boolean }
  | { kind: 'list'; items: AddrTest[]; not: boolean };

export type PortTest =
  | { kind: 'any' }
  | { kind: 'range'; lo: number; hi: number; not: boolean }
  | { kind: 'list'; items: PortTest[]; not: boolean };

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

function negate<T extends { not: boolean }>(t: T): T {
  return { ...t, not: !t.not };
}

export function parseAddress(text: string, vars: RuleVars, depth = 0): AddrTest {
  if (depth > MAX_DEPTH) throw new HeaderError('address variables nest too deep (a variable refers to itself?)');
  const t = text.trim();
  if (t === 'any') return { kind: 'any' };
  if (t.startsWith('!')) {
    const inner = parseAddress(t.slice(1), vars, depth + 1);
    if (inner.kind === 'any') throw new HeaderError('!any matches no address');
    return negate(inner);
  }
  if (t.startsWith('$')) {
    const name = t.slice(1);
    const value = vars.addresses[name];
    if (value === undefined) throw new HeaderError(`unknown address variable $${name}`);
    return parseAddress(value, vars, depth + 1);
  }
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new HeaderError(`address list "${t}" has no closing ]`);
    const items = splitList(t.slice(1, -1), 'address').map((p) => parseAddress(p, vars, depth + 1));
    return { kind: 'list', items, not: false };
  }
  try {
    return { kind: 'set', set: new CidrSet([t]), not: false };
  } catch (err) {
    throw new HeaderError(`address "${t}": ${(err as Error).message}`);
  }
}

function rangeOf(text: string): { lo: number; hi: number } {
  const m = /^(\d{0,5})(?:\s*(:)\s*(\d{0,5}))?$/.exec(text);
  if (!m || (m[1] === '' && (m[3] ?? '') === '')) throw new HeaderError(`port "${text}" is not a port, a range like 1024:65535, a list or a variable`);
  const lo = m[1] === '' ? 0 : Number(m[1]);
  const hi = m[2] === undefined ? lo : m[3] === '' ? 65535 : Number(m[3]);
  if (lo > 65535 || hi > 65535) throw new HeaderError(`port "${text}" is above 65535`);
  if (hi < lo) throw new HeaderError(`port range "${text}" is reversed`);
  return { lo, hi };
}

export function parsePortSpec(text: string, vars: RuleVars, depth = 0): PortTest {
  if (depth > MAX_DEPTH) throw new HeaderError('port variables nest too deep (a variable refers to itself?)');
  const t = text.trim();
  if (t === 'any') return { kind: 'any' };
  if (t.startsWith('!')) {
    const inner = parsePortSpec(t.slice(1), vars, depth + 1);
    if (inner.kind === 'any') throw new HeaderError('!any matches no port');
    return negate(inner);
  }
  if (t.startsWith('$')) {
    const name = t.slice(1);
    const value = vars.ports[name];
    if (value === undefined) throw new HeaderError(`unknown port variable $${name}`);
    return parsePortSpec(value, vars, depth + 1);
  }
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new HeaderError(`port list "${t}" has no closing ]`);
    return { kind: 'list', items: splitList(t.slice(1, -1), 'port').map((p) => parsePortSpec(p, vars, depth + 1)), not: false };
  }
  return { kind: 'range', ...rangeOf(t), not: false };
}

/** A list matches when some positive item matches (or it has none) and no negative item does. */
export function addrMatches(test: AddrTest, ip: string): boolean {
  switch (test.kind) {
    case 'any':
      return true;
    case 'set':
      return test.set.has(ip) !== test.not;
    default: {
      let positives = 0;
      let hit = false;
      for (const item of test.items) {
        if (item.kind !== 'any' && item.not) {
          if (!addrMatches(item, ip)) return test.not;
        } else {
          positives++;
          if (!hit && addrMatches(item, ip)) hit = true;
        }
      }
      return (positives === 0 || hit) !== test.not;
    }
  }
}

export function portMatches(test: PortTest, port: number | undefined): boolean {
  switch (test.kind) {
    case 'any':
      return true;
    case 'range':
      if (port === undefined) return false;
      return (port >= test.lo && port <= test.hi) !== test.not;
    default: {
      if (port === undefined) return false;
      let positives = 0;
      let hit = false;
      for (const item of test.items) {
        if (item.kind !== 'any' && item.not) {
          if (!portMatches(item, port)) return test.not;
        } else {
          positives++;
          if (!hit && portMatches(item, port)) hit = true;
        }
      }
      return (positives === 0 || hit) !== test.not;
    }
  }
}
