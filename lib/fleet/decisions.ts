/**
 * Shared decisions: a block made on one sensor (or the central dashboard)
 * becomes a decision every subscribed sensor applies, as CrowdSec shares
 * its decisions. A decision is an MQTT 5 retained message on
 * `ips/decisions/<address>` with a message expiry equal to what is left of
 * the block, so a sensor that connects later receives only the live ones;
 * it carries the absolute `expires`, so every sensor's block ends at the same
 * moment (sensors keep their clocks with NTP). An unblock publishes an empty
 * retained message on the same topic: the broker forgets the decision and
 * delivers the empty message to the sensors online, which unblock.
 *
 * No echo loops: a sensor remembers each address it has published or
 * applied with its expiry (DecisionBook); a block list entry or an incoming
 * decision that matches what it remembers is neither published nor applied
 * again. The receiving iptables-block still decides: its allowlist and its
 * protection of the box's own addresses and gateways refuse a decision like
 * any other block. A decision names an IP address or a MAC (a device
 * blocked by its MAC on one router is blocked by it on the others).
 */
import type { BlockCommand, BlockEntry } from '../net/types';
import { validateBlockTarget } from '../net/firewall/names';
import { TOPICS } from './link';

/** A decision's address in canonical text (an IP, or a lowercase unicast MAC), or null when it is neither. */
export function decisionAddress(text: string): string | null {
  try {
    return validateBlockTarget(text).ip;
  } catch {
    return null;
  }
}

export interface Decision {
  /** The address blocked: an IP, or a MAC. */
  ip: string;
  action: 'block';
  /** ms since epoch; 0 = permanent. */
  expires: number;
  reason: string;
  rule: string;
  /** The sensor (or 'central') that decided. */
  origin: string;
  /** When it was decided, ms since epoch. */
  ts: number;
}

/** An MQTT publish of a decision: retained, with the expiry in seconds (none for a permanent block). */
export interface DecisionPublish {
  topic: string;
  payload: string;
  expiryS?: number;
}

/** Expiries within this much are the same block (ipset rounds to whole seconds). */
const SAME_MS = 2000;

/** The MQTT publish options of a decision: QoS 1, retained, expiring with the block. */
export function decisionOptions(d: DecisionPublish): { qos: 1; retain: true; properties?: { messageExpiryInterval: number } } {
  return { qos: 1, retain: true, ...(d.expiryS !== undefined ? { properties: { messageExpiryInterval: d.expiryS } } : {}) };
}

export function publishBlock(d: Decision, now: number): DecisionPublish | null {
  if (d.expires !== 0 && d.expires <= now) return null;
  const expiryS = d.expires === 0 ? undefined : Math.max(1, Math.ceil((d.expires - now) / 1000));
  return { topic: TOPICS.decision(d.ip), payload: JSON.stringify(d), ...(expiryS !== undefined ? { expiryS } : {}) };
}

export function publishUnblock(ip: string): DecisionPublish {
  return { topic: TOPICS.decision(ip), payload: '' };
}

/** A received decision message: a block, an unblock (empty payload), or null with a reason for anything else. */
export function parseDecision(topic: string, payload: Buffer): { block?: Decision; unblock?: string; refused?: string } {
  const key = topic.slice(TOPICS.decision('').length);
  const ip = decisionAddress(key);
  if (ip === null) return { refused: `decision topic ${topic} does not end in an IP or MAC address` };
  if (payload.length === 0) return { unblock: ip };
  let d: Partial<Decision>;
  try {
    d = JSON.parse(payload.toString('utf8')) as Partial<Decision>;
  } catch {
    return { refused: `decision on ${topic} is not JSON` };
  }
  if (typeof d !== 'object' || d === null || d.action !== 'block' || typeof d.ip !== 'string' || decisionAddress(d.ip) !== ip) {
    return { refused: `decision on ${topic} is not { ip: '${ip}', action: 'block', expires, ... }` };
  }
  if (typeof d.expires !== 'number' || !Number.isFinite(d.expires) || d.expires < 0) return { refused: `decision on ${topic}: expires must be ms since epoch or 0` };
  return {
    block: {
      ip, action: 'block', expires: d.expires, reason: typeof d.reason === 'string' ? d.reason : '', rule: typeof d.rule === 'string' ? d.rule : 'manual',
      origin: typeof d.origin === 'string' ? d.origin : 'unknown', ts: typeof d.ts === 'number' ? d.ts : 0,
    },
  };
}

/** What one sensor has shared or applied, so nothing is published or applied twice. */
export class DecisionBook {
  private readonly known = new Map<string, number>();

  constructor(private readonly origin: string) {}

  /**
   * The sensor's block list changed: the decisions to publish (new or
   * changed local blocks, and unblocks of addresses that went before their
   * expiry). Blocks that simply ran out publish nothing: their message expired too.
   */
  fromBlockList(entries: readonly BlockEntry[], now: number): DecisionPublish[] {
    const out: DecisionPublish[] = [];
    const present = new Set<string>();
    for (const e of entries) {
      const ip = decisionAddress(e.ip);
      if (ip === null) continue;
      present.add(ip);
      const before = this.known.get(ip);
      if (before !== undefined && (before === e.expires || (before !== 0 && e.expires !== 0 && Math.abs(before - e.expires) < SAME_MS))) continue;
      this.known.set(ip, e.expires);
      const pub = publishBlock({ ip, action: 'block', expires: e.expires, reason: e.reason, rule: e.rule, origin: this.origin, ts: now }, now);
      if (pub) out.push(pub);
    }
    for (const [ip, expires] of this.known) {
      if (present.has(ip)) continue;
      this.known.delete(ip);
      if (expires === 0 || expires > now + SAME_MS) out.push(publishUnblock(ip));
    }
    return out;
  }

  /** A decision arrived: the command for iptables-block, or null when it is this sensor's own or already applied. */
  apply(msg: { block?: Decision; unblock?: string }, now: number): BlockCommand | null {
    if (msg.unblock !== undefined) {
      if (!this.known.has(msg.unblock)) return null;
      this.known.delete(msg.unblock);
      return { ip: msg.unblock, action: 'unblock' };
    }
    const d = msg.block;
    if (!d) return null;
    const before = this.known.get(d.ip);
    if (before !== undefined && (before === d.expires || (before !== 0 && d.expires !== 0 && Math.abs(before - d.expires) < SAME_MS))) return null;
    if (d.expires !== 0 && d.expires <= now) return null;
    this.known.set(d.ip, d.expires);
    const durationS = d.expires === 0 ? 0 : Math.max(1, Math.ceil((d.expires - now) / 1000));
    return { ip: d.ip, action: 'block', durationS, reason: `decision of ${d.origin}: ${d.reason}`.slice(0, 500) };
  }

  get size(): number {
    return this.known.size;
  }
}
