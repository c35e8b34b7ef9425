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
 * Storage is a struct of arrays, not an object per flow, in three tiers of
 * typed-array columns, each tier one ArrayBuffer: FLOW_COLUMNS by slot (what
 * a one-packet flow needs: identity, order, times, counts, the first
 * packet's size, header and flags; 60 bytes), a pool of rows of the full
 * figures a flow takes at its second packet (FULL_COLUMNS, 174 bytes) and a
 * pool of rows of figures few flows need (RARE_COLUMNS, 92 bytes: active and
 * idle periods, bulk totals, URG/ECE/CWR counts). Slots are found through an
 * open-addressing index (linear probing, backward-shift deletion, hashes
 * recomputed from the key; 8 bytes a flow at load ≤ 1/2) and kept in a doubly
 * linked order, stalest first, so expiry and eviction are O(1). 1,000,000
 * concurrent one-packet flows (a scan, a flood) take 68 MB, flows of a few
 * packets both ways 242 MB, flows using every tier 334 MB (npm run bench
 * flow-meter). Buffers double, and past a few MiB jump over glibc's mmap
 * threshold (see MAPPED_BYTES); they never shrink; rows not yet used are not
 * resident.
 *
 * Precision: times after a flow's first packet are whole microseconds
 * (Uint32 offsets from it: exact to its end, since the active timeout is at
 * most 3600 s < 2^32 µs; pcap's and CICFlowMeter's resolution); a packet
 * stamped before the flow's last one counts at that one's time. Sums and
 * sums of squares of payload lengths are exact integers in doubles (up to
 * 2^53), so mean, std and variance are exact and the figures of all packets
 * derive from the two directions. Inter-arrival means are exact (the gaps'
 * sums are times already kept); their std is Welford's M2 in a double with
 * those exact means. Active/idle std keeps Welford's M2 in a float32 (7
 * significant digits).
 */
import type { Packet } from '../../packet/types';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, tcpFlagBits } from '../../packet/tcp-flags';
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
  maxFlows: { type: 'int', min: 1, max: 10_000_000, default: 200_000, unit: 'flows', label: 'Max flows', help: 'flows tracked at once; when full the stalest is ended and sent (about 70 bytes a one-packet flow, at most about 335 bytes a flow with every figure in use)' },
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
type ColType = Float64ArrayConstructor | Float32ArrayConstructor | Uint32ArrayConstructor | Int32ArrayConstructor | Uint16ArrayConstructor | Uint8ArrayConstructor;

/** No value in a Uint32 time column. Offsets stay below it: a flow lasts less than the active timeout, at most 3600 s = 3.6e9 µs. */
const NONE = 0xffffffff;
const RARE_FLAGS = TCP_URG | TCP_ECE | TCP_CWR;

/**
 * Columns of every flow, by slot: what a flow of one packet needs (a scan
 * probe, a flood packet: most flows when a million are open), about 60 bytes.
 */
const FLOW_COLUMNS = {
  start: Float64Array, // absolute µs of the first packet
  prev: Int32Array,
  next: Int32Array,
  src4: Int32Array,
  dst4: Int32Array,
  lastRel: Uint32Array, // µs from the first packet to the last
  reported: Uint32Array, // µs offset of the last interim report
  fwdPkts: Uint32Array,
  bwdPkts: Uint32Array,
  firstSize: Uint32Array, // the first packet's payload bytes
  ext: Int32Array, // the flow's row of FULL_COLUMNS (NIL until its second packet)
  sport: Uint16Array,
  dport: Uint16Array,
  fwdWin: Uint16Array,
  fwdHdrMin: Uint16Array, // the first packet's header length, then the smallest forward one
  state: Uint8Array,
  protoNum: Uint8Array,
  protoIdx: Uint8Array,
  firstFlags: Uint8Array,
} as const;

/**
 * The rest of the running figures, in a pool of rows a flow takes at its
 * second packet (174 bytes). Row 0 is scratch: a one-packet flow's
 * figures are spelled out there to build its record. Times are whole µs
 * offsets from the flow's first packet.
 */
const FULL_COLUMNS = {
  fwdSum: Float64Array,
  bwdSum: Float64Array,
  fwdSq: Float64Array,
  bwdSq: Float64Array,
  iatM2: Float64Array,
  fiatM2: Float64Array,
  biatM2: Float64Array,
  fwdHdr: Uint32Array,
  bwdHdr: Uint32Array,
  fwdData: Uint32Array,
  fin: Uint32Array,
  syn: Uint32Array,
  rst: Uint32Array,
  ack: Uint32Array,
  fwdPsh: Uint32Array,
  bwdPsh: Uint32Array,
  fwdLast: Uint32Array,
  bwdFirst: Uint32Array,
  bwdLast: Uint32Array,
  actStart: Uint32Array, // also the free list's link of a free row
  rare: Int32Array, // the flow's row of RARE_COLUMNS (NIL until its first idle period or bulk)
  iatMin: Uint32Array,
  iatMax: Uint32Array,
  fiatMin: Uint32Array,
  fiatMax: Uint32Array,
  biatMin: Uint32Array,
  biatMax: Uint32Array,
  bulkStart0: Uint32Array,
  bulkStart1: Uint32Array,
  bulkLast0: Uint32Array,
  bulkLast1: Uint32Array,
  bulkCandBytes0: Uint32Array,
  bulkCandBytes1: Uint32Array,
  fwdMin: Uint16Array,
  fwdMax: Uint16Array,
  bwdMin: Uint16Array,
  bwdMax: Uint16Array,
  subflows: Uint16Array, // at most 3601: gaps over 1 s in a flow shorter than the active timeout (≤ 3600 s)
  bwdWin: Uint16Array,
  bulkCand0: Uint8Array, // packets of the candidate bulk, saturating at 255
  bulkCand1: Uint8Array,
} as const;

/**
 * Figures few flows need, in a third pool of rows: active and idle periods
 * (a flow with a pause over the activity timeout, 5 s), bulk totals (a flow
 * that sent 4 data packets one way within 1 s) and the counts of the flags
 * seldom set (URG, ECE, CWR). 92 bytes. Row 0 stays empty: it stands
 * for a flow without such a row.
 */
const RARE_COLUMNS = {
  bulkBytes0: Float64Array,
  bulkBytes1: Float64Array,
  actN: Uint32Array, // also the free list's link of a free row
  actMin: Uint32Array,
  actMax: Uint32Array,
  idlN: Uint32Array,
  idlSum: Uint32Array,
  idlMin: Uint32Array,
  idlMax: Uint32Array,
  bulkCount0: Uint32Array,
  bulkCount1: Uint32Array,
  bulkPkts0: Uint32Array,
  bulkPkts1: Uint32Array,
  bulkDur0: Uint32Array,
  bulkDur1: Uint32Array,
  ece: Uint32Array,
  cwr: Uint32Array,
  fwdUrg: Uint32Array,
  bwdUrg: Uint32Array,
  actM2: Float32Array,
  idlM2: Float32Array,
} as const;

type Columns<S> = { -readonly [K in keyof S]: S[K] extends Float64ArrayConstructor ? Float64Array : S[K] extends Float32ArrayConstructor ? Float32Array : S[K] extends Uint32ArrayConstructor ? Uint32Array : S[K] extends Int32ArrayConstructor ? Int32Array : S[K] extends Uint16ArrayConstructor ? Uint16Array : Uint8Array };

/**
 * The columns as an object of a class with every field declared, so it has a
 * fast shape: the same object built by adding fifty properties one by one
 * would fall into dictionary mode, a hash lookup per column access.
 */
class FlowCols implements Columns<typeof FLOW_COLUMNS> {
  start!: Float64Array;
  prev!: Int32Array;
  next!: Int32Array;
  src4!: Int32Array;
  dst4!: Int32Array;
  lastRel!: Uint32Array;
  reported!: Uint32Array;
  fwdPkts!: Uint32Array;
  bwdPkts!: Uint32Array;
  firstSize!: Uint32Array;
  ext!: Int32Array;
  sport!: Uint16Array;
  dport!: Uint16Array;
  fwdWin!: Uint16Array;
  fwdHdrMin!: Uint16Array;
  state!: Uint8Array;
  protoNum!: Uint8Array;
  protoIdx!: Uint8Array;
  firstFlags!: Uint8Array;
}

class FullCols implements Columns<typeof FULL_COLUMNS> {
  fwdSum!: Float64Array;
  bwdSum!: Float64Array;
  fwdSq!: Float64Array;
  bwdSq!: Float64Array;
  iatM2!: Float64Array;
  fiatM2!: Float64Array;
  biatM2!: Float64Array;
  fwdHdr!: Uint32Array;
  bwdHdr!: Uint32Array;
  fwdData!: Uint32Array;
  fin!: Uint32Array;
  syn!: Uint32Array;
  rst!: Uint32Array;
  ack!: Uint32Array;
  fwdPsh!: Uint32Array;
  bwdPsh!: Uint32Array;
  fwdLast!: Uint32Array;
  bwdFirst!: Uint32Array;
  bwdLast!: Uint32Array;
  actStart!: Uint32Array;
  rare!: Int32Array;
  iatMin!: Uint32Array;
  iatMax!: Uint32Array;
  fiatMin!: Uint32Array;
  fiatMax!: Uint32Array;
  biatMin!: Uint32Array;
  biatMax!: Uint32Array;
  bulkStart0!: Uint32Array;
  bulkStart1!: Uint32Array;
  bulkLast0!: Uint32Array;
  bulkLast1!: Uint32Array;
  bulkCandBytes0!: Uint32Array;
  bulkCandBytes1!: Uint32Array;
  fwdMin!: Uint16Array;
  fwdMax!: Uint16Array;
  bwdMin!: Uint16Array;
  bwdMax!: Uint16Array;
  subflows!: Uint16Array;
  bwdWin!: Uint16Array;
  bulkCand0!: Uint8Array;
  bulkCand1!: Uint8Array;
}

class RareCols implements Columns<typeof RARE_COLUMNS> {
  bulkBytes0!: Float64Array;
  bulkBytes1!: Float64Array;
  actN!: Uint32Array;
  actMin!: Uint32Array;
  actMax!: Uint32Array;
  idlN!: Uint32Array;
  idlSum!: Uint32Array;
  idlMin!: Uint32Array;
  idlMax!: Uint32Array;
  bulkCount0!: Uint32Array;
  bulkCount1!: Uint32Array;
  bulkPkts0!: Uint32Array;
  bulkPkts1!: Uint32Array;
  bulkDur0!: Uint32Array;
  bulkDur1!: Uint32Array;
  ece!: Uint32Array;
  cwr!: Uint32Array;
  fwdUrg!: Uint32Array;
  bwdUrg!: Uint32Array;
  actM2!: Float32Array;
  idlM2!: Float32Array;
}

/**
 * `spec`'s columns of `size` rows as views of ONE ArrayBuffer (the widest
 * first, so every view is aligned), the first `rows` rows copied from `old`.
 * One large allocation is mapped and unmapped whole by the allocator, so the
 * buffer a growth step replaces goes back to the system instead of leaving
 * holes in the heap, as fifty separate columns regrown would.
 */
function layout<S extends Record<string, ColType>, C extends Columns<S>>(spec: S, Cls: new () => C, size: number, old?: C, rows = 0): C {
  const names = Object.keys(spec).sort((a, b) => spec[b].BYTES_PER_ELEMENT - spec[a].BYTES_PER_ELEMENT);
  let bytes = 0;
  for (const n of names) bytes += spec[n].BYTES_PER_ELEMENT * size;
  const buffer = new ArrayBuffer(bytes);
  const out = new Cls() as unknown as Record<string, Col>;
  let at = 0;
  for (const n of names) {
    const col = new (spec[n] as unknown as new (b: ArrayBuffer, at: number, n: number) => Col)(buffer, at, size);
    if (old !== undefined && rows > 0) col.set((old as unknown as Record<string, Col>)[n].subarray(0, rows));
    out[n] = col;
    at += spec[n].BYTES_PER_ELEMENT * size;
  }
  return out as unknown as C;
}

/** Bytes of a set of columns (they share one buffer). */
const bytesOf = (cols: object): number => ((Object.values(cols)[0] as Col | undefined)?.buffer.byteLength ?? 0);

/**
 * Above 32 MiB (its largest mmap threshold) glibc's malloc gives every
 * allocation its own mapping, returned to the system when freed; smaller
 * ones may come from the heap, where a replaced buffer stays resident as a
 * hole. A fresh mapping's pages are not resident until written, so rows
 * allocated but not yet used cost address space, not memory. So a table
 * starts at 1024 rows and doubles while small (a meter of a few thousand
 * flows stays small); past JUMP_BYTES it takes a buffer just over
 * MAPPED_BYTES (or its cap) and doubles on: its RSS follows the rows in use,
 * and a replaced buffer goes back to the system.
 */
const MAPPED_BYTES = 33 * 2 ** 20;
const JUMP_BYTES = 4 * 2 ** 20;

/** Rows of the next buffer of a table of `rowBytes`-byte rows growing from `room` towards `cap`. */
function nextRows(room: number, rowBytes: number, cap: number): number {
  const want = room === 0 ? 1024 : room * 2 * rowBytes < JUMP_BYTES ? room * 2 : Math.max(room * 2, Math.ceil(MAPPED_BYTES / rowBytes));
  return Math.max(room + 1, Math.min(cap, want));
}

const rowBytes = (spec: Readonly<Record<string, ColType>>): number => Object.values(spec).reduce((n, c) => n + c.BYTES_PER_ELEMENT, 0);
const FLOW_ROW = rowBytes(FLOW_COLUMNS);
const FULL_ROW = rowBytes(FULL_COLUMNS);
const RARE_ROW = rowBytes(RARE_COLUMNS);

/** Sample standard deviation from Welford's M2 (CICFlowMeter's commons-math SummaryStatistics is bias-corrected too). */
const stdOf = (m2: number, n: number): number => (n > 1 ? Math.sqrt(Math.max(0, m2) / (n - 1)) : 0);

/**
 * Welford's update of M2 with the means known exactly: `sum` of the `n − 1`
 * values before `v`. The running sums of inter-arrival times are times
 * already kept (a flow's gaps add up to its last packet's offset), so only
 * M2 needs a column.
 */
const m2Step = (sum: number, n: number, v: number): number => {
  const d = v - (n > 1 ? sum / (n - 1) : 0);
  return d * (v - (sum + v) / n);
};

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
  /** Rows of FULL_COLUMNS: allocated, free list (linked through actStart), high-water mark (row 0 is scratch). */
  private xRoom = 0;
  private xHigh = 1;
  private xFree = NIL;
  /** Rows of RARE_COLUMNS, likewise (linked through actN; row 0 stays empty). */
  private qRoom = 0;
  private qHigh = 1;
  private qFree = NIL;
  /** Addresses as text of the flows that are not IPv4 (few), by slot: a Map, so IPv4 flows pay nothing for them. */
  private texts = new Map<number, [string, string]>();
  /** The proto text of each flow, as an index into `protoNames` (a handful of distinct values). */
  private protoNames: string[] = [];
  private f: FlowCols;
  private x: FullCols;
  private q: RareCols;
  private bulkStart: Uint32Array[] = [];
  private bulkLast: Uint32Array[] = [];
  private bulkCand: Uint8Array[] = [];
  private bulkCandBytes: Uint32Array[] = [];
  private bulkCount: Uint32Array[] = [];
  private bulkPkts: Uint32Array[] = [];
  private bulkBytes: Float64Array[] = [];
  private bulkDur: Uint32Array[] = [];

  readonly stats: FlowMeterStats = { packets: 0, skipped: 0, records: 0, interim: 0, evictions: 0, absorbed: 0, active: 0 };
  /** Latest packet time seen (ms), for expiry between packets. */
  lastPacketTs = 0;

  constructor(settings: Partial<FlowMeterSettings> = {}) {
    this.settings = applySettings(flowMeterSchema, defaultsOf(flowMeterSchema), settings);
    this.applyTimes();
    this.f = layout(FLOW_COLUMNS, FlowCols, 0);
    this.x = layout(FULL_COLUMNS, FullCols, 1);
    this.xRoom = 1;
    this.q = layout(RARE_COLUMNS, RareCols, 1);
    this.qRoom = 1;
    this.emptyRare(0);
    this.bindBulk();
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

  private bindBulk(): void {
    const { x, q } = this;
    this.bulkStart = [x.bulkStart0, x.bulkStart1];
    this.bulkLast = [x.bulkLast0, x.bulkLast1];
    this.bulkCand = [x.bulkCand0, x.bulkCand1];
    this.bulkCandBytes = [x.bulkCandBytes0, x.bulkCandBytes1];
    this.bulkCount = [q.bulkCount0, q.bulkCount1];
    this.bulkPkts = [q.bulkPkts0, q.bulkPkts1];
    this.bulkBytes = [q.bulkBytes0, q.bulkBytes1];
    this.bulkDur = [q.bulkDur0, q.bulkDur1];
  }

  /** Forget every flow (nothing is sent) and zero the counters. */
  reset(): void {
    this.index.fill(0);
    this.f.state.fill(FREE);
    this.texts.clear();
    this.highWater = 0;
    this.count = 0;
    this.freeHead = this.head = this.tail = this.closedHead = this.closedTail = NIL;
    this.xHigh = this.qHigh = 1;
    this.xFree = this.qFree = NIL;
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
    const { start, lastRel } = this.f;
    while (this.closedHead !== NIL && start[this.closedHead] + lastRel[this.closedHead] + this.activityUs <= now) this.release(this.closedHead);
    while (this.head !== NIL && start[this.head] + lastRel[this.head] + this.idleUs <= now) {
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
    let f = this.f;
    if (e !== NIL && f.state[e] === CLOSED) {
      // A new connection on the same ports starts a new flow; anything else is the old one's tail.
      if ((bits & (TCP_SYN | TCP_ACK)) !== TCP_SYN) {
        this.stats.absorbed++;
        return;
      }
      this.release(e);
      e = NIL;
    }
    if (e !== NIL && t - f.start[e] >= this.activeUs) {
      out.push(this.record(e, 'active'));
      this.release(e);
      e = NIL;
    }
    if (e === NIL) {
      e = this.open(h, out);
      f = this.f; // open() may have grown the columns
      this.init(e, t, s4, d4, sText, dText, sp, dp, pn, p.proto);
    }
    const forward = f.sport[e] === sp && f.dport[e] === dp && (v4 ? f.src4[e] === s4 && f.dst4[e] === d4 : this.texts.get(e)?.[0] === sText && this.texts.get(e)?.[1] === dText);
    // Whole µs from the flow's first packet (a capture's resolution); a packet stamped before the flow's last one counts at that one's time.
    let rel = Math.round(t - f.start[e]);
    if (rel < f.lastRel[e]) rel = f.lastRel[e];
    this.add(e, p, rel, forward, bits);
    if (bits & TCP_RST) return this.close(e, 'rst', out);
    if (bits & TCP_FIN) {
      f.state[e] |= forward ? 4 : 8;
      if ((f.state[e] & 12) === 12) return this.close(e, 'fin', out);
    }
    if (this.reportUs > 0 && rel - f.reported[e] >= this.reportUs) {
      f.reported[e] = rel;
      out.push(this.record(e, 'interim'));
      this.stats.interim++;
    }
    this.moveToTail(e);
  }

  /** The index hash of flow `e`, as `meter` computes it from a packet. */
  private hashOf(e: number): number {
    const f = this.f;
    const t = f.src4[e] === 0 ? this.texts.get(e) : undefined;
    return (endHash(f.src4[e], t?.[0], f.sport[e]) + endHash(f.dst4[e], t?.[1], f.dport[e]) + f.protoNum[e]) | 0;
  }

  private find(h: number, s4: number, d4: number, sText: string | undefined, dText: string | undefined, sp: number, dp: number, pn: number): number {
    if (this.index.length === 0) return NIL;
    const { src4, dst4, sport, dport, protoNum } = this.f;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const slot = this.index[i];
      if (slot === 0) return NIL;
      const e = slot - 1;
      if (protoNum[e] !== pn) continue;
      if (sText === undefined) {
        if ((src4[e] === s4 && sport[e] === sp && dst4[e] === d4 && dport[e] === dp) || (src4[e] === d4 && sport[e] === dp && dst4[e] === s4 && dport[e] === sp)) {
          if (src4[e] === 0 && this.texts.has(e)) continue;
          return e;
        }
      } else if (src4[e] === 0) {
        const t = this.texts.get(e);
        if (t !== undefined && ((t[0] === sText && sport[e] === sp && t[1] === dText && dport[e] === dp) || (t[0] === dText && sport[e] === dp && t[1] === sText && dport[e] === sp))) return e;
      }
    }
  }

  /** A free slot indexed under hash `h` (evicting first when the table is full), linked at the tail. */
  private open(h: number, out: FlowRecord[]): number {
    if (this.count >= this.settings.maxFlows) this.evictOne(out);
    let e: number;
    if (this.freeHead !== NIL) {
      e = this.freeHead;
      this.freeHead = this.f.next[e];
    } else {
      if (this.highWater === this.room) this.grow();
      e = this.highWater++;
    }
    this.count++;
    this.stats.active = this.count;
    if (this.count * 2 > this.index.length) this.reindex(Math.max(2048, this.index.length * 2));
    let i = h & this.mask;
    while (this.index[i] !== 0) i = (i + 1) & this.mask;
    this.index[i] = e + 1;
    const f = this.f;
    f.prev[e] = this.tail;
    f.next[e] = NIL;
    if (this.tail !== NIL) f.next[this.tail] = e;
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
    return this.index.byteLength + bytesOf(this.f) + bytesOf(this.x) + bytesOf(this.q);
  }

  /** Bytes of the rows in use (what is resident: a buffer's rows beyond them are address space only). */
  get usedBytes(): number {
    return this.index.byteLength + this.highWater * FLOW_ROW + this.xHigh * FULL_ROW + this.qHigh * RARE_ROW;
  }

  /** Flows holding a row of the full figures (those past their first packet). */
  get fullRows(): number {
    let free = 0;
    for (let r = this.xFree; r !== NIL; r = this.x.actStart[r] | 0) free++;
    return this.xHigh - 1 - free;
  }

  /** Flows holding a row of the rare figures (idle periods, bulks, URG/ECE/CWR). */
  get rareRows(): number {
    let free = 0;
    for (let k = this.qFree; k !== NIL; k = this.q.actN[k] | 0) free++;
    return this.qHigh - 1 - free;
  }

  private grow(): void {
    const size = nextRows(this.room, FLOW_ROW, this.settings.maxFlows);
    this.f = layout(FLOW_COLUMNS, FlowCols, size, this.f, this.highWater);
    this.room = size;
  }

  /** The index at `isize` entries (a power of two, at least twice the flows: every entry is touched, so it grows with them), rebuilt from the live slots. */
  private reindex(isize: number): void {
    this.index = new Int32Array(isize);
    this.mask = isize - 1;
    const state = this.f.state;
    for (let e = 0; e < this.highWater; e++) {
      if (state[e] === FREE) continue;
      let i = this.hashOf(e) & this.mask;
      while (this.index[i] !== 0) i = (i + 1) & this.mask;
      this.index[i] = e + 1;
    }
  }

  /** A row of the full figures for a flow at its second packet. */
  private allocRow(): number {
    const r = this.xFree;
    if (r !== NIL) {
      this.xFree = this.x.actStart[r] | 0;
      return r;
    }
    if (this.xHigh === this.xRoom) {
      const size = nextRows(this.xRoom === 1 ? 0 : this.xRoom, FULL_ROW, this.settings.maxFlows + 1);
      this.x = layout(FULL_COLUMNS, FullCols, size, this.x, this.xHigh);
      this.xRoom = size;
      this.bindBulk();
    }
    return this.xHigh++;
  }

  /** A row of the rare figures for full row `r` (its first idle period or bulk), empty. */
  private rareRow(r: number): number {
    let k = this.qFree;
    if (k !== NIL) {
      this.qFree = this.q.actN[k] | 0;
    } else {
      if (this.qHigh === this.qRoom) {
        const size = nextRows(this.qRoom === 1 ? 0 : this.qRoom, RARE_ROW, this.settings.maxFlows + 1);
        this.q = layout(RARE_COLUMNS, RareCols, size, this.q, this.qHigh);
        this.qRoom = size;
        this.bindBulk();
      }
      k = this.qHigh++;
    }
    this.emptyRare(k);
    this.x.rare[r] = k;
    return k;
  }

  private emptyRare(k: number): void {
    const q = this.q;
    q.actN[k] = q.actMax[k] = q.idlN[k] = q.idlSum[k] = q.idlMax[k] = 0;
    q.actMin[k] = q.idlMin[k] = NONE;
    q.actM2[k] = q.idlM2[k] = 0;
    q.bulkBytes0[k] = q.bulkBytes1[k] = 0;
    q.bulkCount0[k] = q.bulkCount1[k] = q.bulkPkts0[k] = q.bulkPkts1[k] = q.bulkDur0[k] = q.bulkDur1[k] = 0;
    q.ece[k] = q.cwr[k] = q.fwdUrg[k] = q.bwdUrg[k] = 0;
  }

  /** Give flow `e`'s rows back (it ended or closed). */
  private freeRow(e: number): void {
    const r = this.f.ext[e];
    if (r === NIL) return;
    const k = this.x.rare[r];
    if (k !== NIL) {
      this.q.actN[k] = this.qFree;
      this.qFree = k;
    }
    this.x.actStart[r] = this.xFree;
    this.xFree = r;
    this.f.ext[e] = NIL;
  }

  private unlink(e: number): void {
    const f = this.f;
    const closed = (f.state[e] & 3) === CLOSED;
    const p = f.prev[e];
    const n = f.next[e];
    if (p !== NIL) f.next[p] = n;
    else if (closed) this.closedHead = n;
    else this.head = n;
    if (n !== NIL) f.prev[n] = p;
    else if (closed) this.closedTail = p;
    else this.tail = p;
  }

  private moveToTail(e: number): void {
    if (this.tail === e) return;
    const f = this.f;
    this.unlink(e);
    f.prev[e] = this.tail;
    f.next[e] = NIL;
    if (this.tail !== NIL) f.next[this.tail] = e;
    else this.head = e;
    this.tail = e;
  }

  /** Send the flow's record, then keep it as a tombstone (its identity and last time only) until the activity timeout. */
  private close(e: number, reason: 'fin' | 'rst', out: FlowRecord[]): void {
    out.push(this.record(e, reason));
    this.freeRow(e);
    this.unlink(e);
    const f = this.f;
    f.state[e] = CLOSED;
    f.prev[e] = this.closedTail;
    f.next[e] = NIL;
    if (this.closedTail !== NIL) f.next[this.closedTail] = e;
    else this.closedHead = e;
    this.closedTail = e;
  }

  /** Remove slot `e` from the index and its order list and put it on the free list. */
  private release(e: number): void {
    this.unlink(e);
    this.freeRow(e);
    // Backward-shift deletion keeps every probe sequence unbroken.
    let i = this.hashOf(e) & this.mask;
    while (this.index[i] !== e + 1) i = (i + 1) & this.mask;
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      const slot = this.index[j];
      if (slot === 0) break;
      const home = this.hashOf(slot - 1) & this.mask;
      if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
        this.index[i] = slot;
        i = j;
      }
    }
    this.index[i] = 0;
    const f = this.f;
    f.state[e] = FREE;
    if (f.src4[e] === 0) this.texts.delete(e);
    f.next[e] = this.freeHead;
    this.freeHead = e;
    this.count--;
    this.stats.active = this.count;
  }

  private init(e: number, t: number, s4: number, d4: number, sText: string | undefined, dText: string | undefined, sp: number, dp: number, pn: number, proto: string): void {
    const f = this.f;
    f.state[e] = OPEN;
    f.src4[e] = s4;
    f.dst4[e] = d4;
    if (sText !== undefined) this.texts.set(e, [sText, dText ?? '']);
    f.sport[e] = sp;
    f.dport[e] = dp;
    f.protoNum[e] = pn;
    let pi = this.protoNames.indexOf(proto);
    if (pi < 0) pi = this.protoNames.push(proto) - 1;
    // More than 255 distinct protocol texts cannot happen (IP has 256 protocol numbers); the last slot is shared if it did.
    f.protoIdx[e] = Math.min(pi, 255);
    f.start[e] = t;
    f.lastRel[e] = f.reported[e] = 0;
    f.fwdPkts[e] = f.bwdPkts[e] = 0;
    f.firstSize[e] = f.fwdHdrMin[e] = f.firstFlags[e] = f.fwdWin[e] = 0;
    f.ext[e] = NIL;
  }

  /** Row `r` of the full figures as they stand after flow `e`'s first packet (always forward, at offset 0). */
  private initRow(r: number, e: number): void {
    const f = this.f;
    const x = this.x;
    const size = f.firstSize[e];
    const hdr = f.fwdHdrMin[e];
    const bits = f.firstFlags[e];
    x.fwdSum[r] = size;
    x.fwdSq[r] = size * size;
    x.bwdSum[r] = x.bwdSq[r] = 0;
    x.fwdMin[r] = Math.min(size, 0xffff);
    x.fwdMax[r] = size;
    x.bwdMin[r] = 0xffff;
    x.bwdMax[r] = 0;
    x.fwdHdr[r] = hdr;
    x.bwdHdr[r] = 0;
    x.fwdData[r] = size > 0 ? 1 : 0;
    x.bwdWin[r] = 0;
    x.fin[r] = bits & TCP_FIN ? 1 : 0;
    x.syn[r] = bits & TCP_SYN ? 1 : 0;
    x.rst[r] = bits & TCP_RST ? 1 : 0;
    x.ack[r] = bits & TCP_ACK ? 1 : 0;
    x.fwdPsh[r] = bits & TCP_PSH ? 1 : 0;
    x.bwdPsh[r] = 0;
    x.subflows[r] = 1;
    x.fwdLast[r] = x.bwdFirst[r] = x.bwdLast[r] = x.actStart[r] = 0;
    x.iatM2[r] = x.fiatM2[r] = x.biatM2[r] = 0;
    x.iatMin[r] = x.fiatMin[r] = x.biatMin[r] = NONE;
    x.iatMax[r] = x.fiatMax[r] = x.biatMax[r] = 0;
    x.rare[r] = NIL;
    for (let d = 0; d < 2; d++) {
      // The first packet, if it carried data, is the forward direction's candidate bulk.
      const data = d === 0 && size > 0;
      this.bulkStart[d][r] = this.bulkLast[d][r] = data ? 0 : NONE;
      this.bulkCand[d][r] = data ? 1 : 0;
      this.bulkCandBytes[d][r] = data ? size : 0;
    }
    // Row 0 is the scratch row of a one-packet flow's record, which counts these flags itself.
    if (r !== 0 && bits & RARE_FLAGS) this.rareFlags(this.rareRow(r), bits, true);
  }

  private rareFlags(k: number, bits: number, forward: boolean): void {
    const q = this.q;
    if (bits & TCP_ECE) q.ece[k]++;
    if (bits & TCP_CWR) q.cwr[k]++;
    if (bits & TCP_URG) (forward ? q.fwdUrg : q.bwdUrg)[k]++;
  }

  /** Add packet `p` at offset `rel` (µs, not before the flow's last packet) to flow `e`. */
  private add(e: number, p: Packet, rel: number, forward: boolean, bits: number): void {
    const f = this.f;
    // Payload bytes on the wire: a capture cut by its snaplen lost them from the payload's end.
    const size = p.payload.length + (p.len > p.caplen ? p.len - p.caplen : 0);
    const hdr = p.l4HeaderLen ?? 0;
    const n = f.fwdPkts[e] + f.bwdPkts[e];
    if (n === 0) {
      // The first packet (forward by definition): a few columns of the flow's own; the full figures wait for a second one.
      f.fwdPkts[e] = 1;
      f.firstSize[e] = size;
      f.fwdHdrMin[e] = hdr;
      f.firstFlags[e] = bits;
      if (p.window !== undefined) f.fwdWin[e] = p.window;
      return;
    }
    let r = f.ext[e];
    if (r === NIL) {
      r = f.ext[e] = this.allocRow();
      this.initRow(r, e);
    }
    const x = this.x;
    // Inter-arrival time: this is gap number n, and the n gaps add up to rel.
    const last = f.lastRel[e];
    const gap = rel - last;
    x.iatM2[r] += m2Step(last, n, gap);
    if (gap < x.iatMin[r]) x.iatMin[r] = gap;
    if (gap > x.iatMax[r]) x.iatMax[r] = gap;
    if (gap > GAP_US) x.subflows[r]++;
    // Active and idle periods, split at gaps longer than the activity timeout.
    if (gap > this.activityUs) {
      this.pause(r, last - x.actStart[r], gap);
      x.actStart[r] = rel;
    }
    f.lastRel[e] = rel;
    if (bits !== 0) {
      if (bits & TCP_FIN) x.fin[r]++;
      if (bits & TCP_SYN) x.syn[r]++;
      if (bits & TCP_RST) x.rst[r]++;
      if (bits & TCP_ACK) x.ack[r]++;
      if (bits & RARE_FLAGS) this.rareFlags(x.rare[r] === NIL ? this.rareRow(r) : x.rare[r], bits, forward);
    }
    this.bulk(r, forward ? 0 : 1, rel, size);
    if (forward) {
      // The forward gaps add up to the last forward packet's offset (the first packet is forward, at 0).
      const k = f.fwdPkts[e]++;
      const fl = x.fwdLast[r];
      const g = rel - fl;
      x.fiatM2[r] += m2Step(fl, k, g);
      if (g < x.fiatMin[r]) x.fiatMin[r] = g;
      if (g > x.fiatMax[r]) x.fiatMax[r] = g;
      x.fwdLast[r] = rel;
      x.fwdSum[r] += size;
      x.fwdSq[r] += size * size;
      if (size < x.fwdMin[r]) x.fwdMin[r] = size;
      if (size > x.fwdMax[r]) x.fwdMax[r] = size;
      x.fwdHdr[r] += hdr;
      if (hdr < f.fwdHdrMin[e]) f.fwdHdrMin[e] = hdr;
      if (size > 0) x.fwdData[r]++;
      if (bits & TCP_PSH) x.fwdPsh[r]++;
    } else {
      const k = f.bwdPkts[e]++;
      if (k > 0) {
        const g = rel - x.bwdLast[r];
        x.biatM2[r] += m2Step(x.bwdLast[r] - x.bwdFirst[r], k, g);
        if (g < x.biatMin[r]) x.biatMin[r] = g;
        if (g > x.biatMax[r]) x.biatMax[r] = g;
      } else {
        x.bwdFirst[r] = rel;
        if (p.window !== undefined) x.bwdWin[r] = p.window;
      }
      x.bwdLast[r] = rel;
      x.bwdSum[r] += size;
      x.bwdSq[r] += size * size;
      if (size < x.bwdMin[r]) x.bwdMin[r] = size;
      if (size > x.bwdMax[r]) x.bwdMax[r] = size;
      x.bwdHdr[r] += hdr;
      if (bits & TCP_PSH) x.bwdPsh[r]++;
    }
  }

  /** The pause of `gap` µs after the active period of `active` µs (0: a lone packet) that ended at full row `r`'s actStart. */
  private pause(r: number, active: number, gap: number): void {
    const k = this.x.rare[r] === NIL ? this.rareRow(r) : this.x.rare[r];
    const q = this.q;
    if (active > 0) {
      // The active periods so far add up to actStart − the idle sum.
      const n = ++q.actN[k];
      q.actM2[k] += m2Step(this.x.actStart[r] - q.idlSum[k], n, active);
      if (active < q.actMin[k]) q.actMin[k] = active;
      if (active > q.actMax[k]) q.actMax[k] = active;
    }
    const n = ++q.idlN[k];
    q.idlM2[k] += m2Step(q.idlSum[k], n, gap);
    q.idlSum[k] += gap;
    if (gap < q.idlMin[k]) q.idlMin[k] = gap;
    if (gap > q.idlMax[k]) q.idlMax[k] = gap;
  }

  /** CICFlowMeter's bulk: 4+ data packets one way with gaps up to 1 s and no bulk of the other direction started in between. */
  private bulk(r: number, dir: number, rel: number, size: number): void {
    const start = this.bulkStart[dir];
    const lastTs = this.bulkLast[dir];
    const otherLast = this.bulkLast[1 - dir][r];
    if (otherLast !== NONE && start[r] !== NONE && otherLast > start[r]) start[r] = NONE;
    if (size <= 0) return;
    const cand = this.bulkCand[dir];
    const candBytes = this.bulkCandBytes[dir];
    if (start[r] === NONE || rel - lastTs[r] > GAP_US) {
      start[r] = rel;
      lastTs[r] = rel;
      cand[r] = 1;
      candBytes[r] = size;
      return;
    }
    const n = cand[r] + 1;
    if (n < 256) cand[r] = n;
    if (n <= BULK_PACKETS) candBytes[r] += size;
    if (n >= BULK_PACKETS) {
      const k = this.x.rare[r] === NIL ? this.rareRow(r) : this.x.rare[r];
      if (n === BULK_PACKETS) {
        this.bulkCount[dir][k]++;
        this.bulkPkts[dir][k] += n;
        this.bulkBytes[dir][k] += candBytes[r];
        this.bulkDur[dir][k] += rel - start[r];
      } else {
        this.bulkPkts[dir][k]++;
        this.bulkBytes[dir][k] += size;
        this.bulkDur[dir][k] += rel - lastTs[r];
      }
    }
    lastTs[r] = rel;
  }

  /** The record of flow `e` as it stands. */
  private record(e: number, reason: FlowEndReason): FlowRecord {
    this.stats.records++;
    const f = this.f;
    const x = this.x;
    let r = f.ext[e];
    // One packet so far: its figures spelled out in the scratch row (but the seldom-set flags, counted here).
    const one = r === NIL ? f.firstFlags[e] : 0;
    if (r === NIL) {
      r = 0;
      this.initRow(0, e);
    }
    const nf = f.fwdPkts[e];
    const nb = f.bwdPkts[e];
    const n = nf + nb;
    const dur = f.lastRel[e];
    const perS = dur > 0 ? 1e6 / dur : 0;
    const fs = x.fwdSum[r];
    const bs = x.bwdSum[r];
    const lenVar = (s: number, q: number, k: number): number => (k > 1 ? Math.max(0, (q - (s * s) / k) / (k - 1)) : 0);
    const allVar = lenVar(fs + bs, x.fwdSq[r] + x.bwdSq[r], n);
    // Active/idle as of now: the period under way counts as active (CICFlowMeter's endActiveIdleTime).
    const k = x.rare[r] === NIL ? 0 : x.rare[r];
    const q = this.q;
    let actN = q.actN[k];
    let actSum = x.actStart[r] - q.idlSum[k];
    let actM2 = q.actM2[k];
    let actMin = q.actMin[k];
    let actMax = q.actMax[k];
    const current = dur - x.actStart[r];
    if (current > 0) {
      actN++;
      actM2 += m2Step(actSum, actN, current);
      actSum += current;
      actMin = Math.min(actMin, current);
      actMax = Math.max(actMax, current);
    }
    const idlN = q.idlN[k];
    const sub = x.subflows[r];
    const bulkAvg = (d: number): [number, number, number] => {
      const c = this.bulkCount[d][k];
      const dus = this.bulkDur[d][k];
      const bytes = this.bulkBytes[d][k];
      return c > 0 ? [bytes / c, this.bulkPkts[d][k] / c, dus > 0 ? (bytes * 1e6) / dus : 0] : [0, 0, 0];
    };
    const [fbB, fbP, fbR] = bulkAvg(0);
    const [bbB, bbP, bbR] = bulkAvg(1);
    const fMean = nf > 0 ? fs / nf : 0;
    const bMean = nb > 0 ? bs / nb : 0;
    const fiat = nf > 1;
    const biat = nb > 1;
    const fTotal = x.fwdLast[r];
    const bTotal = x.bwdLast[r] - x.bwdFirst[r];
    const values: number[] = [
      f.protoNum[e],
      dur,
      nf,
      nb,
      fs,
      bs,
      nf > 0 ? x.fwdMax[r] : 0,
      nf > 0 ? x.fwdMin[r] : 0,
      fMean,
      Math.sqrt(lenVar(fs, x.fwdSq[r], nf)),
      nb > 0 ? x.bwdMax[r] : 0,
      nb > 0 ? x.bwdMin[r] : 0,
      bMean,
      Math.sqrt(lenVar(bs, x.bwdSq[r], nb)),
      (fs + bs) * perS,
      n * perS,
      n > 1 ? dur / (n - 1) : 0,
      stdOf(x.iatM2[r], n - 1),
      n > 1 ? x.iatMax[r] : 0,
      n > 1 ? x.iatMin[r] : 0,
      fiat ? fTotal : 0,
      fiat ? fTotal / (nf - 1) : 0,
      stdOf(x.fiatM2[r], nf - 1),
      fiat ? x.fiatMax[r] : 0,
      fiat ? x.fiatMin[r] : 0,
      biat ? bTotal : 0,
      biat ? bTotal / (nb - 1) : 0,
      stdOf(x.biatM2[r], nb - 1),
      biat ? x.biatMax[r] : 0,
      biat ? x.biatMin[r] : 0,
      x.fwdPsh[r],
      x.bwdPsh[r],
      q.fwdUrg[k] + (one & TCP_URG ? 1 : 0),
      q.bwdUrg[k],
      x.fwdHdr[r],
      x.bwdHdr[r],
      nf * perS,
      nb * perS,
      n > 0 ? Math.min(nf > 0 ? x.fwdMin[r] : Infinity, nb > 0 ? x.bwdMin[r] : Infinity) : 0,
      Math.max(nf > 0 ? x.fwdMax[r] : 0, nb > 0 ? x.bwdMax[r] : 0),
      n > 0 ? (fs + bs) / n : 0,
      Math.sqrt(allVar),
      allVar,
      x.fin[r],
      x.syn[r],
      x.rst[r],
      x.fwdPsh[r] + x.bwdPsh[r],
      x.ack[r],
      q.fwdUrg[k] + q.bwdUrg[k] + (one & TCP_URG ? 1 : 0),
      q.cwr[k] + (one & TCP_CWR ? 1 : 0),
      q.ece[k] + (one & TCP_ECE ? 1 : 0),
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
      f.fwdWin[e],
      x.bwdWin[r],
      x.fwdData[r],
      nf > 0 ? f.fwdHdrMin[e] : 0,
      actN > 0 ? actSum / actN : 0,
      actN > 1 ? Math.sqrt(Math.max(0, actM2) / (actN - 1)) : 0,
      actN > 0 ? actMax : 0,
      actN > 0 ? actMin : 0,
      idlN > 0 ? q.idlSum[k] / idlN : 0,
      idlN > 1 ? Math.sqrt(Math.max(0, q.idlM2[k]) / (idlN - 1)) : 0,
      idlN > 0 ? q.idlMax[k] : 0,
      idlN > 0 ? q.idlMin[k] : 0,
    ];
    const features = {} as Record<FlowFeatureName, number>;
    for (let i = 0; i < FLOW_FEATURES.length; i++) features[FLOW_FEATURES[i]] = values[i];
    const t = f.src4[e] === 0 ? this.texts.get(e) : undefined;
    const src = t ? t[0] : ipv4Text(f.src4[e]);
    const dst = t ? t[1] : ipv4Text(f.dst4[e]);
    const sport = f.sport[e];
    const dport = f.dport[e];
    const record: FlowRecord = {
      flowId: `${src}-${dst}-${sport}-${dport}-${f.protoNum[e]}`,
      src,
      sport,
      dst,
      dport,
      proto: this.protoNames[f.protoIdx[e]],
      start: f.start[e] / 1000,
      end: (f.start[e] + dur) / 1000,
      reason,
      features,
    };
    // The same values in FLOW_FEATURES order, hidden from JSON and debug, on the record (a small object, quick to
    // look up; `features` is in dictionary mode): flow-classify reads them by index instead of 77 lookups by name.
    // A cloned message loses them; names still work.
    Object.defineProperty(record, FEATURE_VALUES, { value: values, enumerable: false });
    return record;
  }
}

function ipv4Text(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
