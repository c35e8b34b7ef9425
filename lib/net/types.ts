/** One LAN device in `msg.payload` of a `msg.topic = 'devices'` message. */
export interface DeviceStats {
  ip: string;
  mac?: string;
  vendor?: string;
  hostname?: string;
  rxBytes: number;
  txBytes: number;
  /** Bytes/s received by the device over the last interval. */
  rxBps: number;
  txBps: number;
  /** Active flows. */
  flows: number;
  /** ms since epoch. */
  lastSeen: number;
}

/** One tracked connection, emitted by `conntrack-poll` for logging. */
export interface FlowRecord {
  proto: string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** Bytes/packets from the originator (the LAN device) and from the reply side. */
  origBytes: number;
  origPackets: number;
  replyBytes: number;
  replyPackets: number;
  state?: string;
  /** ms since epoch. */
  start: number;
  end?: number;
  /** The LAN device the flow belongs to (src, or the reply source for inbound port forwards). */
  device?: string;
  /** The translated source address when the router NATs the flow. */
  natSrc?: string;
}

/** A block or unblock request for `iptables-block`. An Alert blocks its `offender` (alert.ts). */
export interface BlockCommand {
  ip: string;
  action: 'block' | 'unblock';
  durationS?: number;
  reason?: string;
}

export interface BlockEntry {
  ip: string;
  /** ms since epoch. */
  since: number;
  /** ms since epoch; 0 = never. */
  expires: number;
  reason: string;
  rule: string;
}

/** `iptables-block` output payload. */
export interface BlockList {
  blocked: BlockEntry[];
}
