import type { Proto } from '../packet/types';

/**
 * What kind of detection: 'reputation' for known-bad address lists,
 * 'anomaly' for a model's verdict on a flow, 'lan' for ARP/neighbour spoofing
 * and new devices.
 */
export type AlertCategory = 'flood' | 'scan' | 'payload' | 'bandwidth' | 'policy' | 'reputation' | 'anomaly' | 'lan';
export type Severity = 'high' | 'medium' | 'low';
export type AlertAction = 'alert' | 'drop';

/**
 * A detection: `msg.payload` on a detector's alert output, with
 * `msg.topic = rule`. `src` is the address the rule counted against (the
 * prober for scan.failures, the device for bandwidth and policy alerts),
 * `offender` the one that is safe to block. See docs/architecture.md, "Messages".
 */
export interface Alert {
  ts: number;
  /** Stable rule id such as 'flood.syn'. */
  rule: string;
  sid: number;
  /** Generator id and revision of a rule-language rule (Snort/Suricata); absent means 1. */
  gid?: number;
  rev?: number;
  signature: string;
  /** Rule-language `classtype` (e.g. 'web-application-attack'), when the rule has one. */
  classtype?: string;
  /** Rule-language `reference`s as written ('url,example.org/x', 'cve,2021-44228'). */
  references?: string[];
  category: AlertCategory;
  severity: Severity;
  action: AlertAction;
  src: string;
  dst: string;
  /**
   * The address that is safe to block for this alert, set by the engine from
   * what its rule tracks (alerts.ts RuleInfo): the source of a rule that
   * counts per source or per source→target pair. Absent when no single
   * address is the attacker: a flood at one target from many (possibly
   * spoofed) sources (`flood.*.dst`), or an all-clear event
   * (`bandwidth.clear`). iptables-block blocks this address and nothing else.
   */
  offender?: string;
  proto: Proto;
  sport?: number;
  dport?: number;
  srcMac?: string;
  /** Hits counted for this alert (including suppressed ones). */
  count: number;
  windowMs: number;
  threshold: number;
  /** Why, in words with the numbers. */
  reason: string;
  /** Matched text, payload hex excerpt. */
  evidence?: string;
  /** Name of the node that raised it. */
  detector: string;
  /** Reputation alerts: the list, its category, the entry that matched, which way the connection went. */
  list?: string;
  listCategory?: string;
  listEntry?: string;
  /** 'outbound': a LAN device reached the listed address (likely compromised); 'inbound': the listed address reached in. */
  direction?: 'outbound' | 'inbound';
  /** The LAN side of the connection, its MAC and manufacturer when known. */
  device?: string;
  deviceMac?: string;
  deviceVendor?: string;
  /** GeoIP of the remote (listed) address: country code, AS number and organisation. */
  country?: string;
  asn?: number;
  asOrg?: string;
  /** flow-classify: the class the model gave the flow, and its probability (0..1). */
  mlClass?: string;
  probability?: number;
}
