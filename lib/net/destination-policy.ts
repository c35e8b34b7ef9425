/**
 * Destination allowlists per LAN device ("this camera may only talk to
 * these addresses"): a flow from a covered device to anything outside its
 * list raises a `policy` Alert, once per (device, destination) per cooldown.
 *
 * Text form, one rule per line ('#' starts a comment):
 *   *                = 192.168.4.1, fd00::/8        (every device)
 *   192.168.4.20     = 93.184.216.0/24              (one device)
 *   192.168.4.64/26  = 10.0.0.0/8                   (a group of devices)
 * A device is checked when at least one rule covers it; it may reach the
 * union of the lists of every rule that covers it. No rules: nothing checked.
 */
import { CidrSet, parseCidr, parseCidrList, type Cidr } from '../base/cidr';
import type { Alert } from '../detect/alert';
import { defineRules, makeAlert } from '../detect/alerts';
import { Suppressor } from '../detect/suppress';
import type { FlowRecord } from './types';

export const POLICY_RULES = defineRules({
  destination: {
    rule: 'policy.destination',
    sid: 9005001,
    signature: 'LAN device connected to a destination outside its allowlist',
    category: 'policy',
    severity: 'medium',
    // per (device, destination); the device broke its policy, so it is the offender
    tracks: 'pair',
  },
});

interface PolicyRule {
  devices: CidrSet | null; // null = every device
  deviceText: string;
  allowed: Cidr[];
}

/** Parse the rule text; throws one error naming every bad line. */
export function parsePolicy(text: string): PolicyRule[] {
  const rules: PolicyRule[] = [];
  const bad: string[] = [];
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const eq = line.indexOf('=');
    if (eq < 0) {
      bad.push(`line ${n + 1}: expected 'DEVICE = DESTINATIONS', got '${line}'`);
      return;
    }
    const dev = line.slice(0, eq).trim();
    const dests = line.slice(eq + 1).trim();
    try {
      const devices = dev === '*' ? null : new CidrSet([parseCidr(dev)]);
      const allowed = dests === '' ? [] : parseCidrList(dests);
      rules.push({ devices, deviceText: dev, allowed });
    } catch (err) {
      bad.push(`line ${n + 1}: ${(err as Error).message}`);
    }
  });
  if (bad.length) throw new Error(`destination policy: ${bad.join('; ')}`);
  return rules;
}

export interface PolicyOptions {
  /** Rule text (see the module comment). */
  rules: string;
  /** Repeat an alert for the same (device, destination) at most this often (ms). */
  cooldownMs?: number;
  detector?: string;
  /** Bound on remembered (device, destination) pairs. */
  cap?: number;
}

export class DestinationPolicy {
  private readonly rules: PolicyRule[];
  private readonly suppressor: Suppressor;
  private readonly cache = new Map<string, CidrSet | null>();
  readonly detector: string;

  constructor(opts: PolicyOptions) {
    this.rules = parsePolicy(opts.rules);
    this.suppressor = new Suppressor(opts.cap ?? 10_000, opts.cooldownMs ?? 600_000);
    this.detector = opts.detector ?? 'conntrack-poll';
  }

  get enabled(): boolean {
    return this.rules.length > 0;
  }

  /** The allowlist that applies to `device`, or null when no rule covers it. */
  allowedFor(device: string): CidrSet | null {
    const hit = this.cache.get(device);
    if (hit !== undefined) return hit;
    const lists: Cidr[] = [];
    let covered = false;
    for (const r of this.rules) {
      if (r.devices === null || r.devices.has(device)) {
        covered = true;
        lists.push(...r.allowed);
      }
    }
    const set = covered ? new CidrSet(lists) : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(device, set);
    return set;
  }

  /** Alerts for flows (new ones are enough) whose remote end is not allowed. */
  check(flows: readonly FlowRecord[], now = Date.now()): Alert[] {
    if (!this.rules.length) return [];
    const out: Alert[] = [];
    for (const f of flows) {
      const device = f.device ?? f.src;
      const remote = device === f.src ? f.dst : f.src;
      const allowed = this.allowedFor(device);
      if (!allowed || allowed.has(remote)) continue;
      const alert = this.suppressor.offer(POLICY_RULES.destination.rule, `${device}|${remote}`, now, (count) => makeAlert(POLICY_RULES.destination, {
        ts: now,
        src: device,
        dst: remote,
        proto: f.proto,
        ...(device === f.src ? { sport: f.sport, dport: f.dport } : { sport: f.dport, dport: f.sport }),
        count,
        windowMs: this.suppressor.cooldownMs,
        threshold: 0,
        reason: `${device} ${device === f.src ? 'connected to' : 'accepted a connection from'} ${remote}${f.dport !== undefined ? ` port ${f.dport}` : ''}/${f.proto}, which is not in its allowlist (${allowed.size ? allowed.cidrs.map((c) => c.text).join(', ') : 'empty'})`,
        detector: this.detector,
      }));
      if (alert) out.push(alert);
    }
    return out;
  }

  reset(): void {
    this.suppressor.clear();
  }
}
