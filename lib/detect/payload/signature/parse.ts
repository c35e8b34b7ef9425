/**
 * Parser of the common Snort 3 / Suricata rule language into Signatures the
 * engine (engine.ts) evaluates. A rule is one line (a trailing backslash
 * continues it); '#' starts a comment line; blank lines are skipped.
 *
 * All or nothing per rule: a rule with an option, protocol, buffer or value
 * this engine does not support is skipped whole, with its sid and the
 * reason, never loaded in part (a rule missing one condition would alert on
 * traffic its author meant to let pass). The reasons are short and free of
 * per-rule details so a load report can count them.
 *
 * HTTP buffers come in both styles: a sticky buffer (Suricata's `http.uri;`,
 * Snort 3's `http_uri;`) applies to the contents after it; Suricata's legacy
 * content modifier (`content:"x"; http_uri;`) to the content before it. A
 * legacy name directly after a content (or its modifiers) is read as the
 * modifier, anywhere else as a sticky buffer.
 */
import type { AlertCategory, Severity } from '../../alert';
import type { BufferName } from '../inspection';
import { compileUserRegex } from '../user-regex';
import { categoryOf, CLASSIFICATIONS, DEFAULT_PRIORITY, severityOf } from './classification';
import { HeaderError, parseAddress, parsePortSpec, type AddrTest, type PortTest, type RuleVars } from './header';

/** 'payload': the default buffer, the reassembled stream when the inspection has one, else the packet's payload. */
export type BufferKey = BufferName | 'payload';

export interface ContentItem {
  kind: 'content';
  bytes: Buffer;
  /** ASCII lower case of `bytes`, searched in the lower-cased buffer (nocase). */
  folded: Buffer | null;
  negated: boolean;
  /** Relative to the previous match in the same buffer (distance or within given). */
  relative: boolean;
  offset: number;
  /** Bytes searched from `offset` (absolute) — undefined: to the end. */
  depth: number | undefined;
  distance: number;
  within: number | undefined;
  /** Must end at the end of the buffer (Suricata `endswith`). */
  endsWith: boolean;
  fastPattern: boolean;
  /** fast_pattern:offset,length — the part of `bytes` the prefilter uses. */
  fastSlice: [number, number] | null;
}

export interface PcreItem {
  kind: 'pcre';
  re: RegExp;
  negated: boolean;
  relative: boolean;
  source: string;
}

export type MatchItem = ContentItem | PcreItem;

/** The content and pcre items of one buffer, in rule order. */
export interface BufferChain {
  buffer: BufferKey;
  items: MatchItem[];
}

/** A numeric test: dsize, itype, icode. */
export interface NumTest {
  op: '=' | '<' | '>' | '<=' | '>=' | '!=' | '<>';
  a: number;
  b: number;
}

export interface FlagsTest {
  /** Bits that must be set (exactly, with modifier ''), any of them ('*'), at least these ('+'), or none of them ('!'). */
  bits: number;
  mod: '' | '+' | '*' | '!';
  /** Bits ignored (the part after the comma). */
  ignore: number;
}

export type Track = 'by_src' | 'by_dst';

export interface ThresholdSpec {
  type: 'limit' | 'threshold' | 'both' | 'detection_filter';
  track: Track;
  count: number;
  seconds: number;
}

export interface FlowbitOp {
  op: 'set' | 'unset' | 'toggle' | 'isset' | 'isnotset';
  /** Names; for isset/isnotset several joined by '|' (any of them) or '&' (all of them). */
  names: string[];
  any: boolean;
}

export type SigProto = 'tcp' | 'udp' | 'icmp' | 'ip' | 'http';

export interface Signature {
  gid: number;
  sid: number;
  rev: number;
  msg: string;
  classtype: string | undefined;
  priority: number;
  severity: Severity;
  category: AlertCategory;
  references: string[];
  metadata: string[];
  action: 'alert' | 'drop';
  proto: SigProto;
  src: AddrTest;
  sport: PortTest;
  dst: AddrTest;
  dport: PortTest;
  /** `<>`: either way round. */
  bidirectional: boolean;
  /** The header as written after variables are known, shared by rules with the same header. */
  headerKey: string;
  /** flow: true = to_server, false = to_client, null = either. */
  toServer: boolean | null;
  established: boolean | null;
  dsize: NumTest | null;
  flags: FlagsTest | null;
  itype: NumTest | null;
  icode: NumTest | null;
  chains: BufferChain[];
  flowbits: FlowbitOp[];
  noalert: boolean;
  threshold: ThresholdSpec | null;
  /** The prefilter literal (latin1 text) and its buffer; null: the rule is checked on every applicable unit. */
  fast: { buffer: BufferKey; text: string } | null;
  /** 1-based line of the rule in its text. */
  line: number;
  text: string;
}

export interface SkippedRule {
  sid: number | null;
  line: number;
  reason: string;
}

export interface ParsedRules {
  signatures: Signature[];
  skipped: SkippedRule[];
  /** Rules found (loaded + skipped). */
  total: number;
}

/** A rule the engine cannot use (the reason is short, for counting). */
export class SignatureError extends Error {}

const STICKY: Readonly<Record<string, BufferName>> = {
  pkt_data: 'pkt_data',
  'http.uri': 'http.uri',
  'http.uri.raw': 'http.uri.raw',
  'http.method': 'http.method',
  'http.header': 'http.header',
  'http.header.raw': 'http.header.raw',
  'http.cookie': 'http.cookie',
  'http.user_agent': 'http.user_agent',
  'http.host': 'http.host',
  'http.request_body': 'http.request_body',
  'http.stat_code': 'http.stat_code',
  'http.response_body': 'http.response_body',
  http_client_body: 'http.request_body',
};

/** Legacy names: modifiers after a content (Suricata, Snort 2), sticky buffers elsewhere (Snort 3). */
const LEGACY: Readonly<Record<string, BufferName>> = {
  http_uri: 'http.uri',
  http_raw_uri: 'http.uri.raw',
  http_method: 'http.method',
  http_header: 'http.header',
  http_raw_header: 'http.header.raw',
  http_cookie: 'http.cookie',
  http_user_agent: 'http.user_agent',
  http_host: 'http.host',
  http_client_body: 'http.request_body',
  http_stat_code: 'http.stat_code',
  http_server_body: 'http.response_body',
};

/** pcre's buffer flags (Snort/Suricata). */
const PCRE_BUFFERS: Readonly<Record<string, BufferName>> = {
  U: 'http.uri',
  I: 'http.uri.raw',
  P: 'http.request_body',
  H: 'http.header',
  D: 'http.header.raw',
  M: 'http.method',
  C: 'http.cookie',
  V: 'http.user_agent',
  W: 'http.host',
  S: 'http.stat_code',
  Q: 'http.response_body',
};

const CONTENT_MODIFIERS = new Set(['nocase', 'offset', 'depth', 'distance', 'within', 'fast_pattern', 'rawbytes', 'startswith', 'endswith']);
/** Informational options that change nothing this engine does. */
const IGNORED = new Set(['target']);
const PROTOS: ReadonlySet<string> = new Set(['tcp', 'udp', 'icmp', 'ip', 'http']);
const FLAG_BITS: Readonly<Record<string, number>> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80, '2': 0x40, '1': 0x80 };
/** Longest prefilter literal: a prefix of a content is as sound a prefilter, and keeps the automaton small. */
const MAX_FAST = 32;
const MAX_CONTENT = 4096;

interface RawOption {
  name: string;
  value: string | null;
}

/** Split the option part "a:1; b; c:"x;y";" at semicolons outside quotes. */
function splitOptions(body: string): RawOption[] {
  const out: RawOption[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\' && i + 1 < body.length) {
      cur += c + body[i + 1];
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ';' && !quoted) {
      pushOption(out, cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (quoted) throw new SignatureError('unterminated quoted string');
  if (cur.trim() !== '') throw new SignatureError('last option is not ended by ;');
  return out;
}

function pushOption(out: RawOption[], text: string): void {
  const t = text.trim();
  if (t === '') return;
  const colon = t.indexOf(':');
  if (colon < 0) out.push({ name: t.toLowerCase(), value: null });
  else out.push({ name: t.slice(0, colon).trim().toLowerCase(), value: t.slice(colon + 1).trim() });
}

/** A quoted value's text with \" \\ \; \: unescaped. */
function unquote(value: string, what: string): string {
  const v = value.trim();
  if (v.length < 2 || !v.startsWith('"') || !v.endsWith('"')) throw new SignatureError(`${what} must be a quoted string`);
  return v.slice(1, -1).replace(/\\(.)/g, '$1');
}

/** Content text → bytes: |0d 0a| hex runs, other characters as their UTF-8 bytes. */
function contentBytes(text: string): Buffer {
  const parts: Buffer[] = [];
  const pieces = text.split('|');
  if (pieces.length % 2 === 0) throw new SignatureError('content has an unclosed |hex| run');
  pieces.forEach((piece, i) => {
    if (i % 2 === 0) {
      parts.push(Buffer.from(piece, 'utf8'));
      return;
    }
    const hex = piece.replace(/\s+/g, '');
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new SignatureError('content has bad hex bytes between | |');
    parts.push(Buffer.from(hex, 'hex'));
  });
  return Buffer.concat(parts);
}

function intValue(value: string | null, what: string, min: number, max: number): number {
  const v = (value ?? '').trim();
  if (!/^-?\d+$/.test(v)) throw new SignatureError(`${what} needs a whole number`);
  const n = Number(v);
  if (n < min || n > max) throw new SignatureError(`${what} out of range`);
  return n;
}

function numTest(value: string | null, what: string, max: number): NumTest {
  const v = (value ?? '').replace(/\s+/g, '');
  let m = /^(\d+)<>(\d+)$/.exec(v);
  if (m) return { op: '<>', a: Number(m[1]), b: Number(m[2]) };
  m = /^(<=|>=|<|>|!|=)?(\d+)$/.exec(v);
  if (!m) throw new SignatureError(`${what} needs a number, <n, >n or a<>b`);
  const n = Number(m[2]);
  if (n > max) throw new SignatureError(`${what} out of range`);
  const op = m[1] === undefined || m[1] === '=' ? '=' : m[1] === '!' ? '!=' : (m[1] as NumTest['op']);
  return { op, a: n, b: 0 };
}

export function numMatches(t: NumTest, n: number | undefined): boolean {
  if (n === undefined) return false;
  switch (t.op) {
    case '=': return n === t.a;
    case '!=': return n !== t.a;
    case '<': return n < t.a;
    case '>': return n > t.a;
    case '<=': return n <= t.a;
    case '>=': return n >= t.a;
    default: return n > t.a && n < t.b;
  }
}

function flagsTest(value: string | null): FlagsTest {
  const [main, mask = ''] = (value ?? '').replace(/\s+/g, '').split(',');
  let mod: FlagsTest['mod'] = '';
  let bits = 0;
  for (const ch of main) {
    if (ch === '+' || ch === '*' || ch === '!') mod = ch;
    else if (ch === '0') bits = 0;
    else if (FLAG_BITS[ch.toUpperCase()] !== undefined) bits |= FLAG_BITS[ch.toUpperCase()];
    else throw new SignatureError('flags has an unknown flag');
  }
  let ignore = 0;
  for (const ch of mask) {
    if (FLAG_BITS[ch.toUpperCase()] === undefined) throw new SignatureError('flags has an unknown flag');
    ignore |= FLAG_BITS[ch.toUpperCase()];
  }
  return { bits, mod, ignore };
}

export function flagsMatch(t: FlagsTest, flagBits: number | undefined): boolean {
  if (flagBits === undefined) return false;
  const f = flagBits & ~t.ignore;
  switch (t.mod) {
    case '+': return (f & t.bits) === t.bits;
    case '*': return (f & t.bits) !== 0;
    case '!': return (f & t.bits) === 0;
    default: return f === t.bits;
  }
}

/** "key value, key value" → map (threshold, detection_filter). */
function keyValues(value: string | null, what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (value ?? '').split(',')) {
    const m = /^\s*(\w+)\s+(\S+)\s*$/.exec(part);
    if (!m) throw new SignatureError(`${what} needs "key value" pairs separated by commas`);
    out.set(m[1].toLowerCase(), m[2]);
  }
  return out;
}

function thresholdSpec(value: string | null, filter: boolean): ThresholdSpec {
  const what = filter ? 'detection_filter' : 'threshold';
  const kv = keyValues(value, what);
  const type = filter ? 'detection_filter' : kv.get('type');
  if (type !== 'limit' && type !== 'threshold' && type !== 'both' && type !== 'detection_filter') throw new SignatureError('threshold type must be limit, threshold or both');
  const track = kv.get('track');
  if (track !== 'by_src' && track !== 'by_dst') throw new SignatureError(`${what} track must be by_src or by_dst`);
  const count = intValue(kv.get('count') ?? null, `${what} count`, 1, 1_000_000);
  const seconds = intValue(kv.get('seconds') ?? null, `${what} seconds`, 1, 86_400 * 30);
  for (const k of kv.keys()) if (!['type', 'track', 'count', 'seconds'].includes(k)) throw new SignatureError(`${what} option '${k}' not supported`);
  return { type, track, count, seconds };
}

function flowbitOp(value: string | null): FlowbitOp | 'noalert' {
  const v = (value ?? '').trim();
  if (v === 'noalert') return 'noalert';
  const m = /^(set|unset|toggle|isset|isnotset)\s*,\s*([\w.\-|&]+)$/.exec(v);
  if (!m) throw new SignatureError('flowbits must be set|unset|toggle|isset|isnotset,name or noalert');
  const op = m[1] as FlowbitOp['op'];
  const any = m[2].includes('|');
  const names = m[2].split(any ? '|' : '&');
  if (names.some((n) => n === '') || (m[2].includes('|') && m[2].includes('&'))) throw new SignatureError('flowbits names: use name1|name2 or name1&name2');
  if (names.length > 1 && (op === 'toggle' || (any && (op === 'set' || op === 'unset')))) throw new SignatureError(`flowbits ${op} takes one name or names joined by &`);
  return { op, names, any };
}

/** pcre:"/re/flags" → a PcreItem and the buffer its flags name (or null). */
function pcreItem(value: string, negated: boolean): { item: PcreItem; buffer: BufferName | null } {
  const text = unquoteRegex(value);
  const m = /^\/([\s\S]*)\/([A-Za-z]*)$/.exec(text);
  if (!m) throw new SignatureError('pcre must be "/regex/flags"');
  let source = m[1];
  let flags = '';
  let relative = false;
  let buffer: BufferName | null = null;
  for (const f of m[2]) {
    if (f === 'i' || f === 's' || f === 'm') flags += f;
    else if (f === 'x') source = stripExtended(source);
    else if (f === 'R') relative = true;
    else if (f === 'A') source = `^(?:${source})`;
    else if (f === 'E') source = source.replace(/\$$/, '\\z');
    else if (f === 'B' || f === 'O') continue;
    else if (PCRE_BUFFERS[f] !== undefined) {
      if (buffer !== null) throw new SignatureError('pcre names two buffers');
      buffer = PCRE_BUFFERS[f];
    } else if (f === 'G') throw new SignatureError("pcre flag 'G' (ungreedy) not supported");
    else throw new SignatureError(`pcre flag '${f}' not supported`);
  }
  let re: RegExp;
  try {
    re = compileUserRegex(source, `${flags}g`);
  } catch (err) {
    throw new SignatureError(`pcre: ${(err as Error).message}`);
  }
  return { item: { kind: 'pcre', re, negated, relative, source }, buffer };
}

/** pcre's quoted value: only \" is an escape of the quoting, the rest is regex syntax. */
function unquoteRegex(value: string): string {
  const v = value.trim();
  if (v.length < 2 || !v.startsWith('"') || !v.endsWith('"')) throw new SignatureError('pcre must be a quoted string');
  return v.slice(1, -1).replace(/\\"/g, '"').replace(/\\;/g, ';');
}

/** PCRE's x flag: unescaped whitespace outside classes and # comments removed (RE2 has no extended mode). */
function stripExtended(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      out += c + (source[i + 1] ?? '');
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else if (c === '#') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return out;
}

function emptyContent(bytes: Buffer, negated: boolean): ContentItem {
  return { kind: 'content', bytes, folded: null, negated, relative: false, offset: 0, depth: undefined, distance: 0, within: undefined, endsWith: false, fastPattern: false, fastSlice: null };
}

/** Apply one content modifier (Suricata style `nocase;` or Snort 3 inline `, nocase`). */
function modifyContent(c: ContentItem, name: string, value: string | null): void {
  switch (name) {
    case 'nocase':
      // ASCII only, as the engine folds the buffer (Snort's and Suricata's nocase).
      c.folded = Buffer.from(c.bytes.map((b) => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b)));
      return;
    case 'rawbytes':
      return;
    case 'offset':
      c.offset = intValue(value, 'offset', 0, 65535);
      return;
    case 'depth':
      c.depth = intValue(value, 'depth', 1, 65535);
      return;
    case 'distance':
      c.distance = intValue(value, 'distance', -65535, 65535);
      c.relative = true;
      return;
    case 'within':
      c.within = intValue(value, 'within', 1, 65535);
      c.relative = true;
      return;
    case 'startswith':
      c.offset = 0;
      c.depth = c.bytes.length;
      return;
    case 'endswith':
      c.endsWith = true;
      return;
    case 'fast_pattern': {
      c.fastPattern = true;
      const v = (value ?? '').trim();
      if (v === '' || v === 'only') return;
      const m = /^(\d+)\s*,\s*(\d+)$/.exec(v);
      if (!m || Number(m[1]) + Number(m[2]) > c.bytes.length || Number(m[2]) === 0) throw new SignatureError('fast_pattern offset,length outside the content');
      c.fastSlice = [Number(m[1]), Number(m[1]) + Number(m[2])];
      return;
    }
    default:
      throw new SignatureError(`unsupported content modifier '${name}'`);
  }
}

/** content:"x" or content:!"x", with Snort 3 inline modifiers after commas. */
function contentItem(value: string): ContentItem {
  let v = value.trim();
  const negated = v.startsWith('!');
  if (negated) v = v.slice(1).trim();
  if (!v.startsWith('"')) throw new SignatureError('content must be a quoted string');
  let end = 1;
  while (end < v.length && v[end] !== '"') end += v[end] === '\\' ? 2 : 1;
  if (end >= v.length) throw new SignatureError('content has no closing quote');
  const bytes = contentBytes(unquote(v.slice(0, end + 1), 'content'));
  if (bytes.length === 0) throw new SignatureError('content is empty');
  if (bytes.length > MAX_CONTENT) throw new SignatureError(`content longer than ${MAX_CONTENT} bytes`);
  const c = emptyContent(bytes, negated);
  const rest = v.slice(end + 1).trim();
  if (rest !== '') {
    if (!rest.startsWith(',')) throw new SignatureError('content: text after the closing quote');
    for (const mod of rest.slice(1).split(',')) {
      const m = /^\s*(\w+)(?:\s+(.+?))?\s*$/.exec(mod);
      if (!m) throw new SignatureError('content: bad inline modifier');
      modifyContent(c, m[1].toLowerCase(), m[2] ?? null);
    }
  }
  return c;
}


/** Header fields, split at whitespace outside brackets. */
function splitHeader(head: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of head) {
    if (c === '[') depth++;
    if (c === ']') depth--;
    if (/\s/.test(c) && depth === 0) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur !== '') out.push(cur);
  return out;
}

/** The sid written in a rule, for the report of a rule that cannot be parsed further. */
function sidOf(text: string): number | null {
  const m = /[(;]\s*sid\s*:\s*(\d+)\s*;/.exec(text);
  return m ? Number(m[1]) : null;
}

/** Parse one rule (joined into one line). Throws SignatureError with a short reason. */
export function parseSignature(text: string, vars: RuleVars, line = 1): Signature {
  const open = text.indexOf('(');
  if (open < 0 || !text.trimEnd().endsWith(')')) throw new SignatureError('not a rule: expected "action proto src sport -> dst dport (options;)"');
  let head = splitHeader(text.slice(0, open));
  // Snort 3 service rules: 'alert http (...)' is any any -> any any.
  if (head.length === 2) head = [...head, 'any', 'any', '->', 'any', 'any'];
  if (head.length !== 7) throw new SignatureError('header must be: action proto src sport -> dst dport');
  const [action, protoText, srcText, sportText, dir, dstText, dportText] = head;
  if (action !== 'alert' && action !== 'drop') throw new SignatureError(`unsupported action '${action}'`);
  const proto = protoText.toLowerCase();
  if (!PROTOS.has(proto)) throw new SignatureError(`unsupported protocol '${proto}'`);
  if (dir !== '->' && dir !== '<>') throw new SignatureError(`unsupported direction '${dir}'`);
  let src: AddrTest, dst: AddrTest, sport: PortTest, dport: PortTest;
  try {
    src = parseAddress(srcText, vars);
    dst = parseAddress(dstText, vars);
    sport = parsePortSpec(sportText, vars);
    dport = parsePortSpec(dportText, vars);
  } catch (err) {
    if (err instanceof HeaderError) throw new SignatureError(err.message);
    throw err;
  }
  const options = splitOptions(text.slice(open + 1, text.trimEnd().length - 1));
  const sig: Signature = {
    gid: 1, sid: 0, rev: 1, msg: '', classtype: undefined, priority: DEFAULT_PRIORITY, severity: 'low', category: 'payload', references: [], metadata: [],
    action, proto: proto as SigProto, src, sport, dst, dport, bidirectional: dir === '<>',
    headerKey: `${proto} ${srcText} ${sportText} ${dir} ${dstText} ${dportText}`,
    toServer: null, established: null, dsize: null, flags: null, itype: null, icode: null,
    chains: [], flowbits: [], noalert: false, threshold: null, fast: null, line, text,
  };
  let priority: number | null = null;
  let sticky: BufferKey = 'payload';
  /** The last content or pcre item and its chain, for modifiers. */
  let last: { item: MatchItem; chain: BufferChain } | null = null;
  /** Whether the previous option was a content or one of its modifiers (legacy buffer names then modify it). */
  let afterContent = false;
  const chainFor = (buffer: BufferKey): BufferChain => {
    let c = sig.chains.find((x) => x.buffer === buffer);
    if (!c) sig.chains.push((c = { buffer, items: [] }));
    return c;
  };
  const moveLast = (buffer: BufferKey): void => {
    if (last === null || last.chain.buffer === buffer) return;
    last.chain.items.splice(last.chain.items.indexOf(last.item), 1);
    const to = chainFor(buffer);
    to.items.push(last.item);
    last = { item: last.item, chain: to };
  };
  for (const { name, value } of options) {
    const wasAfterContent = afterContent;
    afterContent = false;
    switch (name) {
      case 'msg': sig.msg = unquote(value ?? '', 'msg'); break;
      case 'sid': sig.sid = intValue(value, 'sid', 1, 2 ** 32 - 1); break;
      case 'rev': sig.rev = intValue(value, 'rev', 0, 2 ** 32 - 1); break;
      case 'gid': sig.gid = intValue(value, 'gid', 1, 2 ** 32 - 1); break;
      case 'classtype': {
        const cls = (value ?? '').trim();
        if (!CLASSIFICATIONS.has(cls)) throw new SignatureError('unknown classtype');
        sig.classtype = cls;
        break;
      }
      case 'priority': priority = intValue(value, 'priority', 1, 255); break;
      case 'reference': sig.references.push((value ?? '').trim()); break;
      case 'metadata': sig.metadata.push((value ?? '').trim()); break;
      case 'content': {
        const item = contentItem(value ?? '');
        const chain = chainFor(sticky);
        chain.items.push(item);
        last = { item, chain };
        afterContent = true;
        break;
      }
      case 'pcre': {
        let v = (value ?? '').trim();
        const negated = v.startsWith('!');
        if (negated) v = v.slice(1);
        const { item, buffer } = pcreItem(v, negated);
        const chain = chainFor(buffer ?? sticky);
        chain.items.push(item);
        last = { item, chain };
        break;
      }
      case 'flow':
        for (const part of (value ?? '').split(',').map((s) => s.trim().toLowerCase())) {
          if (part === 'to_server' || part === 'from_client') sig.toServer = true;
          else if (part === 'to_client' || part === 'from_server') sig.toServer = false;
          else if (part === 'established') sig.established = true;
          else if (part === 'not_established') sig.established = false;
          else if (part !== 'stateless') throw new SignatureError(`unsupported flow option '${part}'`);
        }
        break;
      case 'dsize': sig.dsize = numTest(value, 'dsize', 65535); break;
      case 'flags': sig.flags = flagsTest(value); break;
      case 'itype': sig.itype = numTest(value, 'itype', 255); break;
      case 'icode': sig.icode = numTest(value, 'icode', 255); break;
      case 'threshold':
      case 'detection_filter':
        if (sig.threshold !== null) throw new SignatureError('threshold and detection_filter together not supported');
        sig.threshold = thresholdSpec(value, name === 'detection_filter');
        break;
      case 'flowbits': {
        const op = flowbitOp(value);
        if (op === 'noalert') sig.noalert = true;
        else sig.flowbits.push(op);
        break;
      }
      case 'noalert': sig.noalert = true; break;
      case 'service': {
        // Snort 3: the application protocol; http is the one this engine parses.
        const services = (value ?? '').split(',').map((x) => x.trim().toLowerCase());
        if (!services.includes('http')) throw new SignatureError('unsupported service (only http)');
        if (sig.proto === 'tcp' || sig.proto === 'ip') sig.proto = 'http';
        break;
      }
      default:
        if (CONTENT_MODIFIERS.has(name)) {
          if (last === null || last.item.kind !== 'content') throw new SignatureError(`'${name}' without a content before it`);
          modifyContent(last.item, name, value);
          afterContent = true;
        } else if (LEGACY[name] !== undefined && wasAfterContent) {
          moveLast(LEGACY[name]);
          afterContent = true;
        } else if (STICKY[name] !== undefined || LEGACY[name] !== undefined) {
          if (value !== null) throw new SignatureError(`buffer '${name}' takes no value`);
          sticky = STICKY[name] ?? LEGACY[name];
        } else if (!IGNORED.has(name)) {
          throw new SignatureError(`unsupported option '${name}'`);
        }
    }
  }
  if (sig.sid === 0) throw new SignatureError('no sid');
  // A legacy modifier (content:"x"; http_uri;) moves its content out of the chain it was put in: leave no empty chain behind.
  sig.chains = sig.chains.filter((c) => c.items.length > 0);
  if (sig.msg === '') sig.msg = `sid ${sig.gid}:${sig.sid}`;
  for (const chain of sig.chains) {
    for (const item of chain.items) {
      if (item.kind === 'content' && item.relative && (item.depth !== undefined || item.offset !== 0)) throw new SignatureError('content mixes offset/depth with distance/within');
    }
  }
  sig.priority = priority ?? (sig.classtype !== undefined ? (CLASSIFICATIONS.get(sig.classtype)?.priority ?? DEFAULT_PRIORITY) : DEFAULT_PRIORITY);
  sig.severity = severityOf(sig.priority);
  sig.category = categoryOf(sig.classtype);
  sig.fast = fastPattern(sig);
  return sig;
}

/** The explicit fast_pattern content, else the longest positive content (Suricata's choice). */
function fastPattern(sig: Signature): Signature['fast'] {
  let best: { buffer: BufferKey; c: ContentItem } | null = null;
  for (const chain of sig.chains) {
    for (const item of chain.items) {
      if (item.kind !== 'content' || item.negated) continue;
      if (item.fastPattern) return literal(chain.buffer, item);
      if (best === null || item.bytes.length > best.c.bytes.length) best = { buffer: chain.buffer, c: item };
    }
  }
  return best === null ? null : literal(best.buffer, best.c);
}

function literal(buffer: BufferKey, c: ContentItem): Signature['fast'] {
  const bytes = c.fastSlice ? c.bytes.subarray(c.fastSlice[0], c.fastSlice[1]) : c.bytes;
  return { buffer, text: bytes.subarray(0, MAX_FAST).toString('latin1') };
}

/** Physical lines → rules: '\' at a line's end joins the next; '#' lines and blank lines are skipped. */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let cur = lines[i];
    while (/\\\s*$/.test(cur) && i + 1 < lines.length) cur = cur.replace(/\\\s*$/, ' ') + lines[++i].trim();
    const t = cur.trim();
    if (t === '' || t.startsWith('#')) continue;
    out.push({ text: t, line: start + 1 });
  }
  return out;
}

/**
 * Parse a rules text. Each rule either loads whole or is skipped with its
 * sid (when it has one), line and reason.
 */
export function parseSignatures(text: string, vars: RuleVars): ParsedRules {
  const signatures: Signature[] = [];
  const skipped: SkippedRule[] = [];
  const lines = logicalLines(text);
  for (const { text: ruleText, line } of lines) {
    try {
      signatures.push(parseSignature(ruleText, vars, line));
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      skipped.push({ sid: sidOf(ruleText), line, reason: err.message });
    }
  }
  return { signatures, skipped, total: lines.length };
}

/** Whether a text is in the rule language rather than JSON (first meaningful character not [ or {). */
export function looksLikeRuleLanguage(text: string): boolean {
  const t = text.replace(/^(?:\s|#[^\n]*\n)*/, '');
  return t !== '' && t[0] !== '[' && t[0] !== '{';
}
