/**
 * The blocklist engine behind `iptables-block`: validates and refuses,
 * computes durations (re-block extends, repeat offenders escalate), keeps the
 * list the node reports, and drives one firewall backend. Kernel state is the
 * truth: on start the list is read back from the backend's set or chain.
 */
import type { BlockEntry, BlockList } from '../types';
import { CidrSet, cidrContains } from '../../base/cidr';
import type { FirewallBackend } from './backend';
import { decodeNote, encodeNote, looksLikeMac, validateBlockTarget, validateInt, type BlockFamily } from './names';
import { readProtectedAddresses, type ProtectedAddresses } from './protected';
import type { CommandRunner } from './runner';

export interface EscalationOptions {
  /** Each repeat within the window multiplies the duration by this (>= 1). */
  factor: number;
  /** Blocks further apart than this start the count again. */
  windowS: number;
  /** Escalated durations stop here. */
  maxDurationS: number;
}

export interface BlocklistOptions {
  backend: FirewallBackend;
  /** Seconds; 0 = permanent. */
  defaultDurationS: number;
  /** CIDRs that are never blocked. */
  allowlist?: string | readonly string[];
  /** Runs `ip` to read own addresses and gateways (needs no root, so it is real even in dry-run). Null: skip. */
  addressReader?: CommandRunner | null;
  protectOwn?: boolean;
  protectGateway?: boolean;
  /** How old the own-address/gateway list may get before a block reads it again. */
  protectedMaxAgeMs?: number;
  escalation?: EscalationOptions | null;
  /** Remembered offenders (for escalation), oldest forgotten first. */
  maxOffenders?: number;
  now?: () => number;
}

export interface BlockRequest {
  ip: string;
  /** Seconds; 0 = permanent; default from the options. */
  durationS?: number;
  reason?: string;
  rule?: string;
}

export interface BlockOutcome {
  entry: BlockEntry;
  /** True when the address was already blocked and its block was extended. */
  extended: boolean;
  /** Blocks of this address within the escalation window, this one included. */
  offences: number;
  durationS: number;
}

export interface StartOutcome {
  restored: number;
  /** Addresses found in the kernel that are now allowlisted/protected or overdue, and were removed. */
  removed: string[];
}

/** A refusal a user should see: bad input or a protected address. */
export class BlockRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockRefused';
  }
}

export function validateEscalation(e: EscalationOptions, maxS: number): EscalationOptions {
  if (typeof e.factor !== 'number' || !Number.isFinite(e.factor) || e.factor < 1 || e.factor > 100) {
    throw new Error(`invalid escalation factor '${String(e.factor)}': a number from 1 to 100`);
  }
  return {
    factor: e.factor,
    windowS: validateInt('escalation window (s)', e.windowS, 1, 365 * 86400),
    maxDurationS: validateInt('escalation cap (s)', e.maxDurationS, 1, maxS),
  };
}

export class Blocklist {
  readonly backend: FirewallBackend;
  private readonly entries = new Map<string, BlockEntry & { family: BlockFamily }>();
  private readonly offenders = new Map<string, { count: number; last: number }>();
  private readonly allow: CidrSet;
  private readonly defaultDurationS: number;
  private readonly escalation: EscalationOptions | null;
  private readonly now: () => number;
  private protectedAddrs: ProtectedAddresses = { reasons: new Map(), readAt: 0 };
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: BlocklistOptions) {
    this.backend = opts.backend;
    this.allow = new CidrSet(opts.allowlist ?? []);
    this.defaultDurationS = validateInt('default duration (s)', opts.defaultDurationS, 0, opts.backend.maxTimeoutS);
    this.escalation = opts.escalation ? validateEscalation(opts.escalation, opts.backend.maxTimeoutS) : null;
    this.now = opts.now ?? Date.now;
  }

  /** One kernel change at a time, in arrival order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async refreshProtected(force: boolean): Promise<void> {
    const reader = this.opts.addressReader;
    if (!reader) return;
    const own = this.opts.protectOwn ?? true;
    const gateway = this.opts.protectGateway ?? true;
    if (!own && !gateway) return;
    if (!force && this.now() - this.protectedAddrs.readAt < (this.opts.protectedMaxAgeMs ?? 60_000)) return;
    this.protectedAddrs = await readProtectedAddresses(reader, { own, gateway });
    this.protectedAddrs.readAt = this.now();
  }

  /** Why `ip` must not be blocked, or null. */
  private protectedReason(ip: string): string | null {
    // The allowlist holds networks; a MAC is protected only as the box's own or the gateway's (protected.ts).
    if (!looksLikeMac(ip) && this.allow.has(ip)) {
      const c = this.allow.cidrs.find((x) => cidrContains(x, ip));
      return `it is in the allowlist (${c ? c.text : ip})`;
    }
    return this.protectedAddrs.reasons.get(ip) ?? null;
  }

  /** Set up the backend and read back what it holds. */
  start(): Promise<StartOutcome> {
    return this.serial(async () => {
      await this.backend.setup();
      await this.refreshProtected(true);
      const now = this.now();
      const removed: string[] = [];
      this.entries.clear();
      for (const k of await this.backend.list()) {
        if (k.remainingS < 0 || this.protectedReason(k.ip) !== null) {
          await this.backend.remove(k.ip, k.family);
          removed.push(k.ip);
          continue;
        }
        const note = decodeNote(k.comment);
        this.entries.set(k.ip, {
          ip: k.ip,
          family: k.family,
          since: note?.since ?? now,
          expires: k.remainingS > 0 ? now + k.remainingS * 1000 : 0,
          reason: note?.reason ?? 'found in the kernel set on start',
          rule: note?.rule ?? 'unknown',
        });
      }
      return { restored: this.entries.size, removed };
    });
  }

  block(req: BlockRequest): Promise<BlockOutcome> {
    return this.serial(async () => {
      let host: { ip: string; family: BlockFamily };
      try {
        host = validateBlockTarget(req.ip);
      } catch (err) {
        throw new BlockRefused((err as Error).message);
      }
      const { ip, family } = host;
      let baseS = this.defaultDurationS;
      if (req.durationS !== undefined && req.durationS !== null) {
        try {
          baseS = validateInt('duration (s)', req.durationS, 0, this.backend.maxTimeoutS);
        } catch (err) {
          throw new BlockRefused((err as Error).message);
        }
      }
      await this.refreshProtected(false);
      const why = this.protectedReason(ip);
      if (why) throw new BlockRefused(`refused to block ${ip}: ${why}`);

      const now = this.now();
      const offences = this.countOffence(ip, now);
      let durationS = baseS;
      if (this.escalation && baseS > 0 && offences > 1) {
        const { factor, maxDurationS } = this.escalation;
        durationS = Math.min(Math.round(baseS * factor ** (offences - 1)), Math.max(maxDurationS, baseS));
      }
      const current = this.entries.get(ip);
      const live = current && (current.expires === 0 || current.expires > now) ? current : undefined;
      let expires = durationS === 0 ? 0 : now + durationS * 1000;
      // Re-blocking extends, never shortens: a permanent block stays permanent.
      if (live && (live.expires === 0 || (expires !== 0 && live.expires > expires))) expires = live.expires;
      const since = live ? live.since : now;
      const reason = typeof req.reason === 'string' && req.reason.trim() ? req.reason.trim() : 'blocked by request';
      const rule = typeof req.rule === 'string' && req.rule.trim() ? req.rule.trim() : 'manual';
      const timeoutS = expires === 0 ? 0 : Math.max(1, Math.ceil((expires - now) / 1000));
      const comment = encodeNote({ since, rule, reason, ...(this.backend.kernelExpiry ? {} : { expires }) });
      await this.backend.add(ip, family, timeoutS, comment);
      const entry = { ip, family, since, expires, reason, rule };
      this.entries.set(ip, entry);
      return { entry: publicEntry(entry), extended: !!live, offences, durationS };
    });
  }

  private countOffence(ip: string, now: number): number {
    const windowMs = (this.escalation?.windowS ?? 0) * 1000;
    const prev = this.offenders.get(ip);
    const count = prev && now - prev.last <= windowMs ? prev.count + 1 : 1;
    this.offenders.delete(ip);
    this.offenders.set(ip, { count, last: now });
    const cap = this.opts.maxOffenders ?? 10_000;
    while (this.offenders.size > cap) {
      const oldest = this.offenders.keys().next().value;
      if (oldest === undefined) break;
      this.offenders.delete(oldest);
    }
    return count;
  }

  /** Unblock an address (and forget its offences). True when it was on the list. */
  unblock(ipText: string): Promise<boolean> {
    return this.serial(async () => {
      let host: { ip: string; family: BlockFamily };
      try {
        host = validateBlockTarget(ipText);
      } catch (err) {
        throw new BlockRefused((err as Error).message);
      }
      await this.backend.remove(host.ip, host.family);
      this.offenders.delete(host.ip);
      return this.entries.delete(host.ip);
    });
  }

  /**
   * Carry over what `previous` (the same node's blocklist under its old
   * settings) knew beyond the kernel: its repeat offences, and with `blocks`
   * (a dry run, where no kernel holds them) its blocks, except those now
   * allowlisted or protected. Call after `start`.
   */
  inherit(previous: Blocklist, blocks: boolean): void {
    for (const [ip, o] of previous.offenders) if (!this.offenders.has(ip)) this.offenders.set(ip, { ...o });
    if (!blocks) return;
    for (const [ip, e] of previous.entries) if (!this.entries.has(ip) && this.protectedReason(ip) === null) this.entries.set(ip, { ...e });
  }

  /** The blocks still running, for a blocklist on other kernel objects to take over (see `adopt`). */
  liveEntries(): BlockEntry[] {
    const now = this.now();
    return [...this.entries.values()].filter((e) => e.expires === 0 || e.expires > now).map(publicEntry);
  }

  /**
   * Block `entries` (another blocklist's, moving to this one's kernel objects)
   * with the time each has left, its reason, rule and start; never one now
   * allowlisted or protected, never shortening a block this list already has.
   * Returns the addresses taken over. Call after `start`.
   */
  adopt(entries: readonly BlockEntry[]): Promise<string[]> {
    return this.serial(async () => {
      const now = this.now();
      const taken: string[] = [];
      for (const e of entries) {
        if (e.expires !== 0 && e.expires <= now) continue;
        const { ip, family } = validateBlockTarget(e.ip);
        if (this.protectedReason(ip) !== null) continue;
        const current = this.entries.get(ip);
        if (current && (current.expires === 0 || (e.expires !== 0 && current.expires >= e.expires))) continue;
        // A longer block than this backend holds gets the longest it holds.
        const timeoutS = e.expires === 0 ? 0 : Math.min(this.backend.maxTimeoutS, Math.max(1, Math.ceil((e.expires - now) / 1000)));
        const expires = timeoutS === 0 ? 0 : Math.min(e.expires, now + timeoutS * 1000);
        const comment = encodeNote({ since: e.since, rule: e.rule, reason: e.reason, ...(this.backend.kernelExpiry ? {} : { expires }) });
        await this.backend.add(ip, family, timeoutS, comment);
        this.entries.set(ip, { ip, family, since: e.since, expires, reason: e.reason, rule: e.rule });
        taken.push(ip);
      }
      return taken;
    });
  }

  /** Forget every repeat offence (escalation counts from 1 again); blocks stay. */
  forgetOffences(): void {
    this.offenders.clear();
  }

  /** Unblock everything in the node's set/chain. Returns how many were listed. */
  clear(): Promise<number> {
    return this.serial(async () => {
      await this.backend.flush();
      const n = this.entries.size;
      this.entries.clear();
      this.offenders.clear();
      return n;
    });
  }

  /**
   * Drop entries whose time is up. Set backends already lost them in the
   * kernel; the plain-rules backend deletes its rules here.
   */
  expireDue(): Promise<string[]> {
    return this.serial(async () => {
      const now = this.now();
      const due = [...this.entries.values()].filter((e) => e.expires !== 0 && e.expires <= now);
      for (const e of due) {
        if (!this.backend.kernelExpiry) await this.backend.remove(e.ip, e.family);
        this.entries.delete(e.ip);
      }
      return due.map((e) => e.ip);
    });
  }

  /** Earliest expiry on the list (ms since epoch), or 0 when nothing expires. */
  nextExpiry(): number {
    let next = 0;
    for (const e of this.entries.values()) if (e.expires !== 0 && (next === 0 || e.expires < next)) next = e.expires;
    return next;
  }

  list(): BlockList {
    const now = this.now();
    const blocked = [...this.entries.values()]
      .filter((e) => e.expires === 0 || e.expires > now)
      .sort((a, b) => a.since - b.since || (a.ip < b.ip ? -1 : 1))
      .map(publicEntry);
    return { blocked };
  }

  get size(): number {
    return this.entries.size;
  }

  /** On close: remove everything the backend created when `clear`, else leave blocks in place. */
  close(clear: boolean): Promise<void> {
    return this.serial(async () => {
      if (clear) await this.backend.teardown();
      this.entries.clear();
    });
  }
}

function publicEntry(e: BlockEntry): BlockEntry {
  return { ip: e.ip, since: e.since, expires: e.expires, reason: e.reason, rule: e.rule };
}
