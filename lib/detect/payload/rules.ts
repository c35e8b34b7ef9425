/**
 * Payload rules: the JSON format users write, and its validation into
 * compiled rules. Validation is all-or-nothing: the first bad rule throws a
 * RuleError naming the rule and what is wrong, so a caller can keep the rules
 * it had.
 */
import fs from 'node:fs';
import type { AlertAction, AlertCategory, Severity } from '../alert';
import { compileUserRegex } from './user-regex';

export type RuleProto = 'tcp' | 'udp' | 'any';
/**
 * What a rule is matched against: 'raw' the packet's payload (for TCP the
 * reassembled stream), or a field of an HTTP/1.x request or response:
 * 'uri' (normalised), 'uri_raw' (as sent), 'method', 'header' (the header
 * block), 'cookie', 'user_agent', 'host', 'body' (decoded, de-chunked).
 */
export type RuleField = 'raw' | 'uri' | 'uri_raw' | 'method' | 'header' | 'cookie' | 'user_agent' | 'host' | 'body';
export const RULE_FIELDS: readonly RuleField[] = ['raw', 'uri', 'uri_raw', 'method', 'header', 'cookie', 'user_agent', 'host', 'body'];
/** 'to-server': towards the service port; 'to-client': from it; 'any': both. */
export type RuleDirection = 'to-server' | 'to-client' | 'any';

/** A rule as written in JSON (editor field, rules file, control message). */
export interface RuleSpec {
  /** Stable id such as 'payload.sqli.union'. */
  id: string;
  sid: number;
  /** Signature text shown in alerts. */
  name: string;
  severity?: Severity;
  category?: AlertCategory;
  /** Literal text (matched as its UTF-8 bytes), or a regular expression source over latin1 bytes when `regex` is true. */
  pattern: string;
  regex?: boolean;
  /** Case-insensitive matching (default true). */
  nocase?: boolean;
  proto?: RuleProto;
  /** Service ports: the destination port for 'to-server', the source port for 'to-client', either for 'any'. */
  ports?: PortSpecInput;
  dport?: PortSpecInput;
  sport?: PortSpecInput;
  direction?: RuleDirection;
  action?: AlertAction;
  /** Also match the URL-decoded payload (default true). */
  decode?: boolean;
  /** Where to match: one field or a list (default 'raw'). */
  field?: RuleField | readonly RuleField[];
  enabled?: boolean;
  /**
   * Regex rules: literal strings of which every match contains at least one
   * (case-insensitive). Only payloads holding an anchor are scanned with the
   * rule's regex; a regex rule without anchors is scanned on every payload.
   * Literal rules are their own anchor.
   */
  anchors?: string[];
}

/** A port list as written: 80, "80,443,8000-8100", ["80", "8000-8100"], "any". */
export type PortSpecInput = number | string | Array<number | string>;

/** Inclusive port ranges; null means any port. */
export type PortSet = ReadonlyArray<readonly [number, number]> | null;

export interface PayloadRule {
  id: string;
  sid: number;
  name: string;
  severity: Severity;
  category: AlertCategory;
  pattern: string;
  regex: boolean;
  nocase: boolean;
  /** Regular expression source (the literal escaped when `regex` is false). */
  source: string;
  proto: RuleProto;
  ports: PortSet;
  dport: PortSet;
  sport: PortSet;
  direction: RuleDirection;
  action: AlertAction;
  decode: boolean;
  /** Fields matched (at least one). */
  fields: RuleField[];
  /** Literals every match contains one of (empty: scan every payload). */
  anchors: string[];
  /** The regex that confirms a match (global): RE2 for users' rules, V8's for the shipped ones (user-regex.ts). */
  confirm: RegExp;
}

export class RuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleError';
  }
}

const RULE_KEYS = new Set(['id', 'sid', 'name', 'severity', 'category', 'pattern', 'regex', 'nocase', 'proto', 'ports', 'dport', 'sport', 'direction', 'action', 'decode', 'field', 'enabled', 'anchors', 'comment']);
const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low'];
const CATEGORIES: readonly AlertCategory[] = ['payload', 'policy'];
const PROTOS: readonly RuleProto[] = ['tcp', 'udp', 'any'];
const DIRECTIONS: readonly RuleDirection[] = ['to-server', 'to-client', 'any'];
const ACTIONS: readonly AlertAction[] = ['alert', 'drop'];
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$/;
const MAX_PATTERN = 2000;
const MAX_ANCHOR = 64;
const MAX_ANCHORS = 256;

function anchorList(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_ANCHORS || value.some((a) => typeof a !== 'string' || a.length === 0 || a.length > MAX_ANCHOR)) {
    throw new RuleError(`${where}: anchors must be a list of up to ${MAX_ANCHORS} non-empty strings of at most ${MAX_ANCHOR} characters`);
  }
  return [...new Set(value as string[])];
}

function fieldList(value: unknown, where: string): RuleField[] {
  if (value === undefined) return ['raw'];
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((f) => typeof f !== 'string' || !(RULE_FIELDS as readonly string[]).includes(f))) {
    throw new RuleError(`${where}: field must be one of ${RULE_FIELDS.join(', ')}, or a list of them (got ${JSON.stringify(value)})`);
  }
  return [...new Set(list as RuleField[])];
}

/** Escape a literal for use inside a regular expression. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** Parse a port list; throws a plain Error with the reason. */
export function parsePorts(input: PortSpecInput | undefined): PortSet {
  if (input === undefined || input === null || input === '' || input === 'any') return null;
  const parts: Array<number | string> = Array.isArray(input) ? input : typeof input === 'number' ? [input] : String(input).split(',');
  const ranges: Array<[number, number]> = [];
  for (const raw of parts) {
    const text = String(raw).trim();
    const m = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(text);
    if (!m) throw new Error(`port "${text}" is not a port or range like 8000-8100`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > 65535 || hi > 65535) throw new Error(`port "${text}" is above 65535`);
    if (hi < lo) throw new Error(`port range "${text}" is reversed`);
    ranges.push([lo, hi]);
  }
  if (ranges.length === 0) throw new Error('empty port list');
  return ranges;
}

export function portIn(set: PortSet, port: number | undefined): boolean {
  if (set === null) return true;
  if (port === undefined) return false;
  for (let i = 0; i < set.length; i++) if (port >= set[i][0] && port <= set[i][1]) return true;
  return false;
}

function label(raw: Record<string, unknown>, index: number): string {
  return typeof raw.id === 'string' && raw.id ? `rule '${raw.id}'` : `rule #${index + 1}`;
}

function pick<T extends string>(raw: Record<string, unknown>, key: string, allowed: readonly T[], fallback: T, where: string): T {
  const v = raw[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new RuleError(`${where}: ${key} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  }
  return v as T;
}

function flag(raw: Record<string, unknown>, key: string, fallback: boolean, where: string): boolean {
  const v = raw[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new RuleError(`${where}: ${key} must be true or false (got ${JSON.stringify(v)})`);
  return v;
}

/**
 * Validate one rule object. `index` is its position (for messages). Disabled
 * rules (`enabled: false`) are validated too and returned as null. `trusted`
 * (the shipped rules only) runs the regex in V8's engine; every other regex
 * runs in RE2, which refuses backreferences and lookaround with the reason.
 */
export function compileRule(value: unknown, index: number, trusted = false): PayloadRule | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RuleError(`rule #${index + 1}: must be an object with id, sid, name and pattern`);
  }
  const raw = value as Record<string, unknown>;
  const where = label(raw, index);
  for (const key of Object.keys(raw)) {
    if (!RULE_KEYS.has(key)) throw new RuleError(`${where}: unknown field "${key}" (known: ${[...RULE_KEYS].join(', ')})`);
  }
  if (typeof raw.id !== 'string' || !ID_RE.test(raw.id)) {
    throw new RuleError(`${where}: id must be text of letters, digits and . _ : - (up to 80), e.g. "local.sqli.admin"`);
  }
  if (typeof raw.sid !== 'number' || !Number.isInteger(raw.sid) || raw.sid < 1 || raw.sid > 2 ** 31 - 1) {
    throw new RuleError(`${where}: sid must be a positive integer (got ${JSON.stringify(raw.sid)})`);
  }
  if (typeof raw.name !== 'string' || raw.name.trim() === '') throw new RuleError(`${where}: name (the signature text) is required`);
  if (typeof raw.pattern !== 'string' || raw.pattern === '') throw new RuleError(`${where}: pattern must be non-empty text`);
  if (raw.pattern.length > MAX_PATTERN) throw new RuleError(`${where}: pattern is longer than ${MAX_PATTERN} characters`);
  const regex = flag(raw, 'regex', false, where);
  const nocase = flag(raw, 'nocase', true, where);
  // Payloads are matched as bytes (latin1 text): a literal means its UTF-8 bytes.
  const literalBytes = regex ? '' : Buffer.from(raw.pattern, 'utf8').toString('latin1');
  const source = regex ? raw.pattern : escapeRegex(literalBytes);
  let confirm: RegExp;
  try {
    confirm = trusted ? new RegExp(source, nocase ? 'gi' : 'g') : compileUserRegex(source, nocase ? 'gi' : 'g');
  } catch (err) {
    throw new RuleError(`${where}: pattern is not a valid regular expression: ${(err as Error).message}`);
  }
  confirm.lastIndex = 0;
  if (confirm.test('')) throw new RuleError(`${where}: pattern matches empty text, so it would match every payload`);
  if (regex && /[\u0100-\uffff]/.test(raw.pattern)) {
    throw new RuleError(`${where}: regex pattern has characters beyond latin1; payloads are bytes, so write them as \\xNN byte escapes (or use a literal pattern, matched as UTF-8)`);
  }
  const anchors = regex ? anchorList(raw.anchors, where) : [literalBytes.slice(0, MAX_ANCHOR)];
  const ports: Partial<Record<'ports' | 'dport' | 'sport', PortSet>> = {};
  for (const key of ['ports', 'dport', 'sport'] as const) {
    try {
      ports[key] = parsePorts(raw[key] as PortSpecInput | undefined);
    } catch (err) {
      throw new RuleError(`${where}: ${key}: ${(err as Error).message}`);
    }
  }
  const rule: PayloadRule = {
    id: raw.id,
    sid: raw.sid,
    name: raw.name.trim(),
    severity: pick(raw, 'severity', SEVERITIES, 'medium', where),
    category: pick(raw, 'category', CATEGORIES, 'payload', where),
    pattern: raw.pattern,
    regex,
    nocase,
    source,
    proto: pick(raw, 'proto', PROTOS, 'any', where),
    ports: ports.ports ?? null,
    dport: ports.dport ?? null,
    sport: ports.sport ?? null,
    direction: pick(raw, 'direction', DIRECTIONS, 'any', where),
    action: pick(raw, 'action', ACTIONS, 'alert', where),
    decode: flag(raw, 'decode', true, where),
    fields: fieldList(raw.field, where),
    anchors,
    confirm,
  };
  return flag(raw, 'enabled', true, where) ? rule : null;
}

/**
 * Validate a list of rules (an array, or `{ "rules": [...] }`). Ids and sids
 * must be unique. Throws RuleError on the first problem.
 */
export function compileRules(value: unknown, origin = 'rules', trusted = false): PayloadRule[] {
  const list = Array.isArray(value) ? value : value !== null && typeof value === 'object' && Array.isArray((value as { rules?: unknown }).rules) ? (value as { rules: unknown[] }).rules : null;
  if (!list) throw new RuleError(`${origin}: expected a JSON array of rules or { "rules": [...] }`);
  const out: PayloadRule[] = [];
  const ids = new Map<string, number>();
  const sids = new Map<number, string>();
  list.forEach((item, i) => {
    let rule: PayloadRule | null;
    try {
      rule = compileRule(item, i, trusted);
    } catch (err) {
      throw new RuleError(`${origin}: ${(err as Error).message}`);
    }
    const raw = item as { id: string; sid: number };
    if (ids.has(raw.id)) throw new RuleError(`${origin}: rule '${raw.id}': id used twice (#${(ids.get(raw.id) ?? 0) + 1} and #${i + 1})`);
    if (sids.has(raw.sid)) throw new RuleError(`${origin}: rule '${raw.id}': sid ${raw.sid} already used by '${sids.get(raw.sid)}'`);
    ids.set(raw.id, i);
    sids.set(raw.sid, raw.id);
    if (rule) out.push(rule);
  });
  return out;
}

/** Parse rules from JSON text (editor field or file contents). Blank text is an empty list. */
export function parseRulesJson(text: string, origin = 'rules'): PayloadRule[] {
  if (text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RuleError(`${origin}: not valid JSON: ${(err as Error).message}`);
  }
  return compileRules(value, origin);
}

/** A rules file's text; a RuleError naming the file when it cannot be read. */
export function readRulesText(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new RuleError(`rules file ${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Read and validate a JSON rules file. */
export function loadRulesFile(path: string): PayloadRule[] {
  return parseRulesJson(readRulesText(path), `rules file ${path}`);
}

/**
 * Join rule lists (defaults, editor, file) into one; a later rule with the
 * same id replaces an earlier one, so users can override a default rule.
 * Duplicate sids across different ids are refused.
 */
export function mergeRules(...lists: PayloadRule[][]): PayloadRule[] {
  const byId = new Map<string, PayloadRule>();
  for (const list of lists) for (const r of list) byId.set(r.id, r);
  const sids = new Map<number, string>();
  for (const r of byId.values()) {
    const other = sids.get(r.sid);
    if (other !== undefined) throw new RuleError(`rule '${r.id}': sid ${r.sid} already used by '${other}'`);
    sids.set(r.sid, r.id);
  }
  return [...byId.values()];
}
