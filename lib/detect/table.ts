/**
 * A map with a size cap that evicts the stalest entry first, for per-source
 * and per-target detector state. Staleness is the last touch in packet time.
 *
 * Order is kept by Map insertion order, and entries are moved lazily: a touch
 * only notes the time; when eviction finds an entry at the front that was
 * touched `reorderMs` or more after it was placed, the entry moves to the end
 * (delete + set) and the next one is considered ("second chance"). So an
 * entry in use is never evicted, eviction stays O(1) amortised (each touch
 * moves an entry at most once), and the per-packet path is a single Map
 * lookup: moving every touched entry at once cost a quarter of the scan
 * detector's time when keys recur more slowly than `reorderMs`. The order is
 * that of the last move, not of the last touch, so among entries in use the
 * evicted one is not always the very stalest; an untouched entry always goes
 * before one touched since it was placed.
 */

interface Slot<K, V> {
  key: K;
  value: V;
  /** Packet time of the last touch. */
  last: number;
  /** Packet time of the last move to the end of the order. */
  moved: number;
}

export class BoundedTable<K, V> {
  private readonly map = new Map<K, Slot<K, V>>();
  private capacity: number;
  /**
   * Live iterator over the entries, kept between evictions: it always stands
   * just before the stalest entry (everything before it was evicted, and
   * moved or new entries go to the end). A fresh iterator would have to skip
   * the holes deleted entries leave at the front of the Map until V8 next
   * compacts it, which makes eviction O(size) instead of O(1).
   */
  private cursor: IterableIterator<Slot<K, V>> | null = null;
  /** Entries dropped because the table was full (stalest first). */
  evictions = 0;

  /**
   * @param cap maximum number of entries (>= 1)
   * @param create builds the value for a key seen for the first time
   * @param reorderMs see the class comment
   */
  /**
   * @param recycle when given, the value of an evicted entry is passed to it and
   *   reused for the new key instead of calling `create`: under a flood from
   *   spoofed sources the table then allocates nothing per new key but the key,
   *   and produces no long-lived garbage for the old generation of the heap.
   */
  constructor(cap: number, private readonly create: (key: K) => V, private readonly reorderMs = 100, private readonly recycle?: (value: V) => void) {
    this.capacity = BoundedTable.checkCap(cap);
  }

  private static checkCap(cap: number): number {
    if (!Number.isInteger(cap) || cap < 1) throw new Error(`table size must be an integer >= 1, got ${cap}`);
    return cap;
  }

  get size(): number {
    return this.map.size;
  }

  get cap(): number {
    return this.capacity;
  }

  /** Change the cap; shrinking evicts the stalest entries now. */
  set cap(cap: number) {
    this.capacity = BoundedTable.checkCap(cap);
    while (this.map.size > this.capacity) this.evictOne();
  }

  /** The value for `key`, created (evicting the stalest entry when full) if absent; marks it touched at `ts`. */
  touch(key: K, ts: number): V {
    const slot = this.map.get(key);
    if (slot !== undefined) {
      if (ts > slot.last) slot.last = ts;
      return slot.value;
    }
    return this.insert(key, ts);
  }

  /**
   * Add `key` known to be absent (the caller just looked it up): saves the
   * lookup `touch` would repeat. Evicts the stalest entry when full.
   */
  insert(key: K, ts: number): V {
    if (this.map.size >= this.capacity) {
      const old = this.evictOne();
      if (old !== undefined && this.recycle !== undefined) {
        this.recycle(old.value);
        old.key = key;
        old.last = ts;
        old.moved = ts;
        this.map.set(key, old);
        return old.value;
      }
    }
    const value = this.create(key);
    this.map.set(key, { key, value, last: ts, moved: ts });
    return value;
  }

  /** The value for `key` without touching or creating it. */
  get(key: K): V | undefined {
    const slot = this.map.get(key);
    return slot === undefined ? undefined : slot.value;
  }

  /** Packet time of the last touch of `key`, or undefined. */
  lastTouch(key: K): number | undefined {
    const slot = this.map.get(key);
    return slot === undefined ? undefined : slot.last;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /**
   * Remove entries not touched since `before` (packet time), stalest first;
   * stops at the first fresh entry, so the cost is the number removed (+1).
   * Returns how many were removed. Not counted as evictions: they aged out.
   */
  expire(before: number): number {
    let removed = 0;
    for (const [key, slot] of this.map) {
      if (slot.last >= before) {
        // Entries are ordered by their last move, not their last touch (see the class comment); good enough for ageing.
        break;
      }
      this.map.delete(key);
      removed++;
    }
    return removed;
  }

  /** Entries, stalest first. */
  *entries(): IterableIterator<[K, V]> {
    for (const [key, slot] of this.map) yield [key, slot.value];
  }

  clear(): void {
    this.map.clear();
    this.cursor = null;
  }

  /** Remove the stalest entry; returns its slot (for recycling). Entries touched since they were placed move to the end instead. */
  private evictOne(): Slot<K, V> | undefined {
    for (;;) {
      let first = this.cursor?.next();
      if (first === undefined || first.done) {
        this.cursor = this.map.values();
        first = this.cursor.next();
      }
      if (first.done) return undefined;
      const slot = first.value;
      if (slot.last > slot.moved && slot.last - slot.moved >= this.reorderMs) {
        // Second chance: touched since placed. The cursor meets it again at the end.
        slot.moved = slot.last;
        this.map.delete(slot.key);
        this.map.set(slot.key, slot);
        continue;
      }
      this.map.delete(slot.key);
      this.evictions++;
      return slot;
    }
  }
}
