/**
 * Alert suppression: after an alert for (rule, source) further hits within
 * the cooldown are counted, not emitted; the count goes into the next alert
 * for that pair, or into a summary alert once the cooldown has passed
 * (`flush`), so a flood gives one alert per cooldown with the true total.
 */
import type { Alert } from './alert';
import { BoundedTable, type TableKey } from './table';

interface Cooldown {
  /** Packet time the cooldown ends. */
  until: number;
  /** Hits suppressed since the last emitted alert. */
  pending: number;
  /** Packet time of the last suppressed hit. */
  lastTs: number;
  /** The alert that opened the cooldown (template for the summary). */
  alert: Alert | null;
}

const newCooldown = (): Cooldown => ({ until: Number.NEGATIVE_INFINITY, pending: 0, lastTs: 0, alert: null });

/**
 * One rule's cooldowns, and the last one `absorb` found. During a flood the
 * same key (the one target, the one MAC) is absorbed packet after packet:
 * the memo answers without hashing it again (a MAC is a 17-character string
 * key: on the mixed bench capture a quarter of all packets absorbed a MAC
 * rule's hit). Only `absorb` sets the memo; whatever removes or replaces a
 * cooldown (offer, flush, clear, a smaller cap) forgets it.
 */
class RuleCooldowns {
  memo: Cooldown | undefined = undefined;
  /** The memo's key: memoNum for a number key (NaN otherwise), memoStr for a string key (undefined otherwise). */
  memoNum = NaN;
  memoStr: string | undefined = undefined;
  memoKey2 = 0;

  constructor(readonly table: BoundedTable<TableKey, Cooldown>) {}

  forget(): void {
    this.memo = undefined;
    this.memoNum = NaN;
    this.memoStr = undefined;
  }
}

export class Suppressor {
  /** One table per rule, keyed by source (two-part keys, see table.ts): no string building per hit. */
  private readonly byRule = new Map<string, RuleCooldowns>();
  private capacity: number;
  /** Hits counted into a later alert instead of being emitted. */
  suppressed = 0;
  private evicted = 0;

  constructor(cap: number, public cooldownMs: number) {
    this.capacity = cap;
  }

  /** Size cap of each rule's table. */
  get cap(): number {
    return this.capacity;
  }

  set cap(cap: number) {
    this.capacity = cap;
    for (const r of this.byRule.values()) {
      r.table.cap = cap;
      r.forget();
    }
  }

  /** Cooldowns dropped because a rule's table was full. */
  get evictions(): number {
    let n = this.evicted;
    for (const r of this.byRule.values()) n += r.table.evictions;
    return n;
  }

  set evictions(n: number) {
    this.evicted = n;
    for (const r of this.byRule.values()) r.table.evictions = 0;
  }

  private rule(rule: string): RuleCooldowns {
    let r = this.byRule.get(rule);
    if (r === undefined) {
      // reorderMs 0: the order must follow cooldown starts exactly for flush() to stop early.
      r = new RuleCooldowns(new BoundedTable<TableKey, Cooldown>(this.capacity, newCooldown, 0));
      this.byRule.set(rule, r);
    }
    return r;
  }

  /** A hit in a cooldown counted into the next alert, as `offer` would; false (nothing changed) when it is not in one. */
  absorb(rule: string, key: TableKey, ts: number, key2 = 0): boolean {
    const r = this.byRule.get(rule);
    if (r === undefined) return false;
    let existing = r.memo;
    if (existing === undefined || key2 !== r.memoKey2 || (typeof key === 'number' ? key !== r.memoNum : key !== r.memoStr)) {
      existing = r.table.get(key, key2);
      if (existing === undefined) return false;
      r.memo = existing;
      r.memoKey2 = key2;
      if (typeof key === 'number') {
        r.memoNum = key;
        r.memoStr = undefined;
      } else {
        r.memoNum = NaN;
        r.memoStr = key;
      }
    }
    if (ts >= existing.until) return false;
    existing.pending++;
    existing.lastTs = ts;
    this.suppressed++;
    return true;
  }

  /**
   * One hit of `rule` for (`key`, `key2`) (usually the source) at packet
   * time `ts`. Returns the alert to emit — built by `make(count)`, where
   * count includes the hits suppressed since the last one — or null when
   * suppressed.
   */
  offer(rule: string, key: TableKey, ts: number, make: (count: number) => Alert, key2 = 0): Alert | null {
    const r = this.rule(rule);
    r.forget();
    const table = r.table;
    const existing = table.get(key, key2);
    if (existing !== undefined && ts < existing.until) {
      existing.pending++;
      existing.lastTs = ts;
      this.suppressed++;
      return null;
    }
    const count = 1 + (existing ? existing.pending : 0);
    if (existing) table.delete(key, key2);
    const state = table.insert(key, ts, key2);
    state.until = ts + this.cooldownMs;
    state.pending = 0;
    state.lastTs = ts;
    const alert = make(count);
    state.alert = alert;
    return alert;
  }

  /**
   * Summary alerts for cooldowns that ended by `ts` with hits still pending
   * (the attack stopped, so no later alert would carry them); ended
   * cooldowns are forgotten.
   */
  flush(ts: number): Alert[] {
    const out: Alert[] = [];
    for (const r of this.byRule.values()) {
      const table = r.table;
      if (table.size === 0) continue;
      for (let state = table.oldest(); state !== undefined; state = table.oldest()) {
        if (state.until > ts) break;
        if (state === r.memo) r.forget();
        table.dropOldest();
        if (state.pending > 0 && state.alert) {
          const a = state.alert;
          out.push({
            ...a,
            ts: state.lastTs,
            count: state.pending,
            reason: `${state.pending} further hit(s) during the ${this.cooldownMs / 1000} s cooldown after: ${a.reason}`,
          });
        }
      }
    }
    return out;
  }

  clear(): void {
    for (const r of this.byRule.values()) {
      r.table.clear();
      r.forget();
    }
    this.suppressed = 0;
  }
}
