/**
 * A map with a size cap that evicts the stalest entry first, for per-source
 * and per-target detector state. Staleness is the last touch in packet time.
 *
 * A fixed-layout table rather than a JavaScript Map: entries live in
 * arrays (keys and times side by side per entry, values, order links),
 * found through an open-addressing index (linear probing, backward-shift
 * deletion), and kept in a doubly linked order list, stalest first. Under a flood of new keys
 * (spoofed sources) a Map evicting and inserting per packet reallocates its
 * backing store again and again, and a slot object per entry is promoted
 * and then dropped: hundreds of MB of old-generation garbage per million
 * packets. Here eviction and insertion only rewrite array cells; the arrays
 * grow by doubling up to the cap and never shrink or move afterwards.
 *
 * A touch moves the entry to the end of the order (O(1) link updates); an
 * entry touched again within `reorderMs` of its last move stays where it is,
 * so eviction order is exact to within `reorderMs` of packet time (100 ms
 * unless the owner says otherwise; it may change it at any time). An owner
 * whose rules count over a long window chooses a coarser granularity:
 * scan-detect uses a tenth of its window (6 s by default), since evicting
 * an entry up to that much early changes little of what a 60 s window
 * counts. `expire` ages entries out to within the same granularity.
 *
 * What a touch costs is memory traffic more than instructions: on tables
 * of thousands of entries each line it reads (index slot, entry cell,
 * value, and for a move the links of the entry and its two neighbours) is
 * likely a cache miss. On the mixed bench capture flood+scan make 2.9 M
 * table operations per 1 M packets, 1.63 M of them moves at 100 ms
 * everywhere and 0.54 M with scan-detect's tables at 6 s: per packet 278
 * fewer instructions, 1.7 fewer L1 and 1.2 fewer last-level read misses
 * (callgrind's cache model). Keeping the links and the hash inside each
 * entry's cell instead measured no better: fewer read misses, but more
 * write misses and instructions.
 *
 * A key has two parts: `key` (a number or a string) and an optional number
 * `key2` (default 0), so composite keys such as (source, target, port) need
 * no string built per packet (see keys.ts). Number keys live in a
 * Float64Array (NaN in a string key's place) and string keys in an array of
 * strings ('' in a number key's cell), so a lookup compares two numbers or
 * two strings, never a generic `===` of number-or-string, and a 48-bit key
 * is not kept as a boxed heap number. A number key never equals a string
 * key, even one with the same text.
 */

/** What a table is keyed on (the first key part): detectors use numbers (keys.ts); a string is hashed by its characters. */
export type TableKey = number | string;

const NIL = -1;
/** Layout of BoundedTable's `cells`: CELL numbers per entry, at these offsets. */
const CELL = 4;
const NUM_KEY = 0;
const KEY2 = 1;
const LAST_TS = 2;
const MOVED_TS = 3;

/** Murmur3's 32-bit finalizer: every input bit reaches the low bits the index uses. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Hash of an integer up to 53 bits. */
function hashNumber(x: number): number {
  return fmix((x | 0) ^ Math.imul((x / 4294967296) | 0, 0x9e3779b1));
}

/** 32-bit hash of a two-part key: numbers mixed directly, strings by FNV-1a. */
export function hashKey(key: unknown, key2 = 0): number {
  let h: number;
  if (typeof key === 'number') {
    h = hashNumber(key);
  } else {
    const s = typeof key === 'string' ? key : String(key);
    h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h ^= h >>> 16;
  }
  return key2 === 0 ? h : (Math.imul(h, 31) + hashNumber(key2)) | 0;
}

export class BoundedTable<K extends TableKey, V> {
  private capacity: number;
  /** Entry cells allocated (grows by doubling up to the cap). */
  private room = 0;
  /** Entry cells ever used (cells below it that are free are on the free list). */
  private highWater = 0;
  private count = 0;
  /**
   * The numbers a lookup and a touch read, four per cell side by side (one
   * cache line holds two cells' worth): at CELL + NUM_KEY the number key
   * (NaN, equal to nothing, where the key is a string), + KEY2 the second key
   * part, + LAST_TS the packet time of the last touch, + MOVED_TS that of the
   * last move to the end of the order. In parallel arrays a touch of a large
   * table missed the cache once per array.
   */
  private cells = new Float64Array(0);
  /** String keys by cell; '' where the key is a number (told apart by its NUM_KEY being NaN). */
  private strKeys: string[] = [];
  private vals: (V | undefined)[] = [];
  private hashes = new Int32Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  /** Stalest entry (first to evict) and freshest. */
  private head = NIL;
  private tail = NIL;
  private freeCells: number[] = [];
  /** Open-addressing index: entry + 1, 0 = empty; size a power of two >= 2 × room. */
  private index = new Int32Array(0);
  private mask = -1;
  /** Eviction order granularity (ms of packet time): see the class comment. */
  private reorder: number;
  /** Entries dropped because the table was full (stalest first). */
  evictions = 0;

  /**
   * @param cap maximum number of entries (>= 1)
   * @param create builds the value for a key seen for the first time
   * @param reorderMs see the class comment; may be changed later (`reorderMs`)
   * @param recycle when given, the value of an evicted entry is passed to it and
   *   reused for the new key instead of calling `create`: under a flood from
   *   spoofed sources the table then allocates nothing per new key.
   */
  constructor(cap: number, private readonly create: (key: K) => V, reorderMs = 100, private readonly recycle?: (value: V) => void) {
    this.capacity = BoundedTable.checkCap(cap);
    this.reorder = BoundedTable.checkReorder(reorderMs);
  }

  private static checkCap(cap: number): number {
    if (!Number.isInteger(cap) || cap < 1) throw new Error(`table size must be an integer >= 1, got ${cap}`);
    return cap;
  }

  private static checkReorder(ms: number): number {
    if (!(ms >= 0) || ms === Number.POSITIVE_INFINITY) throw new Error(`reorder granularity must be a finite number >= 0, got ${ms}`);
    return ms;
  }

  /** Eviction order granularity in ms of packet time (see the class comment). */
  get reorderMs(): number {
    return this.reorder;
  }

  /**
   * Change the granularity. Entries keep their place in the order: until
   * the old granularity has passed in packet time, the order is exact to
   * within the larger of the two.
   */
  set reorderMs(ms: number) {
    this.reorder = BoundedTable.checkReorder(ms);
  }

  get size(): number {
    return this.count;
  }

  get cap(): number {
    return this.capacity;
  }

  /** Change the cap; shrinking evicts the stalest entries now. */
  set cap(cap: number) {
    this.capacity = BoundedTable.checkCap(cap);
    while (this.count > this.capacity) {
      this.removeEntry(this.head);
      this.evictions++;
    }
  }

  /** The value for `key`, created (evicting the stalest entry when full) if absent; marks it touched at `ts`. */
  touch(key: K, ts: number, key2 = 0): V {
    const e = this.find(key, key2);
    return e === NIL ? this.insert(key, ts, key2) : this.touchCell(e, ts);
  }

  /** The value for `key` marked touched at `ts` as `touch` does, or undefined (nothing created) when absent. */
  touchExisting(key: K, ts: number, key2 = 0): V | undefined {
    const e = this.find(key, key2);
    return e === NIL ? undefined : this.touchCell(e, ts);
  }

  /**
   * The cell of `key` (>= 0), or -1 when absent: for a caller that decides
   * after the lookup whether to touch it (`touchCell`), without a second
   * lookup. Valid until the table next changes.
   */
  cellOf(key: K, key2 = 0): number {
    return this.find(key, key2);
  }

  /** Touch the entry in cell `e` (from `cellOf`) at `ts`; returns its value. */
  touchCell(e: number, ts: number): V {
    const cells = this.cells;
    const c = e * CELL;
    if (ts > cells[c + LAST_TS]) cells[c + LAST_TS] = ts;
    if (ts - cells[c + MOVED_TS] >= this.reorder) {
      cells[c + MOVED_TS] = ts;
      this.moveToTail(e);
    }
    return this.vals[e] as V;
  }

  /**
   * Add `key` known to be absent (the caller just looked it up). Evicts the
   * stalest entry when full.
   */
  insert(key: K, ts: number, key2 = 0): V {
    let value: V;
    if (this.count >= this.capacity) {
      const old = this.head;
      const oldValue = this.vals[old] as V;
      this.removeEntry(old);
      this.evictions++;
      if (this.recycle !== undefined) {
        this.recycle(oldValue);
        value = oldValue;
      } else {
        value = this.create(key);
      }
    } else {
      value = this.create(key);
    }
    const e = this.takeCell();
    const h = hashKey(key, key2);
    const cells = this.cells;
    const c = e * CELL;
    if (typeof key === 'number') {
      cells[c + NUM_KEY] = key;
      this.strKeys[e] = '';
    } else {
      cells[c + NUM_KEY] = NaN;
      this.strKeys[e] = key;
    }
    cells[c + KEY2] = key2;
    cells[c + LAST_TS] = ts;
    cells[c + MOVED_TS] = ts;
    this.vals[e] = value;
    this.hashes[e] = h;
    this.linkTail(e);
    let i = h & this.mask;
    while (this.index[i] !== 0) i = (i + 1) & this.mask;
    this.index[i] = e + 1;
    this.count++;
    return value;
  }

  /** The value for `key` without touching or creating it. */
  get(key: K, key2 = 0): V | undefined {
    const e = this.find(key, key2);
    return e === NIL ? undefined : this.vals[e];
  }

  /** Packet time of the last touch of `key`, or undefined. */
  lastTouch(key: K, key2 = 0): number | undefined {
    const e = this.find(key, key2);
    return e === NIL ? undefined : this.cells[e * CELL + LAST_TS];
  }

  has(key: K, key2 = 0): boolean {
    return this.find(key, key2) !== NIL;
  }

  delete(key: K, key2 = 0): boolean {
    const e = this.find(key, key2);
    if (e === NIL) return false;
    this.removeEntry(e);
    return true;
  }

  /**
   * Remove entries not touched since `before` (packet time), stalest first;
   * stops at the first fresh entry, so the cost is the number removed (+1).
   * Returns how many were removed. Not counted as evictions: they aged out.
   */
  expire(before: number): number {
    let removed = 0;
    // Entries moved less than reorderMs ago may sit slightly out of order; good enough for ageing.
    while (this.head !== NIL && this.cells[this.head * CELL + LAST_TS] < before) {
      this.removeEntry(this.head);
      removed++;
    }
    return removed;
  }

  /** The value of the stalest entry (first to evict), or undefined when empty. */
  oldest(): V | undefined {
    return this.head === NIL ? undefined : this.vals[this.head];
  }

  /** Remove the stalest entry (not counted as an eviction). */
  dropOldest(): void {
    if (this.head !== NIL) this.removeEntry(this.head);
  }

  /** Entries (first key part and value), stalest first. The entry just yielded may be deleted by the caller. */
  *entries(): IterableIterator<[K, V]> {
    let e = this.head;
    while (e !== NIL) {
      const after = this.next[e];
      const n = this.cells[e * CELL + NUM_KEY];
      yield [(n === n ? n : this.strKeys[e]) as K, this.vals[e] as V];
      e = after;
    }
  }

  /** Forget every entry; the arrays stay allocated (bounded by the cap). */
  clear(): void {
    this.strKeys.fill('');
    this.vals.fill(undefined);
    this.index.fill(0);
    this.highWater = 0;
    this.count = 0;
    this.head = NIL;
    this.tail = NIL;
    this.freeCells = [];
  }

  /** Entry cell of the key, or NIL. */
  private find(key: K, key2: number): number {
    if (this.count === 0) return NIL;
    const index = this.index;
    const mask = this.mask;
    let i = hashKey(key, key2) & mask;
    if (typeof key === 'number') {
      const cells = this.cells;
      for (;;) {
        const slot = index[i];
        if (slot === 0) return NIL;
        const c = (slot - 1) * CELL;
        if (cells[c + NUM_KEY] === key && cells[c + KEY2] === key2) return slot - 1;
        i = (i + 1) & mask;
      }
    }
    for (;;) {
      const slot = index[i];
      if (slot === 0) return NIL;
      // A number key's cell holds '' here and a number (not NaN) at NUM_KEY.
      const c = (slot - 1) * CELL;
      if (this.strKeys[slot - 1] === key && this.cells[c + KEY2] === key2 && this.cells[c + NUM_KEY] !== this.cells[c + NUM_KEY]) return slot - 1;
      i = (i + 1) & mask;
    }
  }

  /** A free entry cell, growing the arrays when all are in use. */
  private takeCell(): number {
    const free = this.freeCells.pop();
    if (free !== undefined) return free;
    if (this.highWater === this.room) this.grow();
    return this.highWater++;
  }

  private grow(): void {
    // Called only when every cell is in use and the cap allows more, so room grows.
    const room = Math.max(this.room + 1, Math.min(this.capacity, Math.max(8, this.room * 2)));
    const copyI = (a: Int32Array) => { const b = new Int32Array(room); b.set(a.subarray(0, room)); return b; };
    this.hashes = copyI(this.hashes);
    const cells = new Float64Array(room * CELL);
    cells.set(this.cells.subarray(0, room * CELL));
    this.cells = cells;
    this.prev = copyI(this.prev);
    this.next = copyI(this.next);
    this.room = room;
    let size = 16;
    while (size < room * 2) size *= 2;
    const index = new Int32Array(size);
    const mask = size - 1;
    for (let e = this.head; e !== NIL; e = this.next[e]) {
      let i = this.hashes[e] & mask;
      while (index[i] !== 0) i = (i + 1) & mask;
      index[i] = e + 1;
    }
    this.index = index;
    this.mask = mask;
  }

  private linkTail(e: number): void {
    this.prev[e] = this.tail;
    this.next[e] = NIL;
    if (this.tail !== NIL) this.next[this.tail] = e;
    else this.head = e;
    this.tail = e;
  }

  private unlink(e: number): void {
    const p = this.prev[e];
    const n = this.next[e];
    if (p !== NIL) this.next[p] = n;
    else this.head = n;
    if (n !== NIL) this.prev[n] = p;
    else this.tail = p;
  }

  /**
   * unlink + linkTail written out: as two calls they were not inlined into
   * touch and cost ~135 instructions a move (1.6 moves a packet on the mixed
   * bench capture); straight-line, a fraction of that.
   */
  private moveToTail(e: number): void {
    const tail = this.tail;
    if (tail === e) return;
    const prev = this.prev;
    const next = this.next;
    // e is not the tail, so it has a successor n, and the tail stays where it is while e is taken out.
    const p = prev[e];
    const n = next[e];
    if (p !== NIL) next[p] = n;
    else this.head = n;
    prev[n] = p;
    prev[e] = tail;
    next[e] = NIL;
    next[tail] = e;
    this.tail = e;
  }

  /** Remove entry cell `e` from the order, the index (backward-shift deletion) and the arrays. */
  private removeEntry(e: number): void {
    this.unlink(e);
    const index = this.index;
    const mask = this.mask;
    let i = this.hashes[e] & mask;
    while (index[i] !== e + 1) i = (i + 1) & mask;
    index[i] = 0;
    // Shift later members of the probe run back so lookups never stop at the hole too early.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const slot = index[j];
      if (slot === 0) break;
      const home = this.hashes[slot - 1] & mask;
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!between) {
        index[i] = slot;
        index[j] = 0;
        i = j;
      }
    }
    this.strKeys[e] = '';
    this.vals[e] = undefined;
    this.freeCells.push(e);
    this.count--;
  }
}
