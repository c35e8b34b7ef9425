import type { Proto } from '../packet/types';

export type AlertCategory = 'flood' | 'scan' | 'payload' | 'bandwidth' | 'policy';
export type Severity = 'high' | 'medium' | 'low';
export type AlertAction = 'alert' | 'drop';

/**
 * A detection: `msg.payload` on a detector's alert output, with
 * `msg.topic = rule`. See docs/architecture.md, "Messages".
 */
export interface Alert {
  ts: number;
  /** Stable rule id such as 'flood.syn'. */
  rule: string;
  sid: number;
  signature: string;
  category: AlertCategory;
  severity: Severity;
  action: AlertAction;
  src: string;
  dst: string;
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
}
