/**
 * Per-device bandwidth limits over Device stats: a device over its limit
 * (either direction) for the sustain time raises a `bandwidth` Alert and,
 * in throttle mode, gets a kernel rate limit; once it stays under
 * clearPct % of the limit for clearS seconds a clear event follows and the
 * limit is removed.
 *
 * The kernel limit (TcThrottle) lives on the router's LAN-facing interface:
 * HTB shaping both ways (uploads through an ifb device), so TCP settles at
 * the rate.
 */
import { createHash } from 'node:crypto';
import type { Alert } from '../detect/alert';
import { defineRules, makeAlert } from '../detect/alerts';
import { applySettings, defaultsOf, type Schema } from '../base/settings';
import { ipFamily, normalizeIp } from '../base/cidr';
import { ExecRunner, type CommandRunner } from './firewall/runner';
import { assertInterfaceName, interfaceField } from '../base/ifname';
import { normalizeMac } from './vendor';
import type { DeviceStats } from './types';

export const BANDWIDTH_RULES = defineRules({
  limit: {
    rule: 'bandwidth.limit',
    sid: 9005101,
    signature: 'LAN device over its bandwidth limit',
    category: 'bandwidth',
    severity: 'medium',
    // the device over its limit is the offender
    tracks: 'src',
  },
  clear: {
    rule: 'bandwidth.clear',
    sid: 9005102,
    signature: 'LAN device back under its bandwidth limit',
    category: 'bandwidth',
    severity: 'low',
    tracks: 'src',
    // back under its limit: nothing to block
    offence: false,
  },
});

export interface BandwidthSettings {
  /** Limit per direction in bytes/s for devices without an override; 0 = none. */
  limitBps: number;
  /** 'IP-or-MAC = bytes/s' per line (k, M, G suffixes = ×1000); 0 = unlimited for that device. */
  overrides: string;
  /** Seconds over the limit before it fires. */
  sustainS: number;
  /** Back under this share of the limit (%) ... */
  clearPct: number;
  /** ... for this many seconds clears it. */
  clearS: number;
  action: 'flag' | 'throttle';
  /** LAN-facing interface that throttling shapes. */
  interface: string;
}

export const bandwidthSchema: Schema<BandwidthSettings> = {
  limitBps: { type: 'number', min: 0, max: 1e11, default: 1_000_000, unit: 'bytes/s', label: 'Limit', help: 'limit per direction for every device without an override; 0 = none' },
  overrides: { type: 'string', maxLength: 100_000, default: '', label: 'Per device', help: "one 'IP-or-MAC = bytes/s' per line (k, M, G = ×1000); 0 = unlimited for that device" },
  sustainS: { type: 'number', min: 0, max: 86_400, default: 5, unit: 's', label: 'Over for', help: 'seconds over the limit before it fires' },
  clearPct: { type: 'number', min: 1, max: 100, default: 80, unit: '%', label: 'Clear under', help: 'back under this share of the limit ...' },
  clearS: { type: 'number', min: 0, max: 86_400, default: 5, unit: 's', label: 'Clear after', help: '... for this many seconds clears the alert (and the throttle)' },
  action: { type: 'enum', values: ['flag', 'throttle'], default: 'flag', label: 'Action', help: "'flag' alerts; 'throttle' also rate-limits the device with tc on the LAN interface" },
  interface: interfaceField('LAN interface', 'LAN-facing interface that throttling shapes (needed for throttle)'),
};

/** Parse '1500000', '1.5M', '800k' (bytes/s, decimal suffixes). */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:B\/s)?$/.exec(text.trim());
  if (!m) throw new Error(`'${text.trim()}' is not a rate in bytes/s (e.g. 500000, 800k, 1.5M)`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult);
}

export interface Overrides {
  byIp: Map<string, number>;
  byMac: Map<string, number>;
}

/** Parse the overrides text; throws one error naming every bad line. */
export function parseOverrides(text: string): Overrides {
  const out: Overrides = { byIp: new Map(), byMac: new Map() };
  const bad: string[] = [];
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const eq = line.lastIndexOf('=');
    if (eq < 0) {
      bad.push(`line ${n + 1}: expected 'IP-or-MAC = bytes/s', got '${line}'`);
      return;
    }
    const who = line.slice(0, eq).trim();
    let rate: number;
    try {
      rate = parseRate(line.slice(eq + 1));
    } catch (err) {
      bad.push(`line ${n + 1}: ${(err as Error).message}`);
      return;
    }
    const mac = normalizeMac(who);
    if (mac) out.byMac.set(mac, rate);
    else if (ipFamily(who)) out.byIp.set(normalizeIp(who), rate);
    else bad.push(`line ${n + 1}: '${who}' is neither an IP nor a MAC address`);
  });
  if (bad.length) throw new Error(`overrides: ${bad.join('; ')}`);
  return out;
}

/** Validate the parts the schema cannot (override text, throttle needs an interface). */
function checkSettings(s: BandwidthSettings): Overrides {
  if (s.action === 'throttle' && s.interface === '') throw new Error('throttle needs the LAN-facing interface (interface)');
  return parseOverrides(s.overrides);
}

/** Something that enforces or lifts a rate limit on one device. */
export interface Throttle {
  limit(ip: string, bytesPerSec: number): Promise<void>;
  release(ip: string): Promise<void>;
  /** Remove every limit and whatever was set up for them. */
  close(): Promise<void>;
}

interface DeviceState {
  overSince: number | null;
  underSince: number | null;
  firing: boolean;
  firedAt: number;
  peak: number;
  limit: number;
  mac?: string;
}

export interface BandwidthOutcome {
  alerts: Alert[];
  /** Devices to throttle now (ip → bytes/s). */
  throttle: Map<string, number>;
  /** Devices whose throttle ends now. */
  release: string[];
}

const fmt = (bps: number) => (bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} MB/s` : bps >= 1e3 ? `${(bps / 1e3).toFixed(1)} kB/s` : `${bps} B/s`);

export class BandwidthMonitor {
  private settings: BandwidthSettings;
  private overrides: Overrides;
  private readonly state = new Map<string, DeviceState>();

  constructor(settings: Partial<BandwidthSettings> = {}, readonly detector = 'bandwidth-threshold') {
    const s = applySettings(bandwidthSchema, defaultsOf(bandwidthSchema), settings);
    this.overrides = checkSettings(s);
    this.settings = s;
  }

  get current(): Readonly<BandwidthSettings> {
    return this.settings;
  }

  /** Change settings at runtime: validated as a whole; on error nothing changes. Returns the new settings. */
  configure(patch: unknown): BandwidthSettings {
    const next = applySettings(bandwidthSchema, this.settings, patch);
    this.overrides = checkSettings(next);
    this.settings = next;
    return next;
  }

  limitFor(d: Pick<DeviceStats, 'ip' | 'mac'>): number {
    const byIp = this.overrides.byIp.get(d.ip);
    if (byIp !== undefined) return byIp;
    if (d.mac) {
      const byMac = this.overrides.byMac.get(normalizeMac(d.mac) ?? d.mac);
      if (byMac !== undefined) return byMac;
    }
    return this.settings.limitBps;
  }

  /** Devices currently over their limit (fired, not yet cleared). */
  get firing(): string[] {
    return [...this.state].filter(([, s]) => s.firing).map(([ip]) => ip);
  }

  update(devices: readonly DeviceStats[], now = Date.now()): BandwidthOutcome {
    const out: BandwidthOutcome = { alerts: [], throttle: new Map(), release: [] };
    const seen = new Set<string>();
    for (const d of devices) {
      if (!d || typeof d.ip !== 'string') continue;
      seen.add(d.ip);
      const limit = this.limitFor(d);
      const rate = Math.max(Number(d.rxBps) || 0, Number(d.txBps) || 0);
      let s = this.state.get(d.ip);
      if (!s) {
        if (limit <= 0 || rate <= limit) continue;
        s = { overSince: null, underSince: null, firing: false, firedAt: 0, peak: 0, limit };
        this.state.set(d.ip, s);
      }
      if (d.mac) s.mac = d.mac;
      this.step(d.ip, s, rate, limit, now, out, d);
    }
    // Devices gone from the stats are idle.
    for (const [ip, s] of this.state) if (!seen.has(ip)) this.step(ip, s, 0, s.limit, now, out);
    return out;
  }

  private step(ip: string, s: DeviceState, rate: number, limit: number, now: number, out: BandwidthOutcome, d?: DeviceStats): void {
    const { sustainS, clearS, clearPct, action } = this.settings;
    s.limit = limit;
    const over = limit > 0 && rate > limit;
    if (!s.firing) {
      if (!over) {
        this.state.delete(ip);
        return;
      }
      s.overSince ??= now;
      s.peak = Math.max(s.peak, rate);
      if (now - s.overSince >= sustainS * 1000) {
        s.firing = true;
        s.firedAt = now;
        s.underSince = null;
        const throttled = action === 'throttle';
        if (throttled) out.throttle.set(ip, limit);
        const dir = d && (Number(d.rxBps) || 0) >= (Number(d.txBps) || 0) ? 'received' : 'sent';
        out.alerts.push(makeAlert(BANDWIDTH_RULES.limit, {
          ts: now,
          action: throttled ? 'drop' : 'alert',
          src: ip,
          dst: '*',
          proto: 'ip',
          ...(s.mac ? { srcMac: s.mac } : {}),
          count: 1,
          windowMs: sustainS * 1000,
          threshold: limit,
          reason: `${ip} ${dir} ${fmt(rate)} (peak ${fmt(s.peak)}) for ${((now - s.overSince) / 1000).toFixed(0)} s over its limit of ${fmt(limit)}${throttled ? `; throttled to ${fmt(limit)}` : ''}`,
          detector: this.detector,
        }));
      }
      return;
    }
    // Firing: wait for a sustained quiet spell under clearPct % of the limit.
    s.peak = Math.max(s.peak, rate);
    const under = limit <= 0 || rate <= (limit * clearPct) / 100;
    if (!under) {
      s.underSince = null;
      return;
    }
    s.underSince ??= now;
    if (now - s.underSince < clearS * 1000) return;
    this.state.delete(ip);
    if (action === 'throttle') out.release.push(ip);
    out.alerts.push(makeAlert(BANDWIDTH_RULES.clear, {
      ts: now,
      src: ip,
      dst: '*',
      proto: 'ip',
      ...(s.mac ? { srcMac: s.mac } : {}),
      count: 1,
      windowMs: clearS * 1000,
      threshold: limit,
      reason: `${ip} back under ${clearPct} % of its limit of ${fmt(limit)} for ${clearS} s (was over for ${((now - s.firedAt) / 1000 + sustainS).toFixed(0)} s, peak ${fmt(s.peak)})${action === 'throttle' ? '; throttle removed' : ''}`,
      detector: this.detector,
    }));
  }

  /** Forget all state; returns devices whose throttle should end. */
  reset(): string[] {
    const firing = this.firing;
    this.state.clear();
    return firing;
  }
}

/**
 * bandwidth-threshold's engine: the monitor's decisions carried out. In
 * throttle mode the limits and releases it decides run as tc jobs, one after
 * another in the order decided; limits set under settings that no longer
 * throttle there (action or interface changed) are removed, and so is every
 * limit on reset and close (with the qdiscs the throttle set up).
 */
export class BandwidthEnforcer {
  readonly monitor: BandwidthMonitor;
  private throttle: TcThrottle | null = null;
  private queue: Promise<void> = Promise.resolve();
  /** The last tc failure, until a later tc job succeeds. */
  fault: string | null = null;

  /** `onError` hears each failed tc job (the jobs after it still run); `runner` runs tc and ip (a DryRunRunner records them). */
  constructor(settings: Partial<BandwidthSettings>, detector: string, private readonly onError: (err: Error) => void = () => undefined,
    private readonly runner: CommandRunner = new ExecRunner()) {
    this.monitor = new BandwidthMonitor(settings, detector);
  }

  /** Take one Device stats list; returns the alerts (tc jobs are queued, see settled()). */
  update(devices: readonly DeviceStats[], now = Date.now()): Alert[] {
    const outcome = this.monitor.update(devices, now);
    if (outcome.throttle.size || outcome.release.length) {
      const iface = this.monitor.current.interface;
      if (!this.throttle || this.throttle.iface !== iface) this.throttle = new TcThrottle(iface, this.runner);
      const t = this.throttle;
      for (const ip of outcome.release) this.enqueue(() => t.release(ip));
      for (const [ip, rate] of outcome.throttle) this.enqueue(() => t.limit(ip, rate));
    }
    return outcome.alerts;
  }

  /** Change settings (validated whole; on error nothing changes). Returns the new settings. */
  configure(patch: unknown): BandwidthSettings {
    const before = this.monitor.current;
    const next = this.monitor.configure(patch);
    if (before.action === 'throttle' && (next.action !== 'throttle' || next.interface !== before.interface)) {
      // Limits set under the old settings would otherwise stay forever.
      this.monitor.reset();
      void this.releaseAll();
    }
    return next;
  }

  /** Forget every device's state and remove every limit. */
  reset(): Promise<void> {
    this.monitor.reset();
    return this.releaseAll();
  }

  /** Devices with a kernel limit now. */
  get limited(): number {
    return this.throttle?.limited.length ?? 0;
  }

  /** Resolves once every tc job queued so far has run. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** Remove every limit and the qdiscs and ifb device set up for them. */
  close(): Promise<void> {
    return this.releaseAll();
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(job).then(() => {
      this.fault = null;
    }, (err: Error) => {
      this.fault = err.message;
      this.onError(err);
    }).catch(() => undefined); // an onError that throws must not stop every later tc job
    return this.queue;
  }

  private releaseAll(): Promise<void> {
    const t = this.throttle;
    this.throttle = null;
    return t ? this.enqueue(() => t.close()) : this.queue;
  }
}

/** Name of the ifb device that carries a LAN interface's redirected ingress (≤ 15 characters, stable per interface). */
export function ifbName(iface: string): string {
  return `ipsifb${createHash('sha1').update(iface).digest('hex').slice(0, 6)}`;
}

/**
 * Kernel rate limits with tc on the LAN-facing interface, shaping both ways
 * with HTB: traffic towards the device through a class on the interface's
 * egress; traffic from the device is redirected at the interface's ingress
 * (tc mirred) to an ifb device whose egress has the device's upload class.
 * Shaping (queueing) rather than policing lets TCP settle at the rate.
 * Takes over the interface's root and ingress qdiscs while any limit is set;
 * `close()` deletes them (restoring the kernel's default) and the ifb device.
 */
export class TcThrottle implements Throttle {
  private readonly slots = new Map<string, { minor: number; bytesPerSec: number }>();
  private nextMinor = 0x10;
  private ready = false;
  readonly ifb: string;

  constructor(readonly iface: string, private readonly runner: CommandRunner = new ExecRunner()) {
    assertInterfaceName(iface);
    this.ifb = ifbName(iface);
  }

  private tc(args: string[]) {
    return this.runner.run({ cmd: 'tc', args });
  }

  private async setup(): Promise<void> {
    if (this.ready) return;
    await this.tc(['qdisc', 'replace', 'dev', this.iface, 'root', 'handle', '1:', 'htb']);
    try {
      await this.runner.run({ cmd: 'ip', args: ['link', 'add', this.ifb, 'type', 'ifb'] });
    } catch (err) {
      if (!/file exists/i.test((err as Error).message)) throw new Error(`cannot create the ifb device for upload shaping (kernel module ifb): ${(err as Error).message}`);
    }
    await this.runner.run({ cmd: 'ip', args: ['link', 'set', this.ifb, 'up'] });
    await this.tc(['qdisc', 'replace', 'dev', this.ifb, 'root', 'handle', '1:', 'htb']);
    await this.tc(['qdisc', 'replace', 'dev', this.iface, 'handle', 'ffff:', 'ingress']);
    this.ready = true;
  }

  get limited(): string[] {
    return [...this.slots.keys()];
  }

  async limit(ipText: string, bytesPerSec: number): Promise<void> {
    const ip = normalizeIp(ipText);
    if (!Number.isFinite(bytesPerSec) || bytesPerSec < 1000) throw new Error(`throttle rate must be at least 1000 bytes/s, got ${bytesPerSec}`);
    await this.setup();
    if (this.slots.has(ip)) await this.release(ip);
    const minor = this.nextMinor++;
    if (this.nextMinor > 0xfffe) this.nextMinor = 0x10;
    // One filter priority per device (its class minor) so its filters can be deleted by priority.
    const prio = String(minor);
    const v6 = ip.includes(':');
    const rate = `${Math.round(bytesPerSec * 8)}bit`;
    // Burst: about 20 ms at the rate, at least ten full frames.
    const burst = `${Math.max(Math.round(bytesPerSec / 50), 15_000)}b`;
    const classid = `1:${minor.toString(16)}`;
    const match = v6 ? 'ip6' : 'ip';
    const proto = v6 ? 'ipv6' : 'ip';
    const host = `${ip}/${v6 ? 128 : 32}`;
    this.slots.set(ip, { minor, bytesPerSec });
    for (const dev of [this.iface, this.ifb]) {
      await this.tc(['class', 'replace', 'dev', dev, 'parent', '1:', 'classid', classid, 'htb', 'rate', rate, 'ceil', rate, 'burst', burst, 'cburst', burst]);
    }
    await this.tc(['filter', 'add', 'dev', this.iface, 'parent', '1:', 'protocol', proto, 'prio', prio, 'u32', 'match', match, 'dst', host, 'flowid', classid]);
    await this.tc(['filter', 'add', 'dev', this.ifb, 'parent', '1:', 'protocol', proto, 'prio', prio, 'u32', 'match', match, 'src', host, 'flowid', classid]);
    await this.tc(['filter', 'add', 'dev', this.iface, 'parent', 'ffff:', 'protocol', proto, 'prio', prio, 'u32', 'match', match, 'src', host,
      'action', 'mirred', 'egress', 'redirect', 'dev', this.ifb]);
  }

  async release(ipText: string): Promise<void> {
    const ip = normalizeIp(ipText);
    const slot = this.slots.get(ip);
    if (!slot) return;
    this.slots.delete(ip);
    const prio = String(slot.minor);
    const classid = `1:${slot.minor.toString(16)}`;
    const errors: Error[] = [];
    for (const args of [
      ['filter', 'del', 'dev', this.iface, 'parent', 'ffff:', 'prio', prio],
      ['filter', 'del', 'dev', this.iface, 'parent', '1:', 'prio', prio],
      ['filter', 'del', 'dev', this.ifb, 'parent', '1:', 'prio', prio],
      ['class', 'del', 'dev', this.iface, 'classid', classid],
      ['class', 'del', 'dev', this.ifb, 'classid', classid],
    ]) {
      try {
        await this.tc(args);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    if (errors.length) throw errors[0];
  }

  async close(): Promise<void> {
    this.slots.clear();
    if (!this.ready) return;
    this.ready = false;
    const errors: Error[] = [];
    const gone = /cannot find device|no such device|cannot delete qdisc with handle of zero/i;
    for (const c of [
      { cmd: 'tc', args: ['qdisc', 'del', 'dev', this.iface, 'ingress'] },
      { cmd: 'tc', args: ['qdisc', 'del', 'dev', this.iface, 'root'] },
      { cmd: 'ip', args: ['link', 'del', this.ifb] },
    ]) {
      try {
        await this.runner.run(c);
      } catch (err) {
        // The interface may be gone already (namespace removed, USB adapter unplugged).
        if (!gone.test((err as Error).message)) errors.push(err as Error);
      }
    }
    if (errors.length) throw errors[0];
  }
}
