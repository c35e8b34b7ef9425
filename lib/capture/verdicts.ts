/**
 * Packets held by the kernel waiting for a verdict, by NFQUEUE id. A packet
 * that gets no verdict within the timeout gets the default verdict
 * (accept = fail-open, drop = fail-closed), so a broken or overloaded flow
 * delays packets by at most the timeout and never holds them for ever.
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

/** Receives verdicts to pass to the kernel, grouped so one call can carry many. */
export type VerdictSink = (accepted: readonly number[], dropped: readonly number[]) => void;

export function validateHeldOptions(o: HeldPacketsOptions): void {
  if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1 || o.timeoutMs > 60_000) {
    throw new Error(`verdict timeout must be an integer from 1 to 60000 ms, got ${String(o.timeoutMs)}`);
  }
  if (o.defaultVerdict !== 'accept' && o.defaultVerdict !== 'drop') {
    throw new Error(`default verdict must be 'accept' (fail-open) or 'drop' (fail-closed), got ${String(o.defaultVerdict)}`);
  }
}

export class HeldPackets {
  private readonly opts: HeldPacketsOptions;
  private readonly sink: VerdictSink;
  /** id → deadline (monotonic ms). Insertion order is deadline order: the timeout is the same for all. */
  private readonly held = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly counts = { queued: 0, accepted: 0, dropped: 0, timedOut: 0, late: 0 };
  private readonly now: () => number;

  constructor(opts: HeldPacketsOptions, sink: VerdictSink, now: () => number = () => performance.now()) {
    validateHeldOptions(opts);
    this.opts = { ...opts };
    this.sink = sink;
    this.now = now;
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

  /** Start waiting for the verdict of `id`. */
  hold(id: number): void {
    if (this.held.has(id)) this.held.delete(id); // a reused id restarts its wait (ids wrap at 2^32)
    this.held.set(id, this.now() + this.opts.timeoutMs);
    this.counts.queued++;
    if (!this.timer) {
      const period = Math.max(2, Math.min(50, Math.floor(this.opts.timeoutMs / 4)));
      this.timer = setInterval(() => this.expire(), period);
    }
  }

  /**
   * Verdicts from the flow: `drop` drops, anything else accepts. Ids not held
   * (already answered or timed out) are counted as late and ignored.
   */
  decide(items: Iterable<{ id: number; verdict?: Verdict | string }>): void {
    const accepted: number[] = [];
    const dropped: number[] = [];
    for (const { id, verdict } of items) {
      if (!this.held.delete(id)) {
        this.counts.late++;
        continue;
      }
      if (verdict === 'drop') dropped.push(id);
      else accepted.push(id);
    }
    this.apply(accepted, dropped);
    this.stopTimerIfIdle();
  }

  /** Give the default verdict to every packet past its deadline. */
  expire(): void {
    const now = this.now();
    const ids: number[] = [];
    for (const [id, deadline] of this.held) {
      if (deadline > now) break;
      ids.push(id);
    }
    for (const id of ids) this.held.delete(id);
    this.counts.timedOut += ids.length;
    this.applyDefault(ids);
    this.stopTimerIfIdle();
  }

  /** Give the default verdict to every held packet (on close). */
  releaseAll(): void {
    const ids = [...this.held.keys()];
    this.held.clear();
    this.applyDefault(ids);
    this.stopTimerIfIdle();
  }

  private applyDefault(ids: number[]): void {
    if (ids.length === 0) return;
    if (this.opts.defaultVerdict === 'drop') this.apply([], ids);
    else this.apply(ids, []);
  }

  private apply(accepted: number[], dropped: number[]): void {
    if (accepted.length === 0 && dropped.length === 0) return;
    this.counts.accepted += accepted.length;
    this.counts.dropped += dropped.length;
    this.sink(accepted, dropped);
  }

  private stopTimerIfIdle(): void {
    if (this.held.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
