/**
 * Alert suppression: after an alert for (rule, source) further hits within
 * the cooldown are counted, not emitted; the count goes into the next alert
 * for that pair, or into a summary alert once the cooldown has passed
 * (`flush`), so a flood gives one alert per cooldown with the true total.
 */
import type { Alert } from './alert';
import { BoundedTable } from './table';

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

export class Suppressor {
  readonly table: BoundedTable<string, Cooldown>;
  /** Hits counted into a later alert instead of being emitted. */
  suppressed = 0;

  constructor(cap: number, public cooldownMs: number) {
    // reorderMs 0: the order must follow cooldown starts exactly for flush() to stop early.
    this.table = new BoundedTable<string, Cooldown>(cap, () => ({ until: Number.NEGATIVE_INFINITY, pending: 0, lastTs: 0, alert: null }), 0);
  }

  /**
   * One hit of `rule` for `key` (usually the source) at packet time `ts`.
   * Returns the alert to emit — built by `make(count)`, where count includes
   * the hits suppressed since the last one — or null when suppressed.
   */
  offer(rule: string, key: string, ts: number, make: (count: number) => Alert): Alert | null {
    const id = `${rule}|${key}`;
    const existing = this.table.get(id);
    if (existing !== undefined && ts < existing.until) {
      existing.pending++;
      existing.lastTs = ts;
      this.suppressed++;
      return null;
    }
    const count = 1 + (existing ? existing.pending : 0);
    if (existing) this.table.delete(id);
    const state = this.table.touch(id, ts);
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
    for (const [id, state] of this.table.entries()) {
      if (state.until > ts) break;
      this.table.delete(id);
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
    return out;
  }

  clear(): void {
    this.table.clear();
    this.suppressed = 0;
  }
}
