/**
 * Threat-list text → CIDRs. One tolerant reader per line covers the formats
 * in use: plain address/CIDR lists with `#` or `;` comments (FireHOL
 * .netset/.ipset, Emerging Threats compromised-ips, CINS, abuse.ch Feodo
 * Tracker text), Spamhaus DROP text (`1.10.16.0/20 ; SBL256894`), Spamhaus
 * DROP JSON lines (`{"cidr":"1.10.16.0/20","sblid":...}`, a last
 * `{"type":"metadata",...}` line) and Feodo Tracker CSV (quoted fields, the
 * address in `dst_ip`). A format may be named to refuse lines of the others;
 * 'auto' takes each line as what it looks like. Lines that are neither
 * comments nor entries are counted (with a few samples) so a refresh can
 * refuse a download that is not a list.
 */
import { IpRangeSetBuilder } from '../../base/ip-ranges';

export const LIST_FORMATS = ['auto', 'plain', 'spamhaus-drop', 'spamhaus-json', 'feodo', 'feodo-csv'] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

export interface ParsedList {
  builder: IpRangeSetBuilder;
  /** Entries read (duplicates included). */
  entries: number;
  /** Lines that are neither blank, comment nor entry. */
  bad: number;
  /** Up to 3 bad lines, for the reason a list is refused. */
  badSamples: string[];
}

/** The address field of a JSON line, or null for metadata (not an entry, not bad), or undefined when unreadable. */
function jsonEntry(line: string): string | null | undefined {
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
    if (v && typeof v === 'object') {
      if (v.type === 'metadata') return null;
      for (const key of ['cidr', 'ip', 'ip_address', 'network']) if (typeof v[key] === 'string') return v[key] as string;
    }
  } catch {
    // fall through: unreadable
  }
  return undefined;
}

/** The first CSV field that is an address: Feodo's `dst_ip` (the first field is a date). */
function csvEntry(line: string, builder: IpRangeSetBuilder): boolean {
  for (const raw of line.split(',')) {
    const f = raw.trim().replace(/^"|"$/g, '');
    if (f && builder.add(f)) return true;
  }
  return false;
}

/** The first token of a plain line: up to whitespace, `#` or `;`. */
function plainToken(line: string): string {
  let end = 0;
  while (end < line.length) {
    const c = line.charCodeAt(end);
    if (c === 32 || c === 9 || c === 35 || c === 59) break;
    end++;
  }
  return end === line.length ? line : line.slice(0, end);
}

/** Parse a whole list. Never throws: what is not understood is counted in `bad`. */
export function parseList(text: string, format: ListFormat = 'auto', builder = new IpRangeSetBuilder()): ParsedList {
  const out: ParsedList = { builder, entries: 0, bad: 0, badSamples: [] };
  const bad = (line: string): void => {
    out.bad++;
    if (out.badSamples.length < 3) out.badSamples.push(line.length > 60 ? `${line.slice(0, 60)}…` : line);
  };
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    let s = pos;
    let e = nl;
    pos = nl + 1;
    while (s < e && text.charCodeAt(s) <= 32) s++;
    while (e > s && text.charCodeAt(e - 1) <= 32) e--;
    if (s === e) continue;
    const c = text.charCodeAt(s);
    if (c === 35 || c === 59) continue; // '#' or ';' comment
    const line = text.slice(s, e);
    if (c === 123 /* { */ && (format === 'auto' || format === 'spamhaus-json')) {
      const entry = jsonEntry(line);
      if (entry === null) continue;
      if (entry !== undefined && builder.add(entry)) out.entries++;
      else bad(line);
      continue;
    }
    if (format === 'spamhaus-json') {
      bad(line);
      continue;
    }
    if ((format === 'feodo-csv' || (format === 'auto' && c === 34 /* " */)) && line.includes(',')) {
      if (csvEntry(line, builder)) out.entries++;
      else bad(line);
      continue;
    }
    if (format === 'feodo-csv') {
      bad(line);
      continue;
    }
    if (builder.add(plainToken(line))) out.entries++;
    else bad(line);
  }
  return out;
}
