/**
 * flow-meter's engine: bidirectional flows from packets, and CICFlowMeter's
 * features of each flow when it ends (features.ts, docs/flow-features.md).
 *
 * A flow is keyed by the 5-tuple in both directions; its first packet's
 * sender is the forward direction. It ends on RST, on FIN seen in both
 * directions, after `idleTimeoutS` without packets, after `activeTimeoutS`
 * from its first packet (CICFlowMeter's 120 s flow timeout; the next packet
 * starts a new flow), or when the table is full and it is the stalest
 * (evicted flows are sent, never lost). A flow closed by FIN or RST stays
 * `activityTimeoutS` (5 s) as a tombstone that absorbs the last ACKs and
 * retransmitted FINs, so they do not open one-packet flows (CICFlowMeter
 * makes those); a SYN on it starts a new flow. Every time is packet time.
 *
 * Storage is a struct of arrays, not an object per flow: one typed-array
 * column per running figure, indexed by slot, found through an open-addressing
 * index (linear probing, backward-shift deletion) and kept in a doubly linked
 * order, stalest first, so expiry and eviction are O(1). Sums and sums of
 * squares of payload lengths are exact integers in doubles (up to 2^53), so
 * mean, std and variance are exact and the figures of all packets derive from
 * the two directions; inter-arrival times use Welford's update. Times after a
 * flow's first packet are float32 microsecond offsets from it (exact to 1 µs
 * for 16 s, 8 µs at the 120 s timeout). About 375 bytes a flow: 1,000,000
 * concurrent flows in about 375 MB (npm run bench flow-meter). Columns grow
 * by doubling up to the cap and never shrink.
 */
import type { Packet } from '../../packet/types';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, tcpFlagBits } from '../../packet/tcp-flags';
import { defaultsOf, applySettings, type Schema } from '../../base/settings';
import { fmix } from '../table';
import { FEATURE_VALUES, FLOW_FEATURES, type FlowEndReason, type FlowFeatureName, type FlowRecord } from './features';

export interface FlowMeterSettings {
  activeTimeoutS: number;
  idleTimeoutS: number;
  activityTimeoutS: number;
  reportIntervalS: number;
  maxFlows: number;
}

export const flowMeterSchema: Schema<FlowMeterSettings> = {
  activeTimeoutS: { type: 'number', min: 1, max: 3600, default: 120, unit: 's', label: 'Active timeout', help: "a flow is ended this long after its first packet and the next packet starts a new one (CICFlowMeter's flow timeout)" },
  idleTimeoutS: { type: 'number', min: 1, max: 3600, default: 120, unit: 's', label: 'Idle timeout', help: 'a flow without packets this long is ended (lower it to judge quiet UDP flows sooner)' },
  activityTimeoutS: { type: 'number', min: 0.001, max: 600, default: 5, unit: 's', label: 'Activity timeout', help: "a gap this long splits a flow's active and idle periods (CICFlowMeter's activity timeout); a flow closed by FIN or RST absorbs its last packets this long" },
  reportIntervalS: { type: 'number', min: 0, max: 3600, default: 0, unit: 's', label: 'Interim reports', help: 'send a record of a flow still open every this many seconds of its packets (0: only when it ends)' },
  maxFlows: { type: 'int', min: 1, max: 10_000_000, default: 200_000, unit: 'flows', label: 'Max flows', help: 'flows tracked at once; when full the stalest is ended and sent (about 375 bytes a flow)' },
};

export interface FlowMeterStats {
  packets: number;
  /** Packets not metered: no IP (ARP and other link-layer traffic). */
  skipped: number;
  /** Records sent: ended flows and interim reports. */
  records: number;
  interim: number;
  /** Flows ended early because the table was full (sent, with reason 'evicted'). */
  evictions: number;
  /** Packets absorbed by a flow closed by FIN or RST. */
  absorbed: number;
  /** Flows open now. */
  active: number;
}

const NIL = -1;
const FREE = 0;
const OPEN = 1;
const CLOSED = 2;
/** CICFlowMeter's bulk: at least 4 data packets one way, gaps at most 1 s. Its subflows split at gaps over 1 s. */
const BULK_PACKETS = 4;
const GAP_US = 1_000_000;
const PROTO_NUMBERS: Readonly<Record<string, number>> = { icmp: 1, tcp: 6, udp: 17, icmp6: 58 };

function protoNumber(proto: string): number {
  const n = PROTO_NUMBERS[proto];
  if (n !== undefined) return n;
  return proto.startsWith('ip-') ? Number(proto.slice(3)) || 0 : 0;
}

function hashText(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** Hash of one end (address, port): the same whichever way the packet goes once the two are added. */
function endHash(addr4: number, text: string | undefined, port: number): number {
  return fmix((text === undefined ? addr4 : hashText(text)) ^ Math.imul(port + 1, 0x9e3779b1));
}

type Col = Float64Array | Float32Array | Uint32Array | Int32Array | Uint16Array | Uint8Array;

function grown<T extends Col>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

/** Sample standard deviation from Welford's M2 (CICFlowMeter's commons-math SummaryStatistics is bias-corrected too). */
const stdOf = (m2: number, n: number): number => (n > 1 ? Math.sqrt(Math.max(0, m2) / (n - 1)) : 0);

export class FlowMeter {
  private settings: FlowMeterSettings;
  private activeUs = 0;
  private idleUs = 0;
  private activityUs = 0;
  private reportUs = 0;
  private room = 0;
  private highWater = 0;
  private count = 0;
  private freeHead = NIL;
  /** Open flows, stalest first, and closed ones (tombstones) in closing order. */
  private head = NIL;
  private tail = NIL;
  private closedHead = NIL;
  private closedTail = NIL;
  private index = new Int32Array(0);
  private mask = 0;
  private hash = new Int32Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private state = new Uint8Array(0);
  // Identity: forward source and destination; text only for non-IPv4 (IPv4 as numbers).
  private src4 = new Int32Array(0);
  private dst4 = new Int32Array(0);
  /** Addresses as text of the flows that are not IPv4 (few), by slot: a Map, so IPv4 flows pay nothing for them. */
  private texts = new Map<number, [string, string]>();
  private sport = new Uint16Array(0);
  private dport = new Uint16Array(0);
  private protoNum = new Uint8Array(0);
  /** The proto text of each flow, as an index into `protoNames` (a handful of distinct values). */
  private protoIdx = new Uint8Array(0);
  private protoNames: string[] = [];
  // Times: absolute µs for the first and last packet, float32 µs offsets from the first for the rest.
  private start = new Float64Array(0);
  private last = new Float64Array(0);
  private fwdLast = new Float32Array(0);
  private bwdLast = new Float32Array(0);
  private actStart = new Float32Array(0);
  private actEnd = new Float32Array(0);
  private reported = new Float32Array(0);
  // Counts and payload-length sums per direction (exact integers).
  private fwdPkts = new Uint32Array(0);
  private bwdPkts = new Uint32Array(0);
  private fwdSum = new Float64Array(0);
  private bwdSum = new Float64Array(0);
  private fwdSq = new Float64Array(0);
  private bwdSq = new Float64Array(0);
  private fwdMin = new Uint16Array(0);
  private fwdMax = new Uint16Array(0);
  private bwdMin = new Uint16Array(0);
  private bwdMax = new Uint16Array(0);
  private fwdHdr = new Uint32Array(0);
  private bwdHdr = new Uint32Array(0);
  private fwdHdrMin = new Uint16Array(0);
  private fwdData = new Uint32Array(0);
  private fwdWin = new Int32Array(0);
  private bwdWin = new Int32Array(0);
  // Inter-arrival times (µs): Welford mean and M2, min and max; flow, forward, backward.
  private iatMean = new Float64Array(0);
  private iatM2 = new Float64Array(0);
  private iatMin = new Float32Array(0);
  private iatMax = new Float32Array(0);
  private fiatMean = new Float64Array(0);
  private fiatM2 = new Float64Array(0);
  private fiatMin = new Float32Array(0);
  private fiatMax = new Float32Array(0);
  private biatMean = new Float64Array(0);
  private biatM2 = new Float64Array(0);
  private biatMin = new Float32Array(0);
  private biatMax = new Float32Array(0);
  // Active and idle periods (µs): count, Welford mean and M2, min, max.
  private actN = new Uint32Array(0);
  private actMean = new Float32Array(0);
  private actM2 = new Float32Array(0);
  private actMin = new Float32Array(0);
  private actMax = new Float32Array(0);
  private idlN = new Uint32Array(0);
  private idlMean = new Float32Array(0);
  private idlM2 = new Float32Array(0);
  private idlMin = new Float32Array(0);
  private idlMax = new Float32Array(0);
  // TCP flags: per flag bit 0..7 one column; PSH and URG per direction too.
  private flagCols: Uint32Array[] = [];
  private fwdPsh = new Uint32Array(0);
  private bwdPsh = new Uint32Array(0);
  private fwdUrg = new Uint32Array(0);
  private bwdUrg = new Uint32Array(0);
  private subflows = new Uint32Array(0);
  // Bulk state per direction (0 forward, 1 backward): start and last packet of the candidate bulk (NaN: none), its packets and bytes, and the totals.
  private bulkStart = [new Float32Array(0), new Float32Array(0)];
  private bulkLast = [new Float32Array(0), new Float32Array(0)];
  private bulkCandPkts = [new Uint32Array(0), new Uint32Array(0)];
  private bulkCandBytes = [new Uint32Array(0), new Uint32Array(0)];
  private bulkCount = [new Uint32Array(0), new Uint32Array(0)];
  private bulkPkts = [new Uint32Array(0), new Uint32Array(0)];
  private bulkBytes = [new Float64Array(0), new Float64Array(0)];
  private bulkDur = [new Float32Array(0), new Float32Array(0)];

  readonly stats: FlowMeterStats = { packets: 0, skipped: 0, records: 0, interim: 0, evictions: 0, absorbed: 0, active: 0 };
  /** Latest packet time seen (ms), for expiry between packets. */
  lastPacketTs = 0;

  constructor(settings: Partial<FlowMeterSettings> = {}) {
    this.settings = applySettings(flowMeterSchema, defaultsOf(flowMeterSchema), settings);
    this.applyTimes();
    for (let b = 0; b < 8; b++) this.flagCols.push(new Uint32Array(0));
  }

  get config(): Readonly<FlowMeterSettings> {
    return this.settings;
  }

  /** New settings (a partial object, checked against the schema as a whole); a lower maxFlows ends the stalest flows into `out`. */
  configure(patch: unknown, out: FlowRecord[] = []): void {
    this.settings = applySettings(flowMeterSchema, this.settings, patch);
    this.applyTimes();
    while (this.count > this.settings.maxFlows) this.evictOne(out);
  }

  private applyTimes(): void {
    const s = this.settings;
    this.activeUs = s.activeTimeoutS * 1e6;
    this.idleUs = s.idleTimeoutS * 1e6;
    this.activityUs = s.activityTimeoutS * 1e6;
    this.reportUs = s.reportIntervalS * 1e6;
  }

  /** Forget every flow (nothing is sent) and zero the counters. */
  reset(): void {
    this.index.fill(0);
    this.state.fill(FREE);
    this.texts.clear();
    this.highWater = 0;
    this.count = 0;
    this.freeHead = this.head = this.tail = this.closedHead = this.closedTail = NIL;
    for (const k of Object.keys(this.stats) as (keyof FlowMeterStats)[]) this.stats[k] = 0;
    this.lastPacketTs = 0;
  }

  /** Meter `packets`; records of flows that ended (or reported) go into `out`, in order. */
  process(packets: readonly Packet[], out: FlowRecord[]): void {
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i];
      this.stats.packets++;
      if (p.ip === 0) {
        this.stats.skipped++;
        continue;
      }
      if (p.ts > this.lastPacketTs) this.lastPacketTs = p.ts;
      this.meter(p, out);
    }
    this.expire(this.lastPacketTs, out);
  }

  /** End flows idle past the idle timeout and drop old tombstones, as of packet time `nowMs`. */
  expire(nowMs: number, out: FlowRecord[]): void {
    const now = nowMs * 1000;
    while (this.closedHead !== NIL && this.last[this.closedHead] + this.activityUs <= now) this.release(this.closedHead);
    while (this.head !== NIL && this.last[this.head] + this.idleUs <= now) {
      const e = this.head;
      out.push(this.record(e, 'idle'));
      this.release(e);
    }
  }

  /** End every open flow (end of a capture, a flush request), oldest first. */
  flush(out: FlowRecord[]): void {
    while (this.head !== NIL) {
      const e = this.head;
      out.push(this.record(e, 'flush'));
      this.release(e);
    }
    while (this.closedHead !== NIL) this.release(this.closedHead);
  }

  private meter(p: Packet, out: FlowRecord[]): void {
    const t = p.ts * 1000;
    const v4 = p.ip === 4 && p.src4 !== undefined && p.dst4 !== undefined;
    const s4 = v4 ? (p.src4 as number) : 0;
    const d4 = v4 ? (p.dst4 as number) : 0;
    const sText = v4 ? undefined : p.src;
    const dText = v4 ? undefined : p.dst;
    const sp = p.sport ?? 0;
    const dp = p.dport ?? 0;
    const pn = protoNumber(p.proto);
    const h = (endHash(s4, sText, sp) + endHash(d4, dText, dp) + pn) | 0;
    // Packets built by hand (a function node) may carry only the flag letters.
    const bits = p.flagBits ?? (p.flags !== undefined ? tcpFlagBits(p.flags) : 0);
    let e = this.find(h, s4, d4, sText, dText, sp, dp, pn);
    if (e !== NIL && this.state[e] === CLOSED) {
      // A new connection on the same ports starts a new flow; anything else is the old one's tail.
      if ((bits & (TCP_SYN | TCP_ACK)) !== TCP_SYN) {
        this.stats.absorbed++;
        return;
      }
      this.release(e);
      e = NIL;
    }
    if (e !== NIL && t - this.start[e] >= this.activeUs) {
      out.push(this.record(e, 'active'));
      this.release(e);
      e = NIL;
    }
    if (e === NIL) {
      e = this.open(h, out);
      this.init(e, t, s4, d4, sText, dText, sp, dp, pn, p.proto);
    }
    const forward = this.sport[e] === sp && this.dport[e] === dp && (v4 ? this.src4[e] === s4 && this.dst4[e] === d4 : this.texts.get(e)?.[0] === sText && this.texts.get(e)?.[1] === dText);
    this.add(e, p, t, forward, bits);
    if (bits & TCP_RST) return this.close(e, 'rst', out);
    if (bits & TCP_FIN) {
      this.state[e] |= forward ? 4 : 8;
      if ((this.state[e] & 12) === 12) return this.close(e, 'fin', out);
    }
    if (this.reportUs > 0 && t - this.start[e] - this.reported[e] >= this.reportUs) {
      this.reported[e] = t - this.start[e];
      out.push(this.record(e, 'interim'));
      this.stats.interim++;
    }
    this.moveToTail(e);
  }

  private find(h: number, s4: number, d4: number, sText: string | undefined, dText: string | undefined, sp: number, dp: number, pn: number): number {
    if (this.room === 0) return NIL;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const slot = this.index[i];
      if (slot === 0) return NIL;
      const e = slot - 1;
      if (this.hash[e] !== h || this.protoNum[e] !== pn) continue;
      if (sText === undefined) {
        if (this.src4[e] === 0 && this.texts.has(e)) continue;
        if ((this.src4[e] === s4 && this.sport[e] === sp && this.dst4[e] === d4 && this.dport[e] === dp) || (this.src4[e] === d4 && this.sport[e] === dp && this.dst4[e] === s4 && this.dport[e] === sp)) return e;
      } else {
        const t = this.texts.get(e);
        if (t !== undefined && ((t[0] === sText && this.sport[e] === sp && t[1] === dText && this.dport[e] === dp) || (t[0] === dText && this.sport[e] === dp && t[1] === sText && this.dport[e] === sp))) return e;
      }
    }
  }

  /** A free slot indexed under hash `h` (evicting first when the table is full), linked at the tail. */
  private open(h: number, out: FlowRecord[]): number {
    if (this.count >= this.settings.maxFlows) this.evictOne(out);
    let e: number;
    if (this.freeHead !== NIL) {
      e = this.freeHead;
      this.freeHead = this.next[e];
    } else {
      if (this.highWater === this.room) this.grow();
      e = this.highWater++;
    }
    this.count++;
    this.stats.active = this.count;
    this.hash[e] = h;
    let i = h & this.mask;
    while (this.index[i] !== 0) i = (i + 1) & this.mask;
    this.index[i] = e + 1;
    this.prev[e] = this.tail;
    this.next[e] = NIL;
    if (this.tail !== NIL) this.next[this.tail] = e;
    else this.head = e;
    this.tail = e;
    return e;
  }

  /** Make room: drop the oldest tombstone, else end the stalest open flow with reason 'evicted'. */
  private evictOne(out: FlowRecord[]): void {
    if (this.closedHead !== NIL) return this.release(this.closedHead);
    const e = this.head;
    if (e === NIL) return;
    out.push(this.record(e, 'evicted'));
    this.stats.evictions++;
    this.release(e);
  }

  /** Bytes of the typed-array columns and index (what the flows cost; the few non-IPv4 address texts aside). */
  get columnBytes(): number {
    let total = this.index.byteLength;
    for (const col of Object.values(this) as unknown[]) {
      if (ArrayBuffer.isView(col) && col !== this.index) total += col.byteLength;
      else if (Array.isArray(col) && col.length > 0 && ArrayBuffer.isView(col[0])) for (const c of col as Col[]) total += c.byteLength;
    }
    return total;
  }

  private grow(): void {
    const size = Math.min(Math.max(1024, this.room * 2), Math.max(this.settings.maxFlows, this.room + 1));
    for (const key of Object.keys(this) as (keyof this)[]) {
      const col = this[key] as unknown;
      if (ArrayBuffer.isView(col) && key !== 'index') (this as Record<string, unknown>)[key as string] = grown(col as Col, size);
      else if (Array.isArray(col) && col.length > 0 && ArrayBuffer.isView(col[0])) (this as Record<string, unknown>)[key as string] = (col as Col[]).map((c) => grown(c, size));
    }
    this.room = size;
    // The index: a power of two at least twice the room, rebuilt from the live slots.
    let isize = 1;
    while (isize < size * 2) isize *= 2;
    this.index = new Int32Array(isize);
    this.mask = isize - 1;
    for (let e = 0; e < this.highWater; e++) {
      if (this.state[e] === FREE) continue;
      let i = this.hash[e] & this.mask;
      while (this.index[i] !== 0) i = (i + 1) & this.mask;
      this.index[i] = e + 1;
    }
  }

  private unlink(e: number): void {
    const closed = (this.state[e] & 3) === CLOSED;
    const p = this.prev[e];
    const n = this.next[e];
    if (p !== NIL) this.next[p] = n;
    else if (closed) this.closedHead = n;
    else this.head = n;
    if (n !== NIL) this.prev[n] = p;
    else if (closed) this.closedTail = p;
    else this.tail = p;
  }

  private moveToTail(e: number): void {
    if (this.tail === e) return;
    this.unlink(e);
    this.prev[e] = this.tail;
    this.next[e] = NIL;
    if (this.tail !== NIL) this.next[this.tail] = e;
    else this.head = e;
    this.tail = e;
  }

  /** Send the flow's record, then keep it as a tombstone until the activity timeout. */
  private close(e: number, reason: 'fin' | 'rst', out: FlowRecord[]): void {
    out.push(this.record(e, reason));
    this.unlink(e);
    this.state[e] = CLOSED;
    this.prev[e] = this.closedTail;
    this.next[e] = NIL;
    if (this.closedTail !== NIL) this.next[this.closedTail] = e;
    else this.closedHead = e;
    this.closedTail = e;
  }

  /** Remove slot `e` from the index and its order list and put it on the free list. */
  private release(e: number): void {
    this.unlink(e);
    // Backward-shift deletion keeps every probe sequence unbroken.
    let i = this.hash[e] & this.mask;
    while (this.index[i] !== e + 1) i = (i + 1) & this.mask;
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      const slot = this.index[j];
      if (slot === 0) break;
      const home = this.hash[slot - 1] & this.mask;
      if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
        this.index[i] = slot;
        i = j;
      }
    }
    this.index[i] = 0;
    this.state[e] = FREE;
    if (this.src4[e] === 0) this.texts.delete(e);
    this.next[e] = this.freeHead;
    this.freeHead = e;
    this.count--;
    this.stats.active = this.count;
  }

  private init(e: number, t: number, s4: number, d4: number, sText: string | undefined, dText: string | undefined, sp: number, dp: number, pn: number, proto: string): void {
    this.state[e] = OPEN;
    this.src4[e] = s4;
    this.dst4[e] = d4;
    if (sText !== undefined) this.texts.set(e, [sText, dText ?? '']);
    this.sport[e] = sp;
    this.dport[e] = dp;
    this.protoNum[e] = pn;
    let pi = this.protoNames.indexOf(proto);
    if (pi < 0) pi = this.protoNames.push(proto) - 1;
    // More than 255 distinct protocol texts cannot happen (IP has 256 protocol numbers); the last slot is shared if it did.
    this.protoIdx[e] = Math.min(pi, 255);
    this.start[e] = t;
    this.last[e] = t;
    this.actStart[e] = this.actEnd[e] = this.reported[e] = 0;
    this.fwdLast[e] = this.bwdLast[e] = 0;
    this.fwdPkts[e] = this.bwdPkts[e] = 0;
    this.fwdSum[e] = this.bwdSum[e] = this.fwdSq[e] = this.bwdSq[e] = 0;
    this.fwdMin[e] = this.bwdMin[e] = 0xffff;
    this.fwdMax[e] = this.bwdMax[e] = 0;
    this.fwdHdr[e] = this.bwdHdr[e] = this.fwdData[e] = 0;
    this.fwdHdrMin[e] = 0xffff;
    this.fwdWin[e] = this.bwdWin[e] = 0;
    this.iatMean[e] = this.iatM2[e] = this.fiatMean[e] = this.fiatM2[e] = this.biatMean[e] = this.biatM2[e] = 0;
    this.iatMin[e] = this.fiatMin[e] = this.biatMin[e] = Infinity;
    this.iatMax[e] = this.fiatMax[e] = this.biatMax[e] = 0;
    this.actN[e] = this.idlN[e] = 0;
    this.actMean[e] = this.actM2[e] = this.idlMean[e] = this.idlM2[e] = 0;
    this.actMin[e] = this.idlMin[e] = Infinity;
    this.actMax[e] = this.idlMax[e] = 0;
    for (let b = 0; b < 8; b++) this.flagCols[b][e] = 0;
    this.fwdPsh[e] = this.bwdPsh[e] = this.fwdUrg[e] = this.bwdUrg[e] = 0;
    this.subflows[e] = 1;
    for (let d = 0; d < 2; d++) {
      this.bulkStart[d][e] = this.bulkLast[d][e] = NaN;
      this.bulkCandPkts[d][e] = this.bulkCandBytes[d][e] = this.bulkCount[d][e] = this.bulkPkts[d][e] = 0;
      this.bulkBytes[d][e] = this.bulkDur[d][e] = 0;
    }
  }

  /** Add packet `p` at time `t` (µs) to flow `e`. */
  private add(e: number, p: Packet, t: number, forward: boolean, bits: number): void {
    const rel = t - this.start[e];
    const first = this.fwdPkts[e] + this.bwdPkts[e] === 0;
    // Payload bytes on the wire: a capture cut by its snaplen lost them from the payload's end.
    const size = p.payload.length + (p.len > p.caplen ? p.len - p.caplen : 0);
    const hdr = p.l4HeaderLen ?? 0;
    if (!first) {
      const gap = t - this.last[e];
      const n = this.fwdPkts[e] + this.bwdPkts[e]; // gaps so far + 1
      const d = gap - this.iatMean[e];
      this.iatMean[e] += d / n;
      this.iatM2[e] += d * (gap - this.iatMean[e]);
      if (gap < this.iatMin[e]) this.iatMin[e] = gap;
      if (gap > this.iatMax[e]) this.iatMax[e] = gap;
      if (gap > GAP_US) this.subflows[e]++;
      // Active and idle periods, split at gaps longer than the activity timeout.
      if (gap > this.activityUs) {
        const active = this.actEnd[e] - this.actStart[e];
        if (active > 0) this.period(e, active, true);
        this.period(e, gap, false);
        this.actStart[e] = rel;
      }
      this.actEnd[e] = rel;
    }
    this.last[e] = t;
    for (let b = 0; b < 8; b++) if (bits & (1 << b)) this.flagCols[b][e]++;
    const dir = forward ? 0 : 1;
    this.bulk(e, dir, rel, size);
    if (forward) {
      const n = ++this.fwdPkts[e];
      if (n > 1) {
        const gap = rel - this.fwdLast[e];
        const d = gap - this.fiatMean[e];
        this.fiatMean[e] += d / (n - 1);
        this.fiatM2[e] += d * (gap - this.fiatMean[e]);
        if (gap < this.fiatMin[e]) this.fiatMin[e] = gap;
        if (gap > this.fiatMax[e]) this.fiatMax[e] = gap;
      } else if (p.window !== undefined) {
        this.fwdWin[e] = p.window;
      }
      this.fwdLast[e] = rel;
      this.fwdSum[e] += size;
      this.fwdSq[e] += size * size;
      if (size < this.fwdMin[e]) this.fwdMin[e] = size;
      if (size > this.fwdMax[e]) this.fwdMax[e] = size;
      this.fwdHdr[e] += hdr;
      if (hdr < this.fwdHdrMin[e]) this.fwdHdrMin[e] = hdr;
      if (size > 0) this.fwdData[e]++;
      if (bits & TCP_PSH) this.fwdPsh[e]++;
      if (bits & TCP_URG) this.fwdUrg[e]++;
    } else {
      const n = ++this.bwdPkts[e];
      if (n > 1) {
        const gap = rel - this.bwdLast[e];
        const d = gap - this.biatMean[e];
        this.biatMean[e] += d / (n - 1);
        this.biatM2[e] += d * (gap - this.biatMean[e]);
        if (gap < this.biatMin[e]) this.biatMin[e] = gap;
        if (gap > this.biatMax[e]) this.biatMax[e] = gap;
      } else if (p.window !== undefined) {
        this.bwdWin[e] = p.window;
      }
      this.bwdLast[e] = rel;
      this.bwdSum[e] += size;
      this.bwdSq[e] += size * size;
      if (size < this.bwdMin[e]) this.bwdMin[e] = size;
      if (size > this.bwdMax[e]) this.bwdMax[e] = size;
      this.bwdHdr[e] += hdr;
      if (bits & TCP_PSH) this.bwdPsh[e]++;
      if (bits & TCP_URG) this.bwdUrg[e]++;
    }
  }

  /** One active (or idle) period of `us` microseconds. */
  private period(e: number, us: number, active: boolean): void {
    const N = active ? this.actN : this.idlN;
    const mean = active ? this.actMean : this.idlMean;
    const m2 = active ? this.actM2 : this.idlM2;
    const min = active ? this.actMin : this.idlMin;
    const max = active ? this.actMax : this.idlMax;
    const n = ++N[e];
    const d = us - mean[e];
    mean[e] += d / n;
    m2[e] += d * (us - mean[e]);
    if (us < min[e]) min[e] = us;
    if (us > max[e]) max[e] = us;
  }

  /** CICFlowMeter's bulk: 4+ data packets one way with gaps up to 1 s and no bulk of the other direction started in between. */
  private bulk(e: number, dir: number, rel: number, size: number): void {
    const other = 1 - dir;
    const start = this.bulkStart[dir];
    const lastTs = this.bulkLast[dir];
    if (this.bulkLast[other][e] > start[e]) start[e] = NaN;
    if (size <= 0) return;
    const candPkts = this.bulkCandPkts[dir];
    const candBytes = this.bulkCandBytes[dir];
    if (start[e] !== start[e] || rel - lastTs[e] > GAP_US) {
      start[e] = rel;
      lastTs[e] = rel;
      candPkts[e] = 1;
      candBytes[e] = size;
      return;
    }
    const n = ++candPkts[e];
    candBytes[e] += size;
    if (n === BULK_PACKETS) {
      this.bulkCount[dir][e]++;
      this.bulkPkts[dir][e] += n;
      this.bulkBytes[dir][e] += candBytes[e];
      this.bulkDur[dir][e] += rel - start[e];
    } else if (n > BULK_PACKETS) {
      this.bulkPkts[dir][e]++;
      this.bulkBytes[dir][e] += size;
      this.bulkDur[dir][e] += rel - lastTs[e];
    }
    lastTs[e] = rel;
  }

  /** The record of flow `e` as it stands. */
  private record(e: number, reason: FlowEndReason): FlowRecord {
    this.stats.records++;
    const nf = this.fwdPkts[e];
    const nb = this.bwdPkts[e];
    const n = nf + nb;
    const dur = this.last[e] - this.start[e];
    const perS = dur > 0 ? 1e6 / dur : 0;
    const fs = this.fwdSum[e];
    const bs = this.bwdSum[e];
    const lenVar = (s: number, q: number, k: number): number => (k > 1 ? Math.max(0, (q - (s * s) / k) / (k - 1)) : 0);
    const allVar = lenVar(fs + bs, this.fwdSq[e] + this.bwdSq[e], n);
    // Active/idle as of now: the period under way counts as active (CICFlowMeter's endActiveIdleTime).
    let actN = this.actN[e];
    let actMean = this.actMean[e];
    let actM2 = this.actM2[e];
    let actMin = this.actMin[e];
    let actMax = this.actMax[e];
    const current = this.actEnd[e] - this.actStart[e];
    if (current > 0) {
      actN++;
      const d = current - actMean;
      actMean += d / actN;
      actM2 += d * (current - actMean);
      actMin = Math.min(actMin, current);
      actMax = Math.max(actMax, current);
    }
    const idlN = this.idlN[e];
    const f = this.flagCols;
    const sub = this.subflows[e];
    const bulkAvg = (d: number): [number, number, number] => {
      const c = this.bulkCount[d][e];
      const dus = this.bulkDur[d][e];
      return c > 0 ? [this.bulkBytes[d][e] / c, this.bulkPkts[d][e] / c, dus > 0 ? (this.bulkBytes[d][e] * 1e6) / dus : 0] : [0, 0, 0];
    };
    const [fbB, fbP, fbR] = bulkAvg(0);
    const [bbB, bbP, bbR] = bulkAvg(1);
    const fMean = nf > 0 ? fs / nf : 0;
    const bMean = nb > 0 ? bs / nb : 0;
    const fiat = nf > 1;
    const biat = nb > 1;
    const values: number[] = [
      this.protoNum[e],
      dur,
      nf,
      nb,
      fs,
      bs,
      nf > 0 ? this.fwdMax[e] : 0,
      nf > 0 ? this.fwdMin[e] : 0,
      fMean,
      Math.sqrt(lenVar(fs, this.fwdSq[e], nf)),
      nb > 0 ? this.bwdMax[e] : 0,
      nb > 0 ? this.bwdMin[e] : 0,
      bMean,
      Math.sqrt(lenVar(bs, this.bwdSq[e], nb)),
      (fs + bs) * perS,
      n * perS,
      n > 1 ? this.iatMean[e] : 0,
      stdOf(this.iatM2[e], n - 1),
      n > 1 ? this.iatMax[e] : 0,
      n > 1 ? this.iatMin[e] : 0,
      fiat ? this.fiatMean[e] * (nf - 1) : 0,
      fiat ? this.fiatMean[e] : 0,
      stdOf(this.fiatM2[e], nf - 1),
      fiat ? this.fiatMax[e] : 0,
      fiat ? this.fiatMin[e] : 0,
      biat ? this.biatMean[e] * (nb - 1) : 0,
      biat ? this.biatMean[e] : 0,
      stdOf(this.biatM2[e], nb - 1),
      biat ? this.biatMax[e] : 0,
      biat ? this.biatMin[e] : 0,
      this.fwdPsh[e],
      this.bwdPsh[e],
      this.fwdUrg[e],
      this.bwdUrg[e],
      this.fwdHdr[e],
      this.bwdHdr[e],
      nf * perS,
      nb * perS,
      n > 0 ? Math.min(nf > 0 ? this.fwdMin[e] : Infinity, nb > 0 ? this.bwdMin[e] : Infinity) : 0,
      Math.max(nf > 0 ? this.fwdMax[e] : 0, nb > 0 ? this.bwdMax[e] : 0),
      n > 0 ? (fs + bs) / n : 0,
      Math.sqrt(allVar),
      allVar,
      f[0][e],
      f[1][e],
      f[2][e],
      f[3][e],
      f[4][e],
      f[5][e],
      f[7][e],
      f[6][e],
      nf > 0 ? nb / nf : 0,
      n > 0 ? (fs + bs) / n : 0,
      fMean,
      bMean,
      fbB,
      fbP,
      fbR,
      bbB,
      bbP,
      bbR,
      nf / sub,
      fs / sub,
      nb / sub,
      bs / sub,
      this.fwdWin[e],
      this.bwdWin[e],
      this.fwdData[e],
      nf > 0 ? this.fwdHdrMin[e] : 0,
      actN > 0 ? actMean : 0,
      actN > 1 ? Math.sqrt(Math.max(0, actM2) / (actN - 1)) : 0,
      actN > 0 ? actMax : 0,
      actN > 0 ? actMin : 0,
      idlN > 0 ? this.idlMean[e] : 0,
      idlN > 1 ? Math.sqrt(Math.max(0, this.idlM2[e]) / (idlN - 1)) : 0,
      idlN > 0 ? this.idlMax[e] : 0,
      idlN > 0 ? this.idlMin[e] : 0,
    ];
    const features = {} as Record<FlowFeatureName, number>;
    for (let i = 0; i < FLOW_FEATURES.length; i++) features[FLOW_FEATURES[i]] = values[i];
    // The same values in FLOW_FEATURES order, hidden from JSON and debug: flow-classify reads them by index
    // instead of 77 lookups by name in an object that size (in dictionary mode). A cloned message loses it; names still work.
    Object.defineProperty(features, FEATURE_VALUES, { value: values, enumerable: false });
    const t = this.src4[e] === 0 ? this.texts.get(e) : undefined;
    const src = t ? t[0] : ipv4Text(this.src4[e]);
    const dst = t ? t[1] : ipv4Text(this.dst4[e]);
    const sport = this.sport[e];
    const dport = this.dport[e];
    return {
      flowId: `${src}-${dst}-${sport}-${dport}-${this.protoNum[e]}`,
      src,
      sport,
      dst,
      dport,
      proto: this.protoNames[this.protoIdx[e]],
      start: this.start[e] / 1000,
      end: this.last[e] / 1000,
      reason,
      features,
    };
  }
}

function ipv4Text(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
