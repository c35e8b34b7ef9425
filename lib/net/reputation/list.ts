/**
 * One threat list: its source, the set in use, and the last good copy on
 * disk. At start the cached copy is loaded (the node works offline and
 * before the first refresh); a refresh replaces the set only when the new
 * copy is plausible — not a failed, truncated or oversized download, not
 * mostly unparseable lines, not shrunk below a floor of the last good size —
 * and writes it to the cache (text, then metadata, each renamed into place,
 * so a crash leaves the old copy). Every outcome is kept in `last` with the
 * reason, for the status line and the node's list output.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Severity } from '../../detect/alert';
import { IpRangeSet, IpRangeSetBuilder } from '../../base/ip-ranges';
import { fetchList, type FetchLimits, type Validators } from './fetch';
import { LIST_FORMATS, parseList, type ListFormat, type ParsedList } from './parse';

export interface ListSource {
  name: string;
  /** http(s) URL or absolute file path. */
  url: string;
  format: ListFormat;
  category: string;
  severity: Severity;
  /** Seconds between refreshes; 0 = only at start and on demand. */
  refreshS: number;
}

/** How strict a refresh is. */
export interface Plausibility {
  /** Refuse a copy with more unparseable lines than this share of its lines, in %. */
  maxBadPercent: number;
  /** Refuse a copy with fewer entries than this share of the last good copy, in %. */
  minKeepPercent: number;
}

export interface RefreshOutcome {
  /** 'updated' (new copy in use), 'unchanged' (304 / same file), 'refused' (kept the good copy), 'failed' (download failed, kept it). */
  result: 'updated' | 'unchanged' | 'refused' | 'failed' | 'cached';
  at: number;
  reason: string;
}

interface CacheMeta extends Validators {
  url: string;
  fetchedAt: number;
  entries: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low'];

/** Check the sources setting (JSON text or array); throws naming every bad entry. */
export function parseSources(value: unknown): ListSource[] {
  const arr: unknown = typeof value === 'string' ? (value.trim() === '' ? [] : JSON.parse(value)) : value;
  if (!Array.isArray(arr)) throw new Error('sources must be a JSON array of { name, url, format?, category?, severity?, refreshS? }');
  const bad: string[] = [];
  const names = new Set<string>();
  const out: ListSource[] = [];
  arr.forEach((raw: unknown, i) => {
    const s = (raw ?? {}) as Record<string, unknown>;
    const where = `source ${i + 1}`;
    const name = s.name;
    if (typeof name !== 'string' || !NAME.test(name)) return bad.push(`${where}: name must be 1-64 letters, digits, '.', '_' or '-'`);
    if (names.has(name)) return bad.push(`${where}: the name '${name}' is used twice`);
    names.add(name);
    const url = s.url;
    if (typeof url !== 'string' || !(/^https?:\/\/[^\s]+$/i.test(url) || url.startsWith('/'))) return bad.push(`${name}: url must be an http(s) URL or an absolute file path`);
    const format = (s.format ?? 'auto') as ListFormat;
    if (!LIST_FORMATS.includes(format)) return bad.push(`${name}: format must be one of ${LIST_FORMATS.join(', ')}`);
    const severity = (s.severity ?? 'high') as Severity;
    if (!SEVERITIES.includes(severity)) return bad.push(`${name}: severity must be high, medium or low`);
    const category = s.category ?? 'custom';
    if (typeof category !== 'string' || !/^[a-z0-9_-]{1,32}$/.test(category)) return bad.push(`${name}: category must be a short lowercase word (c2, scanner, spam, tor, custom)`);
    const refreshS = s.refreshS ?? 86_400;
    if (typeof refreshS !== 'number' || !Number.isInteger(refreshS) || refreshS < 0 || (refreshS > 0 && refreshS < 60) || refreshS > 30 * 86_400) {
      return bad.push(`${name}: refreshS must be 0 (never) or 60 to 2592000 seconds`);
    }
    out.push({ name, url, format, category, severity, refreshS });
  });
  if (bad.length) throw new Error(bad.join('; '));
  return out;
}

export class ReputationList {
  set: IpRangeSet = new IpRangeSetBuilder().build();
  /** Entries of the copy in use, as read (duplicates included): the base of the shrink check. */
  entries = 0;
  /** When the copy in use was downloaded (ms), 0 = none yet. */
  fetchedAt = 0;
  last: RefreshOutcome | null = null;
  private validators: Validators = {};
  private refreshing: Promise<RefreshOutcome> | null = null;

  constructor(readonly source: ListSource, private readonly cacheDir: string) {}

  private get textPath(): string {
    return join(this.cacheDir, `${this.source.name}.list`);
  }

  private get metaPath(): string {
    return join(this.cacheDir, `${this.source.name}.json`);
  }

  /** Load the last good copy from the cache, if there is one for this source's URL. */
  async loadCache(): Promise<boolean> {
    let meta: CacheMeta;
    let text: string;
    try {
      meta = JSON.parse(await readFile(this.metaPath, 'utf8')) as CacheMeta;
      text = await readFile(this.textPath, 'utf8');
    } catch {
      return false;
    }
    if (meta.url !== this.source.url) return false;
    const parsed = this.useText(text, meta.fetchedAt);
    this.validators = { ...(meta.etag ? { etag: meta.etag } : {}), ...(meta.lastModified ? { lastModified: meta.lastModified } : {}) };
    this.last = { result: 'cached', at: Date.now(), reason: `${parsed.entries} entries from the copy of ${new Date(meta.fetchedAt).toISOString()}` };
    return true;
  }

  /** Use a copy given as text (the cache, or a caller that has the list at hand), unchecked. */
  useText(text: string, fetchedAt = Date.now()): ParsedList {
    const parsed = parseList(text, this.source.format);
    this.set = parsed.builder.build();
    this.entries = parsed.entries;
    this.fetchedAt = fetchedAt;
    return parsed;
  }

  /** Download and check a new copy (or join the refresh under way). Never rejects. */
  refresh(limits: FetchLimits, rules: Plausibility): Promise<RefreshOutcome> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh(limits, rules).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(limits: FetchLimits, rules: Plausibility): Promise<RefreshOutcome> {
    const keep = this.entries > 0 ? `; keeping the good copy (${this.entries} entries)` : '; no good copy yet';
    const outcome = (result: RefreshOutcome['result'], reason: string): RefreshOutcome => (this.last = { result, at: Date.now(), reason });
    let got;
    try {
      got = await fetchList(this.source.url, this.validators, limits);
    } catch (err) {
      return outcome('failed', `${(err as Error).message}${keep}`);
    }
    if (!got.changed) return outcome('unchanged', `not modified since the copy of ${new Date(this.fetchedAt).toISOString()}`);
    const parsed = parseList(got.text, this.source.format);
    const lines = parsed.entries + parsed.bad;
    if (parsed.entries === 0) return outcome('refused', `no entries in the download${parsed.bad ? ` (${parsed.bad} unreadable lines, e.g. '${parsed.badSamples[0]}')` : ''}${keep}`);
    if (parsed.bad > 0 && (100 * parsed.bad) / lines > rules.maxBadPercent) {
      return outcome('refused', `${parsed.bad} of ${lines} lines unreadable (over ${rules.maxBadPercent} %), e.g. '${parsed.badSamples[0]}'${keep}`);
    }
    if (this.entries > 0 && (100 * parsed.entries) / this.entries < rules.minKeepPercent) {
      return outcome('refused', `shrank from ${this.entries} to ${parsed.entries} entries (${((100 * parsed.entries) / this.entries).toFixed(1)} %, under the ${rules.minKeepPercent} % floor)${keep}`);
    }
    this.set = parsed.builder.build();
    this.entries = parsed.entries;
    this.fetchedAt = Date.now();
    this.validators = { ...(got.etag ? { etag: got.etag } : {}), ...(got.lastModified ? { lastModified: got.lastModified } : {}) };
    let note = '';
    try {
      await this.writeCache(got.text);
    } catch (err) {
      note = `; not cached: ${(err as Error).message}`;
    }
    return outcome('updated', `${parsed.entries} entries${parsed.bad ? `, ${parsed.bad} unreadable lines skipped` : ''}${note}`);
  }

  private async writeCache(text: string): Promise<void> {
    await mkdir(this.cacheDir, { recursive: true });
    const meta: CacheMeta = { url: this.source.url, fetchedAt: this.fetchedAt, entries: this.entries, ...this.validators };
    await writeFile(`${this.textPath}.tmp`, text);
    await rename(`${this.textPath}.tmp`, this.textPath);
    await writeFile(`${this.metaPath}.tmp`, JSON.stringify(meta));
    await rename(`${this.metaPath}.tmp`, this.metaPath);
  }
}
