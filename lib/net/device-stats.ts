/**
 * Per-flow bookkeeping over successive conntrack listings → per-device
 * byte totals and rates. Each flow (keyed by conntrack id, or its original
 * tuple) remembers its last counters: a live flow adds current - last, a
 * new flow adds its whole counters, a counter that went down (reset or id
 * reuse) adds its current value, and a flow that ended adds its final
 * counters when a DESTROY event delivered them — otherwise the bytes it
 * moved after the last poll are lost (at most one interval's worth of an
 * ending flow). Totals never go backwards.
 */
import type { CidrSet } from '../base/cidr';
import type { ConntrackEntry } from './conntrack';
import type { DeviceStats, FlowRecord } from './types';

interface FlowState {
  device: string;
  /** The device's state (saves a map lookup per flow per poll). */
  dev: DeviceState;
  /** True when the device is the original source (it sent the first packet). */
  deviceIsOrig: boolean;
  origBytes: number;
  replyBytes: number;
  origPackets: number;
  replyPackets: number;
  start: number;
  gen: number;
  entry: ConntrackEntry;
}

interface DeviceState {
  ip: string;
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  /** Bytes since the previous poll. */
  rxDelta: number;
  txDelta: number;
  flows: number;
  lastSeen: number;
}

/** Device stats with packet counts (an extension of the DeviceStats contract). */
export interface DeviceTraffic extends DeviceStats {
  rxPackets: number;
  txPackets: number;
}

export interface PollResult {
  devices: DeviceTraffic[];
  /** Flows first seen in this poll (on the first poll: every flow). */
  started: FlowRecord[];
  /** Flows that ended since the previous poll. */
  ended: FlowRecord[];
  /** Every live flow of a LAN device (when collectActive is on). */
  active: FlowRecord[];
}

export interface DeviceBookOptions {
  /** The LAN: devices are addresses inside it. */
  lan: CidrSet;
  /** Addresses that are not devices (the router's own LAN addresses). */
  exclude?: ReadonlySet<string>;
  /** Forget a device this long after its last flow ended (ms). */
  idleMs?: number;
  /** Fill PollResult.active with a record per live flow (costs an object per flow per poll). */
  collectActive?: boolean;
}

export class DeviceBook {
  private readonly flows = new Map<string, FlowState>();
  private readonly devices = new Map<string, DeviceState>();
  private gen = 0;
  private lastPoll = 0;
  private baselined = false;
  private pendingEnded: FlowRecord[] = [];
  /** Flows a listing no longer showed, kept briefly in case their DESTROY event comes late. */
  private readonly recentlyGone = new Map<string, FlowState>();
  /** Flows whose DESTROY event was counted, so a listing read just before it does not count them again. */
  private readonly destroyedKeys = new Map<string, number>();
  private readonly idleMs: number;
  /** See DeviceBookOptions.collectActive; may change between polls. */
  collectActive: boolean;

  constructor(private readonly opts: DeviceBookOptions) {
    this.idleMs = opts.idleMs ?? 60_000;
    this.collectActive = opts.collectActive ?? false;
  }

  /** Which LAN device a flow belongs to, and whether it is the originator. Handles SNAT (orig source) and DNAT (reply source). */
  private deviceOf(e: ConntrackEntry): { device: string; deviceIsOrig: boolean } | null {
    const { lan, exclude } = this.opts;
    const isDevice = (ip: string) => lan.has(ip) && !(exclude && exclude.has(ip));
    if (isDevice(e.origSrc)) return { device: e.origSrc, deviceIsOrig: true };
    if (isDevice(e.replySrc)) return { device: e.replySrc, deviceIsOrig: false };
    return null;
  }

  private device(ip: string, now: number): DeviceState {
    let d = this.devices.get(ip);
    if (!d) {
      d = { ip, rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxDelta: 0, txDelta: 0, flows: 0, lastSeen: now };
      this.devices.set(ip, d);
    }
    return d;
  }

  private add(f: FlowState, origBytes: number, replyBytes: number, origPackets: number, replyPackets: number, now: number): void {
    const d = f.dev;
    const tx = f.deviceIsOrig ? origBytes : replyBytes;
    const rx = f.deviceIsOrig ? replyBytes : origBytes;
    d.txBytes += tx;
    d.rxBytes += rx;
    d.txDelta += tx;
    d.rxDelta += rx;
    d.txPackets += f.deviceIsOrig ? origPackets : replyPackets;
    d.rxPackets += f.deviceIsOrig ? replyPackets : origPackets;
    if (tx || rx) d.lastSeen = now;
  }

  /** Every flow state built here, all fields in one order: one object shape for the whole table. */
  private newFlow(owner: { device: string; deviceIsOrig: boolean }, e: ConntrackEntry, now: number, gen: number): FlowState {
    return {
      device: owner.device,
      deviceIsOrig: owner.deviceIsOrig,
      dev: this.device(owner.device, now),
      origBytes: 0,
      replyBytes: 0,
      origPackets: 0,
      replyPackets: 0,
      start: now,
      gen,
      entry: e,
    };
  }

  /** Counter growth since the last sighting; a drop means a reset, so the current value counts whole. */
  private static grow(cur: number, last: number): number {
    return cur >= last ? cur - last : cur;
  }

  private account(f: FlowState, e: ConntrackEntry, now: number): void {
    this.add(
      f,
      DeviceBook.grow(e.origBytes, f.origBytes),
      DeviceBook.grow(e.replyBytes, f.replyBytes),
      DeviceBook.grow(e.origPackets, f.origPackets),
      DeviceBook.grow(e.replyPackets, f.replyPackets),
      now,
    );
    f.origBytes = e.origBytes;
    f.replyBytes = e.replyBytes;
    f.origPackets = e.origPackets;
    f.replyPackets = e.replyPackets;
    f.entry = e;
  }

  /**
   * A DESTROY event: add the flow's final counters now so the next poll's
   * rates include the bytes it moved after the last listing.
   */
  destroyed(e: ConntrackEntry, now = Date.now()): void {
    if (!this.baselined) return;
    const f = this.flows.get(e.key);
    if (f) {
      this.account(f, e, now);
      this.flows.delete(e.key);
      this.destroyedKeys.set(e.key, this.gen);
      this.pendingEnded.push(toRecord(f, now));
      return;
    }
    const gone = this.recentlyGone.get(e.key);
    if (gone) {
      // The listing already missed it: add what it moved after its last sighting (its device may have been forgotten meanwhile).
      gone.dev = this.device(gone.device, now);
      this.account(gone, e, now);
      this.recentlyGone.delete(e.key);
      this.destroyedKeys.set(e.key, this.gen);
      return;
    }
    if (this.destroyedKeys.has(e.key)) return;
    this.destroyedKeys.set(e.key, this.gen);
    // Born and gone between two polls: all of it is new.
    const owner = this.deviceOf(e);
    if (!owner) return;
    const fresh = this.newFlow(owner, e, now, this.gen);
    this.account(fresh, e, now);
    this.pendingEnded.push(toRecord(fresh, now));
  }

  /** Take one listing; returns per-device totals and rates over the time since the previous poll. */
  poll(entries: readonly ConntrackEntry[], now = Date.now()): PollResult {
    const gen = ++this.gen;
    const started: FlowRecord[] = [];
    const active: FlowRecord[] = [];
    const first = !this.baselined;
    for (const d of this.devices.values()) d.flows = 0;
    for (const e of entries) {
      if (this.destroyedKeys.size && this.destroyedKeys.has(e.key)) continue;
      let f = this.flows.get(e.key);
      if (!f) {
        const owner = this.deviceOf(e);
        if (!owner) continue;
        f = this.newFlow(owner, e, now, gen);
        this.flows.set(e.key, f);
        if (first) {
          // Baseline: bytes moved before we started watching are not this interval's.
          f.origBytes = e.origBytes;
          f.replyBytes = e.replyBytes;
          f.origPackets = e.origPackets;
          f.replyPackets = e.replyPackets;
          f.entry = e;
          this.device(f.device, now);
        } else {
          this.account(f, e, now);
        }
        // First seen now (on the baseline: every flow), so policies see flows that predate the node too.
        started.push(toRecord(f));
      } else {
        this.account(f, e, now);
      }
      f.gen = gen;
      const d = f.dev;
      d.flows++;
      d.lastSeen = now;
      if (this.collectActive) active.push(toRecord(f));
    }
    const ended = this.pendingEnded;
    this.pendingEnded = [];
    for (const [key, f] of this.flows) {
      if (f.gen !== gen) {
        this.flows.delete(key);
        this.recentlyGone.set(key, f);
        ended.push(toRecord(f, now));
      }
    }
    for (const [key, f] of this.recentlyGone) if (gen - f.gen > 2) this.recentlyGone.delete(key);
    for (const [key, g] of this.destroyedKeys) if (gen - g > 2) this.destroyedKeys.delete(key);
    const seconds = !first && now > this.lastPoll ? (now - this.lastPoll) / 1000 : 0;
    const devices: DeviceTraffic[] = [];
    for (const [ip, d] of this.devices) {
      if (d.flows === 0 && now - d.lastSeen > this.idleMs) {
        this.devices.delete(ip);
        continue;
      }
      devices.push({
        ip,
        rxBytes: d.rxBytes,
        txBytes: d.txBytes,
        rxPackets: d.rxPackets,
        txPackets: d.txPackets,
        rxBps: seconds ? Math.round(d.rxDelta / seconds) : 0,
        txBps: seconds ? Math.round(d.txDelta / seconds) : 0,
        flows: d.flows,
        lastSeen: d.lastSeen,
      });
      d.rxDelta = 0;
      d.txDelta = 0;
    }
    this.lastPoll = now;
    this.baselined = true;
    return { devices, started, ended, active };
  }

  /** Forget every flow and device (msg.topic 'reset'); the next poll is a new baseline. */
  reset(): void {
    this.flows.clear();
    this.devices.clear();
    this.pendingEnded = [];
    this.recentlyGone.clear();
    this.destroyedKeys.clear();
    this.baselined = false;
    this.lastPoll = 0;
  }

  get flowCount(): number {
    return this.flows.size;
  }
}

function toRecord(f: FlowState, end?: number): FlowRecord {
  const e = f.entry;
  const r: FlowRecord = {
    proto: e.proto,
    src: e.origSrc,
    dst: e.origDst,
    origBytes: e.origBytes,
    origPackets: e.origPackets,
    replyBytes: e.replyBytes,
    replyPackets: e.replyPackets,
    start: f.start,
    device: f.device,
  };
  if (e.origSport !== undefined) r.sport = e.origSport;
  if (e.origDport !== undefined) r.dport = e.origDport;
  if (e.state) r.state = e.state;
  if (e.origSrc !== e.replyDst) r.natSrc = e.replyDst;
  if (end !== undefined) r.end = end;
  return r;
}
