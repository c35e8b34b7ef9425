/**
 * Windowed counters on packet time (`ts`), so a replayed capture counts the
 * same as the live traffic did.
 */
import { BoundedTable, type TableKey } from './table';

/**
 * Count of events in the last `windowMs`, as a sliding window over two
 * fixed buckets: the current bucket plus the previous one weighted by how
 * much of it still overlaps the window. Three numbers per key, O(1) per
 * event, and exact when the rate is steady.
 */
export class WindowCounter {
  /** Start of the current bucket (packet time). */
  private start = Number.NEGATIVE_INFINITY;
  private cur = 0;
  private prev = 0;

  /** Move the buckets forward to `ts`. */
  private roll(ts: number, windowMs: number): void {
    const age = ts - this.start;
    if (age < windowMs) return;
    if (age < 2 * windowMs) {
      this.prev = this.cur;
      this.start += windowMs;
    } else {
      this.prev = 0;
      this.start = ts;
    }
    this.cur = 0;
  }

  /** Add `n` events at `ts`; returns the count in the window ending at `ts`. */
  add(ts: number, windowMs: number, n = 1): number {
    this.roll(ts, windowMs);
    this.cur += n;
    return this.estimate(ts, windowMs);
  }

  /** Count in the window ending at `ts`. */
  value(ts: number, windowMs: number): number {
    this.roll(ts, windowMs);
    return this.estimate(ts, windowMs);
  }

  /**
   * Take back `n` events counted at `eventTs` (e.g. a half-open connection
   * that completed its handshake). Events older than the window are gone
   * already and change nothing.
   */
  remove(eventTs: number, ts: number, windowMs: number, n = 1): void {
    this.roll(ts, windowMs);
    if (eventTs >= this.start) this.cur = Math.max(0, this.cur - n);
    else if (eventTs >= this.start - windowMs) this.prev = Math.max(0, this.prev - n);
  }

  private estimate(ts: number, windowMs: number): number {
    const overlap = 1 - (ts - this.start) / windowMs;
    return this.cur + (overlap > 0 ? this.prev * overlap : 0);
  }

  reset(): void {
    this.start = Number.NEGATIVE_INFINITY;
    this.cur = 0;
    this.prev = 0;
  }

  static recycle(c: WindowCounter): void {
    c.reset();
  }
}

/**
 * Distinct values seen in the last `windowMs` (e.g. destination ports per
 * source). Keeps at most `cap` values: a detector passes its threshold (or a
 * little more) as the cap, since exactness beyond the threshold does not
 * change the decision. Counts are exact up to the cap.
 *
 * Caps are small (tens), so the values sit in two parallel arrays searched
 * linearly: far less memory than a Map per key when a table holds tens of
 * thousands of keys, and no slower at this size.
 */
/** Shared empty array of counters that never held anything (never written to). */
const EMPTY: readonly unknown[] = Object.freeze([]);

export class DistinctCounter<T> {
  // Created as one-element literals on the first value: V8 sizes a literal
  // exactly, where pushing onto [] reserves 17 slots (most keys of a flood see
  // one value). The arrays are kept when the counter is reset (a recycled
  // table entry), so a flood of new keys allocates no arrays: `n` says how
  // many cells are in use.
  private vals: T[] = EMPTY as T[];
  /** Packet time each value was last seen. */
  private times: number[] = EMPTY as number[];
  private n = 0;
  /** Oldest time in `times` (for cheap expiry). */
  private oldest = Number.POSITIVE_INFINITY;

  /** Record `value` at `ts`; returns the number of distinct values in the window ending at `ts`. */
  add(value: T, ts: number, windowMs: number, cap: number): number {
    const cutoff = ts - windowMs;
    if (this.oldest < cutoff) this.expire(cutoff);
    const i = this.indexOf(value);
    if (i >= 0) {
      this.times[i] = ts;
    } else if (this.n < cap) {
      if (this.vals === EMPTY) {
        this.vals = [value];
        this.times = [ts];
      } else {
        this.vals[this.n] = value;
        this.times[this.n] = ts;
      }
      this.n++;
      if (ts < this.oldest) this.oldest = ts;
    }
    return this.n;
  }

  /** Forget `value` (e.g. a target that answered, so it is not evidence of a scan). */
  delete(value: T): boolean {
    const i = this.indexOf(value);
    if (i < 0) return false;
    const last = this.n - 1;
    for (let j = i; j < last; j++) {
      this.vals[j] = this.vals[j + 1];
      this.times[j] = this.times[j + 1];
    }
    this.vals[last] = undefined as T;
    this.n = last;
    return true;
  }

  /** Distinct values in the window ending at `ts`. */
  count(ts: number, windowMs: number): number {
    const cutoff = ts - windowMs;
    if (this.oldest < cutoff) this.expire(cutoff);
    return this.n;
  }

  /** Forget every value (the arrays stay for reuse). */
  reset(): void {
    for (let i = 0; i < this.n; i++) this.vals[i] = undefined as T;
    this.n = 0;
    this.oldest = Number.POSITIVE_INFINITY;
  }

  /** The values currently held, in the order first seen. */
  values(): T[] {
    return this.vals.slice(0, this.n);
  }

  private indexOf(value: T): number {
    const vals = this.vals;
    for (let i = 0; i < this.n; i++) if (vals[i] === value) return i;
    return -1;
  }

  /** Drop values last seen before `cutoff`, in place, keeping the order. */
  private expire(cutoff: number): void {
    let kept = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.n; i++) {
      const t = this.times[i];
      if (t < cutoff) continue;
      this.vals[kept] = this.vals[i];
      this.times[kept] = t;
      kept++;
      if (t < oldest) oldest = t;
    }
    for (let i = kept; i < this.n; i++) this.vals[i] = undefined as T;
    this.n = kept;
    this.oldest = oldest;
  }
}

/** Windowed counters per key, in a bounded table. */
export class KeyedCounter<K extends TableKey> {
  readonly table: BoundedTable<K, WindowCounter>;

  constructor(cap: number) {
    this.table = new BoundedTable<K, WindowCounter>(cap, () => new WindowCounter(), 100, WindowCounter.recycle);
  }

  /** Add `n` events for `key` at `ts`; returns the key's count in the window. */
  add(key: K, ts: number, windowMs: number, n = 1): number {
    return this.table.touch(key, ts).add(ts, windowMs, n);
  }

  get(key: K): WindowCounter | undefined {
    return this.table.get(key);
  }
}

/** Distinct-value counters per key, in a bounded table. */
export class KeyedDistinct<K extends TableKey, T> {
  readonly table: BoundedTable<K, DistinctCounter<T>>;

  constructor(cap: number) {
    this.table = new BoundedTable<K, DistinctCounter<T>>(cap, () => new DistinctCounter<T>(), 100, (d) => d.reset());
  }

  /** Record `value` for `key` at `ts`; returns the key's distinct count in the window (exact up to `cap`). */
  add(key: K, value: T, ts: number, windowMs: number, cap: number): number {
    return this.table.touch(key, ts).add(value, ts, windowMs, cap);
  }

  get(key: K): DistinctCounter<T> | undefined {
    return this.table.get(key);
  }
}
