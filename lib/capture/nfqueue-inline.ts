/**
 * The inline path of `nfqueue-in` without Node-RED: packets from an NFQUEUE
 * are decoded and handed out (one by one or in small batches), held until a
 * verdict comes back by id, and given the default verdict on timeout or close.
 */
import { decodePacket } from '../packet/decode';
import { LINKTYPE_RAW } from '../packet/linktypes';
import type { Packet, PacketPayload } from '../packet/types';
import { NfqueueHandle, NFQUEUE_DEFAULTS, validateNfqueueOptions, type NfqueueOptions, type RawQueuedPacket } from './nfqueue-handle';
import type { KernelQueueRow } from './nfqueue-proc';
import { Batcher, batchLimitsProblem } from './batcher';
import { HeldPackets, validateHeldOptions, type HeldPacketsOptions, type VerdictCounts, type VerdictItem, type VerdictSink } from './verdicts';

export interface InlineOptions extends NfqueueOptions, HeldPacketsOptions {
  /** Packets per message: 1 emits each packet alone (lowest latency). */
  batchSize: number;
  /** Longest a packet waits for its batch to fill, ms. */
  batchMs: number;
}

export const INLINE_DEFAULTS: Omit<InlineOptions, 'queue'> = {
  ...NFQUEUE_DEFAULTS,
  // A home router: a packet the flow lost is let through (or dropped) after 250 ms,
  // short enough that TCP does not retransmit first, long enough for a busy flow.
  timeoutMs: 250,
  defaultVerdict: 'accept',
  batchSize: 1,
  batchMs: 1,
};

export function validateInlineOptions(o: InlineOptions): void {
  validateNfqueueOptions(o);
  validateHeldOptions(o);
  const problem = batchLimitsProblem({ maxItems: o.batchSize, maxDelayMs: o.batchMs });
  if (problem) throw new Error(problem);
  if (o.batchMs >= o.timeoutMs) throw new Error(`batch time (${o.batchMs} ms) must be shorter than the verdict timeout (${o.timeoutMs} ms)`);
}

export interface InlineStats extends VerdictCounts {
  /** Kernel's view of the queue: drops when full, drops on socket overflow. */
  kernel?: KernelQueueRow;
}

export interface InlineHandlers {
  /** A packet or a batch of packets to pass to the flow. */
  emit(payload: PacketPayload): void;
  /** Errors outside a caller's stack (verdict writes from the timeout timer). */
  error(err: Error): void;
}

export class NfqueueInline {
  readonly options: InlineOptions;
  private readonly handlers: InlineHandlers;
  private readonly held: HeldPackets;
  private handle: NfqueueHandle | null = null;
  /** Null in per-packet mode (batch size 1): each packet goes out alone, not as a one-element array. */
  private readonly batcher: Batcher<Packet> | null;

  constructor(options: InlineOptions, handlers: InlineHandlers) {
    validateInlineOptions(options);
    this.options = { ...options };
    this.handlers = handlers;
    // Verdicts go to whichever handle is open (none before start and after close).
    const sink: VerdictSink = {
      batches: () => this.handle?.batches() ?? false,
      one: (id, accept) => this.handle?.one(id, accept),
      upTo: (lastId, accept) => this.handle?.upTo(lastId, accept),
      flush: () => {
        try {
          this.handle?.flush();
        } catch (err) {
          this.handlers.error(new Error(`NFQUEUE ${this.options.queue}: verdict failed: ${(err as Error).message}`));
        }
      },
    };
    this.held = new HeldPackets(options, sink);
    this.batcher = options.batchSize > 1 ? new Batcher<Packet>({ maxItems: options.batchSize, maxDelayMs: options.batchMs }, (batch) => this.handlers.emit(batch)) : null;
  }

  /** Bind the queue (throws a clear error when it cannot). */
  start(): void {
    if (this.handle) return;
    // A batch goes out as soon as the socket is empty: large under load, no timer wait when traffic is light.
    this.handle = NfqueueHandle.open(this.options, (raw) => this.onPacket(raw), () => this.batcher?.flush());
  }

  get running(): boolean {
    return this.handle !== null;
  }

  stats(): InlineStats {
    return { ...this.held.stats(), kernel: this.handle?.kernelStats() };
  }

  resetCounts(): void {
    this.held.resetCounts();
  }

  /**
   * Packets coming back from the flow: verdict each by `id` (`verdict: 'drop'`
   * drops, anything else accepts). Elements without a numeric id are refused
   * with an error after the valid ones are applied, so nothing is lost.
   */
  verdict(payload: unknown): void {
    const bad = this.held.decide(Array.isArray(payload) ? (payload as VerdictItem[]) : [payload as VerdictItem]);
    if (bad.length) {
      const where = Array.isArray(payload) ? ` (batch elements ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', …' : ''})` : '';
      throw new Error(`nfqueue-in needs packets it emitted (msg.payload with a numeric id) to verdict them; got ${bad.length} without an id${where}`);
    }
  }

  /** Default verdict for every held packet, then unbind the queue. */
  close(): void {
    // Packets still waiting for their batch are held too: the default verdict covers them.
    this.batcher?.discard();
    this.held.releaseAll();
    this.handle?.close();
    this.handle = null;
  }

  private onPacket(raw: RawQueuedPacket): void {
    this.held.hold(raw.id, raw.ts);
    try {
      this.take(raw);
    } catch (err) {
      // the packet stays held and gets the default verdict on timeout
      this.handlers.error(err as Error);
    }
  }

  private take(raw: RawQueuedPacket): void {
    const packet = decodePacket(raw.data, LINKTYPE_RAW, raw.ts, raw.len, raw.iface);
    packet.id = raw.id;
    if (this.batcher) this.batcher.push(packet);
    else this.handlers.emit(packet);
  }
}
