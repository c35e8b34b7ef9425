/**
 * Rule catalog entries and the one way detectors make alerts
 * (the Alert contract itself is in ./alert.ts).
 */
import type { Alert, AlertAction, AlertCategory, Severity } from './alert';
import type { Packet } from '../packet/types';

/**
 * What a rule counts its hits by, which says who its alerts may block:
 * - 'src': one source (the alert's `src`: a scanner, a flooding host, the
 *   sender of a payload, a LAN device over its limit);
 * - 'pair': one source→target pair (vertical scan, brute force, a device and
 *   a destination outside its allowlist); the source is the actor;
 * - 'dst': one target, from any number of sources (a flood at a target);
 * - 'network': nothing narrower than the network;
 * - 'mac': one link-layer sender, whatever addresses it claims (a LAN
 *   device answering ARP for the gateway's address);
 * - 'listed': an address the engine found on a list (a threat list, a
 *   watched country), on either side of the connection.
 * Alerts of 'src' and 'pair' rules name their `src` as `offender`, those of
 * 'mac' rules their `srcMac`, those of 'listed' rules the listed address the
 * engine gives (`listed`); the others name none (their `src` is only the
 * last of possibly spoofed sources).
 */
export type Tracks = 'src' | 'dst' | 'pair' | 'network' | 'mac' | 'listed';

/** What a rule is: stable id, numeric sid, human signature, category, severity, what it tracks. */
export interface RuleInfo {
  /** Stable id such as 'flood.syn.src'. */
  rule: string;
  sid: number;
  signature: string;
  category: AlertCategory;
  severity: Severity;
  tracks: Tracks;
  /** false: the rule reports that a condition ended (an all-clear), so its alerts name no offender whatever it tracks. */
  offence?: false;
}

/** The per-detection part of an alert: everything but the catalog entry and the offender (both from the rule); `action` defaults to 'alert'. */
export type AlertFields = Omit<Alert, keyof RuleInfo | 'action' | 'offender'> & {
  action?: AlertAction;
  /** The address found on a list, for rules that track 'listed' (it becomes the `offender`). */
  listed?: string;
};

/** Whether alerts of `info` name an offender (their `src`): rules that track a source or a source→target pair, unless they report an all-clear. */
function namesOffender(info: RuleInfo): boolean {
  return (info.tracks === 'src' || info.tracks === 'pair') && info.offence !== false;
}

/** Build an Alert from a catalog entry and the fields of one detection. Optional fields are left out when absent. */
export function makeAlert(info: RuleInfo, f: AlertFields): Alert {
  const alert: Alert = {
    ts: f.ts,
    rule: info.rule,
    sid: info.sid,
    signature: info.signature,
    category: info.category,
    severity: info.severity,
    action: f.action ?? 'alert',
    src: f.src,
    dst: f.dst,
    proto: f.proto,
    count: f.count,
    windowMs: f.windowMs,
    threshold: f.threshold,
    reason: f.reason,
    detector: f.detector,
  };
  if (namesOffender(info)) alert.offender = f.src;
  else if (info.tracks === 'mac' && info.offence !== false && f.srcMac !== undefined) alert.offender = f.srcMac;
  else if (info.tracks === 'listed' && f.listed !== undefined) alert.offender = f.listed;
  if (f.sport !== undefined) alert.sport = f.sport;
  if (f.dport !== undefined) alert.dport = f.dport;
  if (f.srcMac !== undefined) alert.srcMac = f.srcMac;
  if (f.evidence !== undefined) alert.evidence = f.evidence;
  if (f.gid !== undefined) alert.gid = f.gid;
  if (f.rev !== undefined) alert.rev = f.rev;
  if (f.classtype !== undefined) alert.classtype = f.classtype;
  if (f.references !== undefined) alert.references = f.references;
  return alert;
}

/**
 * A rule catalog keyed by a short name, checked once at load: rule ids and
 * sids must be unique (a duplicate is a programming error, so it throws).
 */
export function defineRules<N extends string>(rules: Record<N, RuleInfo>): Readonly<Record<N, RuleInfo>> {
  const ids = new Set<string>();
  const sids = new Set<number>();
  for (const r of Object.values(rules) as RuleInfo[]) {
    if (ids.has(r.rule)) throw new Error(`duplicate rule id ${r.rule}`);
    if (sids.has(r.sid)) throw new Error(`duplicate sid ${r.sid} (${r.rule})`);
    ids.add(r.rule);
    sids.add(r.sid);
  }
  return Object.freeze(rules);
}

/** The fields of an alert that come from the packet that triggered it. */
export type PacketFields = Pick<Alert, 'ts' | 'src' | 'dst' | 'proto' | 'sport' | 'dport' | 'srcMac'>;

export function packetFields(p: Packet): PacketFields {
  return { ts: p.ts, src: p.src, dst: p.dst, proto: p.proto, sport: p.sport, dport: p.dport, srcMac: p.srcMac };
}
