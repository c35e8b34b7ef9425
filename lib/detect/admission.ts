import { hashKey, type BoundedTable, type TableKey } from './table';

/**
 * A fixed-size record of keys seen recently, for admitting a key into a
 * per-source table only on its second sighting within a window.
 *
 * Under a flood from spoofed sources every packet carries a new source that
 * is never seen again. Giving each one a table entry keeps its key string
 * alive for tens of thousands of packets, long enough to be promoted to the
 * old generation and collected late: hundreds of MB of garbage per million
 * packets. Here a key is only hashed into one of `slots` cells (hash tag,
 * packet time and one number of the caller's); nothing is allocated or kept.
 *
 * A later key with the same slot overwrites the earlier one, so a key may be
 * forgotten (admitted one sighting later) and, with a 32-bit tag collision,
 * rarely admitted early: both only shift a count by one.
 */
export class RepeatFilter {
  private readonly tags: Uint32Array;
  private readonly times: Float64Array;
  private readonly data: Float64Array;
  private readonly mask: number;

  /** @param slots number of cells, rounded up to a power of two */
  constructor(slots = 65536) {
    let size = 16;
    while (size < slots) size *= 2;
    this.tags = new Uint32Array(size);
    this.times = new Float64Array(size);
    this.data = new Float64Array(size);
    this.mask = size - 1;
  }

  /** The table's hash of a two-part key, never 0 (0 marks an empty cell). */
  private static hash(key: TableKey, key2: number): number {
    const h = hashKey(key, key2) >>> 0;
    return h === 0 ? 1 : h;
  }

  private cell(h: number): number {
    return h & this.mask;
  }

  /**
   * Whether `key` was seen at most `windowMs` before `ts` (then its cell is
   * cleared: the caller admits it); otherwise records it at `ts` with
   * `datum` and returns false.
   */
  repeat(key: TableKey, ts: number, windowMs: number, datum = 0, key2 = 0): boolean {
    const h = RepeatFilter.hash(key, key2);
    const c = this.cell(h);
    if (this.tags[c] === h && ts - this.times[c] <= windowMs) {
      this.lastDatum = this.data[c];
      this.lastTs = this.times[c];
      this.tags[c] = 0;
      return true;
    }
    this.tags[c] = h;
    this.times[c] = ts;
    this.data[c] = datum;
    return false;
  }

  /** Whether `key` is recorded at most `windowMs` before `ts`, without changing anything (sets lastTs/lastDatum). */
  recent(key: TableKey, ts: number, windowMs: number, key2 = 0): boolean {
    const h = RepeatFilter.hash(key, key2);
    const c = this.cell(h);
    if (this.tags[c] !== h || ts - this.times[c] > windowMs) return false;
    this.lastDatum = this.data[c];
    this.lastTs = this.times[c];
    return true;
  }

  /** Forget `key` if recorded. */
  forget(key: TableKey, key2 = 0): void {
    const h = RepeatFilter.hash(key, key2);
    const c = this.cell(h);
    if (this.tags[c] === h) this.tags[c] = 0;
  }

  /** Whether the last `admit` through this filter admitted a key on its second sighting. */
  admitted = false;
  /** Packet time and datum of the sighting found by the last `repeat`/`recent` that returned true. */
  lastTs = 0;
  lastDatum = 0;

  clear(): void {
    this.tags.fill(0);
  }
}

/**
 * The entry for `key`, as `table.touch` gives it while the table holds the
 * key or has room. While the table is full, a key's first sighting within
 * `windowMs` is only recorded in `seen` (with `datum`) and counted as an
 * eviction (no room for its state): undefined. Its second sighting gets an
 * entry; `seen.admitted` is then true and `seen.lastTs`/`seen.lastDatum`
 * describe the first sighting, for the caller to count it too.
 */
export function admit<K extends TableKey, V>(table: BoundedTable<K, V>, seen: RepeatFilter, key: K, ts: number, windowMs: number, datum = 0, key2 = 0): V | undefined {
  seen.admitted = false;
  if (table.size < table.cap) return table.touch(key, ts, key2);
  // Full: one lookup for a key it holds (no has() then touch()).
  const held = table.touchExisting(key, ts, key2);
  if (held !== undefined) return held;
  if (!seen.repeat(key, ts, windowMs, datum, key2)) {
    table.evictions++;
    return undefined;
  }
  seen.admitted = true;
  return table.insert(key, ts, key2);
}
