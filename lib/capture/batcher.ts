/**
 * Groups items into batches of at most `maxItems`, and never holds an item
 * longer than `maxDelayMs`: the first item of a batch starts the clock, and
 * the batch goes out when it is full or the clock runs out, whichever is
 * first. `maxItems = 1` hands every item on at once (no timer at all).
 *
 * Used by pcap-in (packets from files and live capture) and nfqueue-in, so it
 * knows nothing about packets: it is generic over the item type.
 */

export interface BatchLimits {
  /** Most items per batch (integer >= 1). */
  maxItems: number;
  /** Longest an item waits for its batch to fill, in ms (>= 0; 0 = flush at the next tick). */
  maxDelayMs: number;
}

/** Largest accepted batch size: a bigger array per message only adds latency and memory. */
export const MAX_BATCH_ITEMS = 100_000;
/** Longest accepted batch delay (one minute). */
export const MAX_BATCH_DELAY_MS = 60_000;

/** Why `limits` are not usable, or null when they are. */
export function batchLimitsProblem(limits: { maxItems: unknown; maxDelayMs: unknown }): string | null {
  const { maxItems, maxDelayMs } = limits;
  if (typeof maxItems !== 'number' || !Number.isInteger(maxItems) || maxItems < 1 || maxItems > MAX_BATCH_ITEMS) {
    return `batch size must be a whole number from 1 to ${MAX_BATCH_ITEMS}, got ${String(maxItems)}`;
  }
  if (typeof maxDelayMs !== 'number' || !Number.isFinite(maxDelayMs) || maxDelayMs < 0 || maxDelayMs > MAX_BATCH_DELAY_MS) {
    return `batch delay must be a number of ms from 0 to ${MAX_BATCH_DELAY_MS}, got ${String(maxDelayMs)}`;
  }
  return null;
}

export class Batcher<T> {
  private items: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly limits: BatchLimits;
  private readonly emit: (batch: T[]) => void;

  /** `emit` receives each batch (a fresh array it may keep). Throws on invalid limits. */
  constructor(limits: BatchLimits, emit: (batch: T[]) => void) {
    const problem = batchLimitsProblem(limits);
    if (problem) throw new RangeError(problem);
    this.limits = { maxItems: limits.maxItems, maxDelayMs: limits.maxDelayMs };
    this.emit = emit;
  }

  /** Items waiting for their batch. */
  get pending(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    if (items.length >= this.limits.maxItems) {
      this.flush();
    } else if (this.timer === null) {
      this.timer = setTimeout(this.onTimer, this.limits.maxDelayMs);
    }
  }

  /** Add many items in order (same batching as pushing them one by one). */
  pushAll(list: readonly T[]): void {
    for (let i = 0; i < list.length; i++) this.push(list[i]);
  }

  /** Hand on whatever is waiting now (nothing when empty). */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.items.length === 0) return;
    const batch = this.items;
    this.items = [];
    this.emit(batch);
  }

  /** Drop waiting items and the timer without emitting (for close). */
  discard(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.items = [];
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.flush();
  };
}
