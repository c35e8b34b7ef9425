/**
 * The inline path of `nfqueue-in` without Node-RED: packets from an NFQUEUE
 * are decoded and handed out (one by one or in small batches), held until a
 * verdict comes back by id, and given the default verdict on timeout or close.
 * New settings rebind the queue.
 */
import { defaultsOf, type Schema } from '../base/settings';
import { decodePacket } from '../packet/decode';
import { LINKTYPE_RAW } from '../packet/linktypes';
import type { Packet, PacketPayload } from '../packet/types';
import { NfqueueHandle, NFQUEUE_DEFAULTS, validateNfqueueOptions, type NfqueueOptions, type RawQueuedPacket } from './nfqueue-handle';
import type { KernelQueueRow } from './nfqueue-proc';
import { Batcher, batchLimitsProblem, MAX_BATCH_ITEMS } from './batcher';
import { HeldPackets, validateHeldOptions, type HeldPacketsOptions, type VerdictCounts, type VerdictItem, type VerdictSink } from './verdicts';

export interface InlineOptions extends NfqueueOptions, HeldPacketsOptions {
  /** Packets per message: 1 emits each packet alone (lowest latency). */
  batchSize: number;
  /** Longest a packet waits for its batch to fill, ms. */
  batchMs: number;
}

/** What nfqueue-in's editor and `msg.topic = 'config'` set (the socket buffer is fixed). */
export type NfqueueInSettings = Omit<InlineOptions, 'socketBuffer'>;

export const nfqueueInSchema: Schema<NfqueueInSettings> = {
  // required: the number must be the one the firewall rule sends to
  queue: { type: 'int', min: 0, max: 65535, required: true, default: 0, label: 'Queue', help: 'the NFQUEUE number, as in the firewall rule\'s --queue-num' },
  defaultVerdict: {
    type: 'enum', values: ['accept', 'drop'], default: 'accept', label: 'Default verdict',
    help: 'for packets without a verdict in time, and those held at close: accept keeps the network working (fail-open), drop keeps it safe (fail-closed)',
  },
  // A home router: a packet the flow lost is let through (or dropped) after 250 ms,
  // short enough that TCP does not retransmit first, long enough for a busy flow.
  timeoutMs: { type: 'int', min: 1, max: 60_000, default: 250, unit: 'ms', label: 'Timeout', help: 'longest a packet waits for its verdict before it gets the default verdict' },
  failOpen: { type: 'bool', default: NFQUEUE_DEFAULTS.failOpen, label: 'Accept when full', help: 'when the queue is full the kernel accepts further packets (fail-open), else it drops them' },
  maxLen: { type: 'int', min: 1, max: 1_000_000, default: NFQUEUE_DEFAULTS.maxLen, unit: 'packets', label: 'Queue length', help: 'most packets the kernel holds for their verdicts' },
  copyRange: { type: 'int', min: 20, max: 65535, default: NFQUEUE_DEFAULTS.copyRange, unit: 'bytes', label: 'Copy bytes', help: 'bytes of each packet copied to Node-RED (headers need about 60)' },
  batchSize: { type: 'int', min: 1, max: MAX_BATCH_ITEMS, default: 1, unit: 'packets', label: 'Batch', help: 'most packets per message; 1 sends each packet alone, not in an array' },
  batchMs: { type: 'number', min: 0, max: 1000, default: 1, unit: 'ms', label: 'Batch time', help: 'longest a packet waits for its batch to fill (shorter than the timeout)' },
};

/** Options of an inline queue from nfqueue-in's settings. */
export function inlineOptions(settings: NfqueueInSettings): InlineOptions {
  return { ...settings, socketBuffer: NFQUEUE_DEFAULTS.socketBuffer };
}

export const INLINE_DEFAULTS: InlineOptions = inlineOptions(defaultsOf(nfqueueInSchema));

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

/** The status line of an inline queue: packets in, accepted, dropped, timed out, and drops the kernel made. */
export function inlineStatsText(s: InlineStats): string {
  const kernelDrops = s.kernel ? s.kernel.queueDropped + s.kernel.userDropped : 0;
  return `${s.queued} in, ${s.accepted} ok, ${s.dropped} drop, ${s.timedOut} timeout${kernelDrops ? `, ${kernelDrops} kernel drop` : ''}`;
}

export class NfqueueInline {
  private opts: InlineOptions;
  private readonly handlers: InlineHandlers;
  private held!: HeldPackets;
  private handle: NfqueueHandle | null = null;
  /** Null in per-packet mode (batch size 1): each packet goes out alone, not as a one-element array. */
  private batcher: Batcher<Packet> | null = null;
  /** start() was called and close() was not: new settings rebind the queue. */
  private wanted = false;
  /** Why the last bind failed, until one succeeds. */
  private failure: Error | null = null;

  constructor(options: InlineOptions, handlers: InlineHandlers) {
    validateInlineOptions(options);
    this.opts = { ...options };
    this.handlers = handlers;
    this.build();
  }

  get options(): InlineOptions {
    return this.opts;
  }

  /** Held packets and the batcher for the current options. */
  private build(): void {
    // Verdicts go to whichever handle is open (none before start and after close).
    const sink: VerdictSink = {
      batches: () => this.handle?.batches() ?? false,
      one: (id, accept) => this.handle?.one(id, accept),
      upTo: (lastId, accept) => this.handle?.upTo(lastId, accept),
      flush: () => {
        try {
          this.handle?.flush();
        } catch (err) {
          this.handlers.error(new Error(`NFQUEUE ${this.opts.queue}: verdict failed: ${(err as Error).message}`));
        }
      },
    };
    const o = this.opts;
    this.held = new HeldPackets(o, sink);
    this.batcher = o.batchSize > 1 ? new Batcher<Packet>({ maxItems: o.batchSize, maxDelayMs: o.batchMs }, (batch) => this.handlers.emit(batch)) : null;
  }

  /** Bind the queue (throws a clear error when it cannot; `bindError` keeps it). */
  start(): void {
    this.wanted = true;
    if (this.handle) return;
    try {
      // A batch goes out as soon as the socket is empty: large under load, no timer wait when traffic is light.
      this.handle = NfqueueHandle.open(this.opts, (raw) => this.onPacket(raw), () => this.batcher?.flush());
      this.failure = null;
    } catch (err) {
      this.failure = err as Error;
      throw err;
    }
  }

  get running(): boolean {
    return this.handle !== null;
  }

  /** Why the queue is not bound although it should be, or null. */
  get bindError(): Error | null {
    return this.handle ? null : this.failure;
  }

  /**
   * New options. Held packets get the default verdict and the queue is
   * rebound with them (counts start again); when the new binding fails, the
   * old options are bound again and the error thrown, so the caller keeps
   * them. Before start, the options are only kept.
   */
  reconfigure(options: InlineOptions): void {
    validateInlineOptions(options);
    const prev = this.opts;
    const rebind = this.wanted;
    this.unbind();
    this.opts = { ...options };
    this.build();
    if (!rebind) return;
    try {
      this.start();
    } catch (err) {
      this.opts = prev;
      this.build();
      try {
        this.start();
      } catch {
        // still unbound: bindError says why
      }
      throw err;
    }
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
    this.wanted = false;
    this.unbind();
  }

  private unbind(): void {
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
