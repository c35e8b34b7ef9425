/**
 * Packets held by the kernel waiting for a verdict, by NFQUEUE id. A packet
 * that gets no verdict within the timeout gets the default verdict
 * (accept = fail-open, drop = fail-closed), so a broken or overloaded flow
 * delays packets by at most the timeout and never holds them for ever.
 *
 * Verdicts go out as runs: the kernel queues packets in id order and can
 * verdict "every packet still queued up to id N" in one message. Held
 * packets are kept in arrival (= kernel) order, so a run of the same verdict
 * over the oldest held packets becomes one such message, which stays exact:
 * nothing older than the run is still queued. Packets answered out of that
 * order are verdicted one by one, before any run that passes them.
 */
import type { Verdict } from '../packet/types';

export interface HeldPacketsOptions {
  /** Ms a packet may wait for its verdict. */
  timeoutMs: number;
  /** Verdict for packets that time out or are still held at close. */
  defaultVerdict: Verdict;
}

export interface VerdictCounts {
  /** Packets taken in. */
  queued: number;
  /** Packets accepted (by the flow, by timeout or at close). */
  accepted: number;
  /** Packets dropped (by the flow, by timeout or at close). */
  dropped: number;
  /** Packets that got the default verdict because the flow did not answer in time. */
  timedOut: number;
  /** Verdicts for ids no longer held (answered twice, or after the timeout). */
  late: number;
  /** Packets waiting now. */
  held: number;
}

/** Where verdicts go, in order; `flush` ends each round so one system call can carry many. */
export interface VerdictSink {
  /** Whether `upTo` may be used now; when false every packet is verdicted with `one`. */
  batches(): boolean;
  /** Verdict packet `id` alone. */
  one(id: number, accept: boolean): void;
  /**
   * Verdict every packet still queued up to and including `lastId`: these
   * are the `count` oldest held packets (the kernel's batch verdict).
   */
  upTo(lastId: number, accept: boolean, count: number): void;
  flush(): void;
}

/** One element of a batch coming back from the flow. */
export interface VerdictItem {
  id?: unknown;
  verdict?: unknown;
}

export function validateHeldOptions(o: HeldPacketsOptions): void {
  if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1 || o.timeoutMs > 60_000) {
    throw new Error(`verdict timeout must be an integer from 1 to 60000 ms, got ${String(o.timeoutMs)}`);
  }
  if (o.defaultVerdict !== 'accept' && o.defaultVerdict !== 'drop') {
    throw new Error(`default verdict must be 'accept' (fail-open) or 'drop' (fail-closed), got ${String(o.defaultVerdict)}`);
  }
}

/** Default clock: ms since epoch, fractional and monotonic (the same basis as packet `ts`). */
export const monotonicEpochMs = (): number => performance.timeOrigin + performance.now();

export class HeldPackets {
  private readonly opts: HeldPacketsOptions;
  private readonly sink: VerdictSink;
  /** id → deadline. Insertion order is arrival order, and deadline order: the timeout is the same for all. */
  private readonly held = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly counts = { queued: 0, accepted: 0, dropped: 0, timedOut: 0, late: 0 };
  private readonly now: () => number;
  private readonly defaultAccept: boolean;
  /** The run being gathered: its last id, verdict and length. */
  private runLast = 0;
  private runAccept = true;
  private runCount = 0;

  constructor(opts: HeldPacketsOptions, sink: VerdictSink, now: () => number = monotonicEpochMs) {
    validateHeldOptions(opts);
    this.opts = { ...opts };
    this.sink = sink;
    this.now = now;
    this.defaultAccept = opts.defaultVerdict !== 'drop';
  }

  get size(): number {
    return this.held.size;
  }

  stats(): VerdictCounts {
    return { ...this.counts, held: this.held.size };
  }

  resetCounts(): void {
    this.counts.queued = this.counts.accepted = this.counts.dropped = this.counts.timedOut = this.counts.late = 0;
  }

  /** Start waiting for the verdict of `id`, which arrived at `now` (the clock's basis). */
  hold(id: number, now: number = this.now()): void {
    const held = this.held;
    const before = held.size;
    held.set(id, now + this.opts.timeoutMs);
    if (held.size === before) {
      // a reused id (ids wrap at 2^32) restarts its wait at the end of the order
      held.delete(id);
      held.set(id, now + this.opts.timeoutMs);
    }
    this.counts.queued++;
    if (!this.timer) {
      const period = Math.max(2, Math.min(50, Math.floor(this.opts.timeoutMs / 4)));
      this.timer = setInterval(this.expire, period);
    }
  }

  /**
   * Verdicts from the flow: `drop` drops, anything else accepts. Ids not held
   * (already answered or timed out) are counted as late and ignored. Returns
   * the indexes of items without a usable id (none: an empty array).
   */
  decide(items: ArrayLike<VerdictItem | null | undefined>): number[] {
    const held = this.held;
    const bad: number[] = [];
    // The oldest held id not yet answered in this round: answers in arrival order extend the run.
    const order = held.keys();
    let head = order.next();
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const id = item !== null && typeof item === 'object' ? item.id : undefined;
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        bad.push(i);
        continue;
      }
      const accept = item!.verdict !== 'drop';
      if (!head.done && head.value === id) {
        held.delete(id);
        head = order.next();
        this.extendRun(id, accept);
      } else if (held.delete(id)) {
        // answered ahead of older packets: on its own, written before the run that will pass it
        this.sink.one(id, accept);
      } else {
        this.counts.late++;
        continue;
      }
      if (accept) this.counts.accepted++;
      else this.counts.dropped++;
    }
    this.endRound();
    return bad;
  }

  /** Give the default verdict to every packet past its deadline (the oldest ones). */
  readonly expire = (): void => {
    const now = this.now();
    let n = 0;
    for (const [id, deadline] of this.held) {
      if (deadline > now) break;
      this.held.delete(id);
      this.extendRun(id, this.defaultAccept);
      n++;
    }
    this.counts.timedOut += n;
    this.countDefault(n);
    this.endRound();
    // Stop only once idle a whole period, not after every verdict: no timer churn per packet at low rates.
    if (n === 0 && this.held.size === 0) this.stopTimer();
  };

  /** Give the default verdict to every held packet (on close). */
  releaseAll(): void {
    const n = this.held.size;
    for (const id of this.held.keys()) this.extendRun(id, this.defaultAccept);
    this.held.clear();
    this.countDefault(n);
    this.endRound();
    this.stopTimer();
  }

  private countDefault(n: number): void {
    if (this.defaultAccept) this.counts.accepted += n;
    else this.counts.dropped += n;
  }

  private extendRun(id: number, accept: boolean): void {
    if (!this.sink.batches()) {
      this.sink.one(id, accept);
      return;
    }
    if (this.runCount > 0 && accept !== this.runAccept) this.endRun();
    this.runLast = id;
    this.runAccept = accept;
    this.runCount++;
  }

  private endRun(): void {
    if (this.runCount === 1) this.sink.one(this.runLast, this.runAccept);
    else if (this.runCount > 1) this.sink.upTo(this.runLast, this.runAccept, this.runCount);
    this.runCount = 0;
  }

  private endRound(): void {
    this.endRun();
    this.sink.flush();
  }

  private stopTimer(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
