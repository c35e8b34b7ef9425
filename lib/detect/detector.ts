/**
 * The per-packet skeleton shared by the detectors: settings with atomic
 * validation, allowlist, bounded state, suppression, inline verdicts and
 * stats. A detector subclasses it and implements `inspect(p)`, calling
 * `report(...)` for every packet that is over a threshold.
 */
import type { Packet } from '../packet/types';
import type { Alert, AlertAction } from './alert';
import { makeAlert, type AlertFields, type RuleInfo } from './alerts';
import { Allowlist } from './allowlist';
import { applySettings, settingsFromConfig, type Schema } from '../base/settings';
import { Suppressor } from './suppress';
import { BoundedTable, type TableKey } from './table';
import { dstKey, srcKey, type AddrKey } from './keys';

/** Settings every detector has. */
export interface BaseSettings {
  /** 'drop': alerts carry action 'drop' and packets get `verdict = 'drop'` (inline mode). */
  action: AlertAction;
  /** Source CIDRs that never alert and are never dropped. */
  allowlist: string[];
  /** Cooldown per (rule, source) after an alert, seconds. */
  cooldownS: number;
  /** Size cap of each per-source / per-target table. */
  maxTracked: number;
}

export const baseSchema: Schema<BaseSettings> = {
  action: { type: 'enum', values: ['alert', 'drop'], default: 'alert', label: 'On detection', help: "'drop' also drops the offending packets and the offender's next ones (inline mode, nfqueue-in)" },
  allowlist: { type: 'cidrs', default: [], label: 'Allowlist', help: 'sources that never alert and are never dropped' },
  cooldownS: { type: 'number', min: 0, max: 86_400, default: 10, unit: 's', label: 'Cooldown', help: 'after an alert, repeats of the same rule and key are counted into the next alert instead of sent' },
  maxTracked: { type: 'int', min: 16, max: 10_000_000, default: 20_000, label: 'Track', help: 'size cap of each state table; the stalest entry is evicted when full' },
};

export interface DetectorStats {
  packets: number;
  alerts: number;
  /** Hits counted into a later alert instead of emitted. */
  suppressed: number;
  /** Table entries dropped because a table was full. */
  evictions: number;
  /** Packets given verdict 'drop'. */
  dropped: number;
}

/** What `report` needs to describe a detection (the rest comes from the rule and the settings). */
export type HitFields = Omit<AlertFields, 'action' | 'count' | 'detector'>;

/** The part of BoundedTable the base manages for any key/value types. */
interface TrackedTable {
  cap: number;
  evictions: number;
  clear(): void;
}

interface DropState {
  until: number;
}

export abstract class Detector<S extends BaseSettings> {
  private current: S;
  private allow: Allowlist;
  private readonly suppressor: Suppressor;
  private readonly dropping: BoundedTable<AddrKey, DropState>;
  /** Tables whose cap follows `maxTracked` (times a factor) and whose evictions show in the stats. */
  private readonly tracked: { table: TrackedTable; factor: number }[] = [];
  private out: Alert[] = [];
  private counters = { packets: 0, alerts: 0, dropped: 0 };

  /**
   * @param name node name, put in every alert's `detector`
   * @param config editor config (only the schema's fields are read); throws SettingsError when invalid
   */
  constructor(readonly name: string, private readonly schema: Schema<S>, config: Record<string, unknown> = {}) {
    this.current = settingsFromConfig(schema, config);
    this.allow = new Allowlist(this.current.allowlist);
    this.suppressor = new Suppressor(this.current.maxTracked, this.current.cooldownS * 1000);
    this.dropping = new BoundedTable<AddrKey, DropState>(this.current.maxTracked, () => ({ until: 0 }), 100, (d) => (d.until = 0));
    this.track(this.suppressor);
    this.track(this.dropping);
  }

  get settings(): Readonly<S> {
    return this.current;
  }

  get stats(): DetectorStats {
    let evictions = 0;
    for (const t of this.tracked) evictions += t.table.evictions;
    return { ...this.counters, suppressed: this.suppressor.suppressed, evictions };
  }

  /** Register a state table: capped at maxTracked × factor, evictions counted. Call from the subclass constructor. */
  protected track<T extends TrackedTable>(table: T, factor = 1): T {
    table.cap = Math.max(1, Math.round(this.current.maxTracked * factor));
    this.tracked.push({ table, factor });
    return table;
  }

  /**
   * Change settings at runtime with a partial object. All fields valid → applied
   * at once; any invalid → throws SettingsError with the reasons and nothing changes.
   */
  configure(patch: unknown): void {
    const next = applySettings(this.schema, this.current, patch);
    const allow = new Allowlist(next.allowlist);
    const prev = this.current;
    this.current = next;
    this.allow = allow;
    this.suppressor.cooldownMs = next.cooldownS * 1000;
    if (next.maxTracked !== prev.maxTracked) {
      for (const t of this.tracked) t.table.cap = Math.max(1, Math.round(next.maxTracked * t.factor));
    }
    if (next.action !== 'drop') this.dropping.clear();
    this.settingsChanged(prev);
  }

  /** Forget all state and zero the stats (settings stay). */
  reset(): void {
    for (const t of this.tracked) {
      t.table.clear();
      t.table.evictions = 0;
    }
    this.suppressor.clear();
    this.counters = { packets: 0, alerts: 0, dropped: 0 };
    this.stateCleared();
  }

  /**
   * Run a batch (or one packet as a one-element array) through the detector,
   * in order. Returns the alerts raised; in drop mode sets `verdict = 'drop'`
   * on packets that triggered a rule or come from a source being dropped.
   *
   * `only` (ascending indices into `packets`) is for a caller that knows
   * `inspect` would do nothing on the other packets (payload-match: no rule
   * matched them): they are only counted, and checked against the sources
   * being dropped when there are any.
   */
  process(packets: readonly Packet[], only?: readonly number[]): Alert[] {
    const out: Alert[] = [];
    this.out = out;
    const dropMode = this.current.action === 'drop';
    const allowing = this.allow.size > 0;
    if (only !== undefined && !(dropMode && this.dropping.size > 0)) {
      this.counters.packets += packets.length;
      for (let k = 0; k < only.length; k++) this.visit(packets[only[k]], dropMode, allowing);
    } else {
      for (let i = 0; i < packets.length; i++) {
        this.counters.packets++;
        this.visit(packets[i], dropMode, allowing);
      }
    }
    if (packets.length > 0) {
      for (const a of this.suppressor.flush(packets[packets.length - 1].ts)) {
        out.push(a);
        this.counters.alerts++;
      }
    }
    return out;
  }

  /**
   * Run `work` outside the packet path (a detector that also reads a table,
   * such as the kernel's neighbours): its `report`s are collected and
   * returned like those of `process`, cooldowns ended by `ts` flushed.
   */
  protected collect(ts: number, work: () => void): Alert[] {
    const out: Alert[] = [];
    this.out = out;
    work();
    for (const a of this.suppressor.flush(ts)) out.push(a);
    this.counters.alerts += out.length;
    return out;
  }

  private visit(p: Packet, dropMode: boolean, allowing: boolean): void {
    if (allowing && this.allow.has(p.src)) {
      this.inspectAllowed(p);
      return;
    }
    if (dropMode && this.dropping.size > 0) {
      const d = this.dropping.get(srcKey(p));
      if (d !== undefined && p.ts < d.until && p.verdict !== 'drop') {
        p.verdict = 'drop';
        this.counters.dropped++;
      }
    }
    this.inspect(p);
  }

  /** Whether `addr` is on the allowlist (never alerts, never dropped). */
  isAllowed(addr: string): boolean {
    return this.allow.size > 0 && this.allow.has(addr);
  }

  /** The detector's per-packet logic: update state and call `report` for each rule over threshold. */
  protected abstract inspect(p: Packet): void;

  /** Packets from allowlisted sources: by default ignored. Override to use them as evidence only (never to alert on them). */
  protected inspectAllowed(_p: Packet): void {
    // nothing
  }

  /** Called after settings changed (old settings given). */
  protected settingsChanged(_prev: S): void {
    // nothing
  }

  /** Called after `reset` cleared the tracked tables, for state outside them. */
  protected stateCleared(): void {
    // nothing
  }

  /**
   * A hit that falls in its rule's cooldown for this key, fully handled:
   * the same as `report` (inline drop, counted into the next alert) without
   * a description, which would not be used. Returns false, doing nothing,
   * when the hit would raise an alert: the caller then calls `report`.
   * For rules that hit on every packet of a flood: building the `describe`
   * closure for each (its context allocated on entry of the function that
   * makes it, whether or not it is made) was most of what the flood and
   * scan detectors allocated per packet on the bench capture (flood 211
   * bytes a packet, scan 105).
   */
  protected counted(info: RuleInfo, key: TableKey, p: Packet, holdMs: number, dropSource = true, srcAt: 'src' | 'dst' = 'src', key2 = 0): boolean {
    const src = srcAt === 'src' ? p.src : p.dst;
    if (src !== p.src && this.allow.size > 0 && this.allow.has(src)) return true; // report() ignores it
    if (!this.suppressor.absorb(info.rule, key, p.ts, key2)) return false;
    this.dropEffects(p, src, holdMs, dropSource, srcAt);
    return true;
  }

  /**
   * A hit of `info` on packet `p`: routed through suppression keyed by
   * (rule, `key`, `key2`) (keys.ts); in drop mode the packet is dropped, and
   * when `dropSource` is true so are later packets from the alert's source
   * (the packet's source, or its destination when `srcAt` says so: an answer
   * counted against the host it goes to) until `holdMs` of packet time pass
   * without another hit. `describe` is called only when an alert is
   * actually emitted, and gives the alert's `src` as `srcAt` says; the
   * alert's `offender` follows from the rule (alerts.ts makeAlert). A source
   * on the allowlist never alerts or drops.
   */
  protected report(info: RuleInfo, key: TableKey, p: Packet, holdMs: number, describe: () => HitFields, dropSource = true, srcAt: 'src' | 'dst' = 'src', key2 = 0): void {
    const src = srcAt === 'src' ? p.src : p.dst;
    if (src !== p.src && this.allow.size > 0 && this.allow.has(src)) return;
    this.dropEffects(p, src, holdMs, dropSource, srcAt);
    if (this.suppressor.absorb(info.rule, key, p.ts, key2)) return;
    this.emit(info, key, p.ts, describe, this.current.action, key2);
  }

  /** In drop mode: the hit's packet dropped (when its source is the alert's), and its source held (`dropSource`). */
  private dropEffects(p: Packet, src: string, holdMs: number, dropSource: boolean, srcAt: 'src' | 'dst'): void {
    if (this.current.action !== 'drop') return;
    if (p.verdict !== 'drop' && src === p.src) {
      p.verdict = 'drop';
      this.counters.dropped++;
    }
    if (dropSource) this.dropping.touch(srcAt === 'src' ? srcKey(p) : dstKey(p), p.ts).until = p.ts + holdMs;
  }

  /** A hit out of cooldown: its alert (the closure for the suppressor made here, not on every hit). */
  private emit(info: RuleInfo, key: TableKey, ts: number, describe: () => HitFields, action: AlertAction, key2: number): void {
    const alert = this.suppressor.offer(info.rule, key, ts, (count) => makeAlert(info, { ...describe(), action, count, detector: this.name }), key2);
    if (alert !== null) {
      this.out.push(alert);
      this.counters.alerts++;
    }
  }
}
