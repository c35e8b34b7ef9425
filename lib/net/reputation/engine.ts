/**
 * ip-reputation's engine: threat lists (list.ts) checked against packets
 * (single or batch), flow records and device connections from
 * conntrack-poll; alerts with suppression (one per device and list per
 * cooldown, the repeats counted), `verdict: 'drop'` in drop mode, GeoIP and
 * ASN on alerts and flows (geo.ts), an optional alert for connections to
 * watched countries, and the lists loaded into kernel sets
 * (firewall/list-sets.ts). The allowlist wins over every list here and in
 * the kernel (its networks, the box's own addresses and the default gateways
 * are cut out of what is loaded). A packet costs two binary searches per
 * list on `src4`/`dst4`, no allocation unless it hits.
 */
import { join } from 'node:path';
import { CidrSet } from '../../base/cidr';
import { IpRangeSetBuilder, addressValue, intervalToCidrs, mergeIntervals, subtractIntervals, type Interval, type IpRangeSet } from '../../base/ip-ranges';
import type { Alert } from '../../detect/alert';
import { defineRules, makeAlert, type RuleInfo } from '../../detect/alerts';
import { addrKey } from '../../detect/keys';
import { Suppressor } from '../../detect/suppress';
import { looksLikePacket } from '../../packet/batch';
import type { Packet } from '../../packet/types';
import { readProtectedAddresses } from '../firewall/protected';
import { createListSets, type ListSetBackend } from '../firewall/list-sets';
import { DryRunRunner, ExecRunner, type CommandRunner } from '../firewall/runner';
import { GeoIp, type GeoInfo } from '../geo';
import type { DeviceStats, FlowRecord } from '../types';
import { lookupVendor } from '../vendor';
import { ReputationList, parseSources, type RefreshOutcome } from './list';
import type { ReputationSettings } from './settings';

export { reputationSchema, type ReputationSettings } from './settings';

export const REPUTATION_RULES = defineRules({
  outbound: { rule: 'reputation.outbound', sid: 9_006_001, signature: 'LAN device reached an address on a threat list', category: 'reputation', severity: 'high', tracks: 'listed' },
  inbound: { rule: 'reputation.inbound', sid: 9_006_002, signature: 'address on a threat list reached in', category: 'reputation', severity: 'high', tracks: 'listed' },
  country: { rule: 'geo.country', sid: 9_006_011, signature: 'connection to a watched country', category: 'policy', severity: 'medium', tracks: 'listed' },
});

/** One list as the node's list output and the dashboards show it. */
export interface ListReport {
  name: string;
  category: string;
  url: string;
  entries: number;
  /** When the copy in use was downloaded (ms), 0 = never. */
  fetchedAt: number;
  ageS: number | null;
  hits: number;
  last: RefreshOutcome | null;
}

export interface EngineStats {
  packets: number;
  flows: number;
  hits: number;
  alerts: number;
  suppressed: number;
  dropped: number;
}

export interface ReputationHost {
  /** The Node-RED user directory: the lists' and GeoIP caches go under it. */
  userDir: string;
  /** A refresh ended (the node sends the list report and redraws its status). */
  refreshed(outcomes: Array<{ list: string } & RefreshOutcome>): void;
  /** Something the user should fix that does not stop the node (GeoIP data missing). */
  warn(text: string): void;
  /** Kernel sets: a load failed or worked (reason in words). */
  kernel(text: string, ok: boolean): void;
  /** Tests give a runner (a namespace's); default: real commands, or recorded ones in dry-run. */
  runner?: CommandRunner;
  /** GeoIP tables already open (shared, or opened synchronously); default: opened by start(). */
  geo?: GeoIp;
}

interface Entry {
  list: ReputationList;
  hits: number;
}

interface Hit {
  entry: Entry;
  index: number;
  listed: string;
  device: string;
  direction: 'outbound' | 'inbound';
}

/** Countries setting → set of upper-case codes. */
function countriesOf(text: string): Set<string> {
  return new Set(text.split(/[\s,]+/).filter(Boolean).map((c) => c.toUpperCase()));
}

const DEVICE_CAP = 8192;

export class ReputationEngine {
  private entries: Entry[] = [];
  private allow: IpRangeSet;
  private suppressor: Suppressor;
  private geo: GeoIp | null = null;
  private watch: Set<string>;
  private timers: NodeJS.Timeout[] = [];
  private kernel: ListSetBackend | null = null;
  private kernelQueue: Promise<void> = Promise.resolve();
  private readonly runner: CommandRunner;
  /** Device address → MAC learnt from packets and device stats, for flows. */
  private readonly macs = new Map<string, { mac: string; vendor?: string }>();
  private closed = false;
  readonly stats: EngineStats = { packets: 0, flows: 0, hits: 0, alerts: 0, suppressed: 0, dropped: 0 };
  /** Why GeoIP is off although asked for (its data is not installed, the MMDB file is unreadable). */
  geoProblem: string | null = null;
  /** The last kernel load: entries per family and when, or why it failed. */
  kernelState: { ok: boolean; text: string } | null = null;

  constructor(readonly name: string, private settings: ReputationSettings, private readonly host: ReputationHost) {
    const sources = parseSources(settings.sources);
    this.allow = ReputationEngine.allowSet(settings.allowlist);
    this.entries = sources.map((s) => ({ list: new ReputationList(s, this.cacheDir), hits: 0 }));
    this.suppressor = new Suppressor(4096, settings.cooldownS * 1000);
    this.watch = countriesOf(settings.watchCountries);
    this.runner = host.runner ?? (settings.dryRun ? new DryRunRunner() : new ExecRunner(120_000));
    if (settings.geoip && host.geo) this.geo = host.geo;
  }

  /** A list by name, e.g. to give it a copy at hand (`list(name).useText`). */
  list(name: string): ReputationList | undefined {
    return this.entries.find((e) => e.list.source.name === name)?.list;
  }

  private static allowSet(list: readonly string[]): IpRangeSet {
    const b = new IpRangeSetBuilder();
    for (const c of new CidrSet(list).cidrs) b.add(c.text);
    return b.build();
  }

  private get cacheDir(): string {
    return join(this.host.userDir, 'ips-reputation');
  }

  /** Load the cached lists and GeoIP, set the kernel sets up from the cache, start refreshing. Rejects when GeoIP or the kernel cannot be set up. */
  async start(): Promise<void> {
    const cached = await Promise.all(this.entries.map((e) => e.list.loadCache()));
    // A list with no copy yet is fetched before the first message (within the timeout); the others refresh behind.
    const missing = this.entries.filter((_, i) => !cached[i]).map((e) => e.list.source.name);
    const first = missing.length ? this.refresh(missing) : null;
    if (this.settings.geoip && !this.geo) {
      // GeoIP is enrichment: without its data the lists still protect, and the status says what is missing.
      try {
        this.geo = await GeoIp.open({ mmdbFile: this.settings.mmdbFile || undefined, asn: this.settings.asn, cacheDir: join(this.host.userDir, 'ips-geo') });
      } catch (err) {
        this.geoProblem = `no GeoIP: ${(err as Error).message}`;
        this.host.warn(this.geoProblem);
      }
    }
    if (this.settings.enforce !== 'off') {
      const s = this.settings;
      this.kernel = createListSets(this.runner, { kind: s.enforce as 'ipset' | 'nftables', setName: s.setName, chain: s.chain, table: s.table, maxElem: s.maxElem });
      await this.kernel.setup();
      await this.loadKernel();
    }
    if (first) await first;
    for (const e of this.entries) {
      if (e.list.source.refreshS > 0) this.timers.push(setInterval(() => void this.refresh([e.list.source.name]), e.list.source.refreshS * 1000));
    }
    const rest = this.entries.filter((_, i) => cached[i]).map((e) => e.list.source.name);
    if (rest.length) void this.refresh(rest);
  }

  /** Refresh some lists (by name) or all now; reports through host.refreshed and reloads the kernel sets when one changed. */
  async refresh(names?: readonly string[]): Promise<Array<{ list: string } & RefreshOutcome>> {
    const want = this.entries.filter((e) => !names || names.includes(e.list.source.name));
    const limits = { timeoutMs: this.settings.timeoutS * 1000, maxBytes: this.settings.maxMB * 1024 * 1024 };
    const rules = { maxBadPercent: this.settings.maxBadPercent, minKeepPercent: this.settings.minKeepPercent };
    const outcomes = await Promise.all(want.map(async (e) => ({ list: e.list.source.name, ...(await e.list.refresh(limits, rules)) })));
    if (this.closed) return outcomes;
    if (this.kernel && outcomes.some((o) => o.result === 'updated')) await this.loadKernel();
    this.host.refreshed(outcomes);
    return outcomes;
  }

  /**
   * What goes into the kernel: every list merged, minus the allowlist, the
   * box's own addresses and the default gateways, as the fewest CIDRs; `kept`
   * names the own and gateway addresses that were cut out.
   */
  async kernelCidrs(): Promise<{ v4: string[]; v6: string[]; kept: string[] }> {
    const block: Record<4 | 6, Interval[]> = { 4: [], 6: [] };
    for (const e of this.entries) {
      for (const [s, end] of e.list.set.ranges4()) block[4].push([BigInt(s), BigInt(end)]);
      for (const r of e.list.set.ranges6()) block[6].push(r);
    }
    const keep: Record<4 | 6, Interval[]> = { 4: [], 6: [] };
    for (const [s, end] of this.allow.ranges4()) keep[4].push([BigInt(s), BigInt(end)]);
    for (const r of this.allow.ranges6()) keep[6].push(r);
    const kept: string[] = [];
    if (this.settings.protectOwn || this.settings.protectGateway) {
      const prot = await readProtectedAddresses(this.runner, { own: this.settings.protectOwn, gateway: this.settings.protectGateway });
      for (const ip of prot.reasons.keys()) {
        const v = addressValue(ip);
        if (v) keep[v[0]].push([v[1], v[1]]);
        kept.push(ip);
      }
    }
    const cut = (f: 4 | 6): string[] => subtractIntervals(mergeIntervals(block[f]), mergeIntervals(keep[f])).flatMap(([s, e]) => intervalToCidrs(s, e, f === 4 ? 32 : 128));
    return { v4: cut(4), v6: cut(6), kept };
  }

  /** Load the lists into the kernel sets (one load at a time, in order). */
  private loadKernel(): Promise<void> {
    const run = async (): Promise<void> => {
      if (!this.kernel || this.closed) return;
      try {
        const { v4, v6, kept } = await this.kernelCidrs();
        await this.kernel.replace(v4, v6);
        this.kernelState = { ok: true, text: `kernel: ${v4.length} IPv4 and ${v6.length} IPv6 networks${kept.length ? `; never blocked: ${kept.join(', ')}` : ''}` };
      } catch (err) {
        this.kernelState = { ok: false, text: `kernel sets not updated: ${(err as Error).message}` };
      }
      this.host.kernel(this.kernelState.text, this.kernelState.ok);
    };
    this.kernelQueue = this.kernelQueue.then(run);
    return this.kernelQueue;
  }

  /** Dry-run: the commands recorded since the last call. */
  takeCommands(): string[] {
    return this.runner instanceof DryRunRunner ? this.runner.take() : [];
  }

  /** A listed address that is not allowlisted, as (list entry, hit index), or null. IPv4 goes by number. */
  private match(ip: string, n: number | undefined): { entry: Entry; index: number } | null {
    if (ip === '') return null;
    for (const entry of this.entries) {
      const i = n !== undefined ? entry.list.set.find4(n) : entry.list.set.find(ip);
      if (i >= 0) {
        const allowed = n !== undefined ? this.allow.find4(n) : this.allow.find(ip);
        return allowed >= 0 ? null : { entry, index: i };
      }
    }
    return null;
  }

  private hitOf(src: string, src4: number | undefined, dst: string, dst4: number | undefined): Hit | null {
    const out = this.match(dst, dst4);
    if (out) return { entry: out.entry, index: out.index, listed: dst, device: src, direction: 'outbound' };
    const inn = this.match(src, src4);
    if (inn) return { entry: inn.entry, index: inn.index, listed: src, device: dst, direction: 'inbound' };
    return null;
  }

  /** Check a message payload (packets, flow records, device stats, other nodes' alerts to enrich); returns the alerts. Packets on a hit get verdict 'drop' in drop mode. */
  process(payload: unknown, topic?: string): Alert[] {
    const alerts: Alert[] = [];
    const items = Array.isArray(payload) ? payload : [payload];
    if (items.length === 0) return alerts;
    const first = items[0] as Record<string, unknown>;
    // Cooldowns run on packet (or flow) time, like the detectors', so a replayed capture alerts as the live traffic did.
    let now: number;
    if (looksLikePacket(first)) {
      for (const p of items as Packet[]) this.packet(p, alerts);
      this.stats.packets += items.length;
      now = (items[items.length - 1] as Packet).ts;
    } else if (typeof first?.rule === 'string' && typeof first?.severity === 'string') {
      // Other detectors' alerts: GeoIP of the address they name (the offender, else the source), for the threat log.
      if (this.geo) for (const a of items as Alert[]) if (a.country === undefined) Object.assign(a, this.geoOf(a.offender ?? a.src));
      return alerts;
    } else if (topic === 'devices' || (typeof first?.ip === 'string' && 'rxBps' in first)) {
      for (const d of items as DeviceStats[]) if (d.mac) this.learn(d.ip, d.mac, d.vendor);
      return alerts;
    } else if (typeof first?.src === 'string' && typeof first?.dst === 'string' && 'origBytes' in first) {
      for (const f of items as FlowRecord[]) this.flow(f, alerts);
      this.stats.flows += items.length;
      const last = items[items.length - 1] as FlowRecord;
      now = last.end ?? last.start;
    } else {
      throw new Error("msg.payload is not a packet, a batch of packets, flow records (msg.topic 'flows'), device stats ('devices') or alerts");
    }
    for (const a of this.suppressor.flush(now)) alerts.push(a);
    this.stats.alerts += alerts.length;
    this.stats.suppressed = this.suppressor.suppressed;
    return alerts;
  }

  private learn(ip: string, mac: string, vendor?: string): void {
    if (this.macs.size >= DEVICE_CAP && !this.macs.has(ip)) this.macs.clear();
    this.macs.set(ip, { mac, vendor: vendor ?? lookupVendor(mac) ?? undefined });
  }

  private packet(p: Packet, alerts: Alert[]): void {
    const hit = this.hitOf(p.src, p.ip === 4 ? p.src4 : undefined, p.dst, p.ip === 4 ? p.dst4 : undefined);
    if (hit) {
      hit.entry.hits++;
      this.stats.hits++;
      const drop = this.settings.mode === 'drop';
      if (drop) {
        p.verdict = 'drop';
        this.stats.dropped++;
      }
      const mac = hit.direction === 'outbound' ? p.srcMac : p.dstMac;
      if (mac) this.learn(hit.device, mac);
      const a = this.reputationAlert(hit, p.ts, { proto: p.proto, sport: p.sport, dport: p.dport, srcMac: p.srcMac, src: p.src, dst: p.dst }, drop);
      if (a) alerts.push(a);
    } else if (this.watch.size && this.geo && p.ip !== 0) {
      this.countryCheck(p.src, p.dst, p.ts, p.proto, p.dport, alerts);
    }
  }

  private flow(f: FlowRecord, alerts: Alert[]): void {
    const remote = f.device !== undefined && f.device === f.dst ? f.src : f.dst;
    if (this.geo) Object.assign(f, this.geoOf(remote));
    const hit = this.hitOf(f.src, undefined, f.dst, undefined);
    const ts = f.end ?? f.start;
    if (hit) {
      hit.entry.hits++;
      this.stats.hits++;
      const a = this.reputationAlert(hit, ts, { proto: f.proto, sport: f.sport, dport: f.dport, src: f.src, dst: f.dst }, false);
      if (a) alerts.push(a);
    } else if (this.watch.size && this.geo) {
      this.countryCheck(f.device === f.dst ? f.dst : f.src, remote, ts, f.proto, f.dport, alerts);
    }
  }

  private geoOf(ip: string): GeoInfo {
    return this.geo ? this.geo.lookup(ip) : {};
  }

  private reputationAlert(hit: Hit, ts: number, where: Pick<Alert, 'proto' | 'sport' | 'dport' | 'srcMac' | 'src' | 'dst'>, dropped: boolean): Alert | null {
    const list = hit.entry.list;
    const info = hit.direction === 'outbound' ? REPUTATION_RULES.outbound : REPUTATION_RULES.inbound;
    const listIndex = this.entries.indexOf(hit.entry);
    return this.suppressor.offer(info.rule, addrKey(hit.device), ts, (count) => {
      const entryText = list.set.entryText(hit.index);
      const known = this.macs.get(hit.device);
      const device = `${hit.device}${known ? ` (${known.mac}${known.vendor ? `, ${known.vendor}` : ''})` : ''}`;
      const who = hit.direction === 'outbound' ? `LAN device ${device} reached ${hit.listed}` : `${hit.listed} reached ${device}`;
      const a = makeAlert({ ...info, severity: list.source.severity } as RuleInfo, {
        ts, ...where, listed: hit.listed, count, windowMs: this.settings.cooldownS * 1000, threshold: 1,
        action: dropped ? 'drop' : 'alert',
        reason: `${who}, on list '${list.source.name}' (${list.source.category}) as ${entryText}${count > 1 ? `; ${count} hits` : ''}`,
        evidence: `${list.source.name}: ${entryText}`,
        detector: this.name,
      });
      a.list = list.source.name;
      a.listCategory = list.source.category;
      a.listEntry = entryText;
      a.direction = hit.direction;
      a.device = hit.device;
      if (known) {
        a.deviceMac = known.mac;
        if (known.vendor) a.deviceVendor = known.vendor;
      }
      Object.assign(a, this.geoOf(hit.listed));
      return a;
    }, listIndex);
  }

  private countryCheck(device: string, remote: string, ts: number, proto: string, dport: number | undefined, alerts: Alert[]): void {
    const country = this.geo?.countryOf(remote);
    if (!country || !this.watch.has(country) || this.allow.find(remote) >= 0) return;
    const info = REPUTATION_RULES.country;
    const a = this.suppressor.offer(info.rule, addrKey(device), ts, (count) => {
      const alert = makeAlert(info, {
        ts, src: device, dst: remote, proto, dport, listed: remote, count, windowMs: this.settings.cooldownS * 1000, threshold: 1,
        reason: `${device} connected to ${remote} in ${country}, a watched country${count > 1 ? `; ${count} connections` : ''}`,
        detector: this.name,
      });
      alert.device = device;
      Object.assign(alert, this.geoOf(remote));
      return alert;
    }, country.charCodeAt(0) * 256 + country.charCodeAt(1));
    if (a) alerts.push(a);
  }

  /** The lists for the node's list output and dashboards. */
  lists(now = Date.now()): ListReport[] {
    return this.entries.map(({ list, hits }) => ({
      name: list.source.name,
      category: list.source.category,
      url: list.source.url,
      entries: list.set.size,
      fetchedAt: list.fetchedAt,
      ageS: list.fetchedAt ? Math.round((now - list.fetchedAt) / 1000) : null,
      hits,
      last: list.last,
    }));
  }

  /** Entries in all lists. */
  get size(): number {
    return this.entries.reduce((n, e) => n + e.list.set.size, 0);
  }

  get geoReady(): boolean {
    return this.geo !== null;
  }

  /** New settings that need no reload (allowlist, mode, cooldown, countries, limits); anything else throws (redeploy). */
  configure(next: ReputationSettings, prev: ReputationSettings): void {
    const live: Array<keyof ReputationSettings> = ['allowlist', 'mode', 'cooldownS', 'watchCountries', 'timeoutS', 'maxMB', 'maxBadPercent', 'minKeepPercent'];
    const changed = (Object.keys(next) as Array<keyof ReputationSettings>).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(prev[k]));
    const fixed = changed.filter((k) => !live.includes(k));
    if (fixed.length) throw new Error(`${fixed.join(', ')} cannot change at runtime: change them in the editor and deploy`);
    this.allow = ReputationEngine.allowSet(next.allowlist);
    this.suppressor.cooldownMs = next.cooldownS * 1000;
    this.watch = countriesOf(next.watchCountries);
    this.settings = next;
    if (this.kernel && changed.includes('allowlist')) void this.loadKernel();
  }

  reset(): void {
    this.suppressor.clear();
    for (const e of this.entries) e.hits = 0;
    Object.assign(this.stats, { packets: 0, flows: 0, hits: 0, alerts: 0, suppressed: 0, dropped: 0 });
  }

  /** Stop refreshing; with `removeKernel`, remove the kernel sets and rules. */
  async close(removeKernel: boolean): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.kernelQueue;
    if (removeKernel && this.kernel) await this.kernel.teardown();
  }
}
