/**
 * Suricata's EVE JSON for what the pack records, so the tools built for
 * Suricata (EveBox, Filebeat's Suricata module, Wazuh, Splunk's add-on) read
 * our alerts unchanged. One mapping, used by sqlite-log's export (format
 * `eve`), the `ips` command (`--format eve`) and the MQTT sensor (payload
 * format `eve`). docs/eve.md is the field-by-field table.
 *
 *  - Alert → `event_type: "alert"`. Severity high/medium/low → 1/2/3
 *    (Suricata's 1 is the most severe); action drop → `blocked`, else
 *    `allowed`; gid and rev default to 1 as in Suricata; `source` is the
 *    offender's side (absent when no single address is to blame).
 *  - FlowRecord → `event_type: "flow"` (orig = to server, reply = to client).
 *  - A sensor's health → `event_type: "stats"` (uptime, capture packets and drops).
 *  - Device stats have no EVE counterpart (EVE's records are per flow or per
 *    engine, not per host): they travel in the pack's own JSON.
 *
 * `flow_id` is the first 48 bits of a SHA-1 of the 5-tuple with the
 * endpoints ordered, so both directions of a conversation and every alert on
 * it share one id, the way Suricata's per-flow id does (Suricata's own is a
 * 64-bit hash; 48 bits stay a safe JavaScript integer and collide about once
 * in 16 million flows of one day's million).
 */
import { createHash } from 'node:crypto';
import type { Alert, Severity } from '../detect/alert';
import type { FlowRecord } from '../net/types';
import { CLASSIFICATIONS } from '../detect/payload/signature/classification';

/** Where a record comes from: `host` is the sensor name, `in_iface` the interface it watches, `pcap_filename` the capture file read. */
export interface EveContext {
  host?: string;
  iface?: string;
  pcapFile?: string;
}

export interface EveEndpoint {
  ip: string;
  port?: number;
}

export interface EveAlertBody {
  action: 'allowed' | 'blocked';
  gid: number;
  signature_id: number;
  rev: number;
  signature: string;
  category: string;
  severity: number;
  source?: EveEndpoint;
  target?: EveEndpoint;
  references?: string[];
  metadata: Record<string, string[]>;
}

/** One EVE line: the common header and the body of its event type. */
export interface EveRecord {
  timestamp: string;
  event_type: 'alert' | 'flow' | 'stats';
  flow_id?: number;
  in_iface?: string;
  src_ip?: string;
  src_port?: number;
  dest_ip?: string;
  dest_port?: number;
  proto?: string;
  ip_v?: number;
  host?: string;
  pcap_filename?: string;
  ether?: { src_mac?: string; dest_mac?: string };
  alert?: EveAlertBody;
  payload?: string;
  payload_printable?: string;
  flow?: Record<string, string | number | boolean>;
  stats?: { uptime: number; capture: { kernel_packets: number; kernel_drops: number } };
}

const SEVERITY: Record<Severity, number> = { high: 1, medium: 2, low: 3 };

/** Our categories as Suricata's classification descriptions (classification.config) would put them. */
const CATEGORY_TEXT: Record<string, string> = {
  flood: 'Attempted Denial of Service',
  scan: 'Detection of a Network Scan',
  payload: 'Potentially Bad Traffic',
  bandwidth: 'Potential Corporate Privacy Violation',
  policy: 'Potential Corporate Privacy Violation',
  reputation: 'Misc Attack',
  anomaly: 'Misc activity',
  lan: 'Potentially Bad Traffic',
};

/** Suricata's protocol names (getprotobynumber): TCP, UDP, ICMP, IPv6-ICMP; other IP protocols by number. */
export function eveProto(proto: string): string | undefined {
  switch (proto) {
    case 'tcp': return 'TCP';
    case 'udp': return 'UDP';
    case 'icmp': return 'ICMP';
    case 'icmp6': return 'IPv6-ICMP';
  }
  const n = /^ip-(\d+)$/.exec(proto);
  return n ? n[1] : undefined;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** EVE's timestamp: local-style date and time with microseconds and a numeric offset; we write UTC (+0000). */
export function eveTimestamp(ms: number): string {
  const d = new Date(Math.floor(ms));
  const micros = Math.round((ms - Math.floor(ms / 1000) * 1000) * 1000);
  const us = Math.min(micros, 999_999);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(us, 6)}+0000`;
}

/** A flow's id from its 5-tuple, the same in both directions (see the header). */
export function eveFlowId(proto: string, a: string, aport: number | undefined, b: string, bport: number | undefined): number {
  const one = `${a}|${aport ?? ''}`;
  const two = `${b}|${bport ?? ''}`;
  const key = one < two ? `${proto}|${one}|${two}` : `${proto}|${two}|${one}`;
  return createHash('sha1').update(key).digest().readUIntBE(0, 6);
}

const ipVersion = (ip: string): number | undefined => (ip.includes(':') ? 6 : /^\d+\.\d+\.\d+\.\d+$/.test(ip) ? 4 : undefined);

/** The header fields every network record shares. */
function header(ts: number, type: EveRecord['event_type'], ctx: EveContext, proto: string, src: string, sport: number | undefined, dst: string, dport: number | undefined): EveRecord {
  const rec: EveRecord = { timestamp: eveTimestamp(ts), event_type: type };
  const p = eveProto(proto);
  if (p !== undefined) rec.flow_id = eveFlowId(proto, src, sport, dst, dport);
  if (ctx.iface) rec.in_iface = ctx.iface;
  if (src) rec.src_ip = src;
  if (sport !== undefined) rec.src_port = sport;
  if (dst) rec.dest_ip = dst;
  if (dport !== undefined) rec.dest_port = dport;
  if (p !== undefined) rec.proto = p;
  const v = ipVersion(src);
  if (v !== undefined) rec.ip_v = v;
  if (ctx.host) rec.host = ctx.host;
  if (ctx.pcapFile) rec.pcap_filename = ctx.pcapFile;
  return rec;
}

/** The bytes of a payload alert's hexdump excerpt (evidence.ts hexExcerpt), or null when the evidence has none. */
export function evidenceBytes(evidence: string): Buffer | null {
  const bytes: number[] = [];
  for (const line of evidence.split('\n')) {
    const m = /^[0-9a-f]{4,} {2}((?:[0-9a-f]{2} {1,2}| {3,4})+)\|/.exec(line);
    if (!m) continue;
    for (const hex of m[1].trim().split(/\s+/)) if (hex) bytes.push(parseInt(hex, 16));
  }
  return bytes.length ? Buffer.from(bytes) : null;
}

/** Suricata's payload_printable: printable ASCII kept, other bytes as '.'. */
function printableBytes(b: Buffer): string {
  let out = '';
  for (const c of b) out += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : '.';
  return out;
}

/**
 * An alert as EVE. `id` (the sensor's stable alert id), the rule id, the
 * reason, the count and the detector go into `alert.metadata` (free-form
 * there), so nothing of the Alert is lost on the way.
 */
export function eveAlert(a: Alert, ctx: EveContext = {}, id?: string): EveRecord {
  const rec = header(a.ts, 'alert', ctx, a.proto, a.src, a.sport, a.dst, a.dport);
  if (a.srcMac) rec.ether = { src_mac: a.srcMac };
  const metadata: Record<string, string[]> = {
    ips_rule: [a.rule], ips_reason: [a.reason], ips_count: [String(a.count)], ips_detector: [a.detector],
  };
  if (id !== undefined) metadata.ips_id = [id];
  if (a.offender) metadata.ips_offender = [a.offender];
  reputationMetadata(a, metadata, rec);
  ruleAndModelMetadata(a, metadata);
  const body: EveAlertBody = {
    action: a.action === 'drop' ? 'blocked' : 'allowed',
    gid: a.gid ?? 1,
    signature_id: a.sid,
    rev: a.rev ?? 1,
    signature: a.signature,
    category: a.classtype ? (CLASSIFICATIONS.get(a.classtype)?.description ?? spell(a.classtype)) : (CATEGORY_TEXT[a.category] ?? spell(a.category)),
    severity: SEVERITY[a.severity] ?? 3,
    metadata,
  };
  const srcEnd: EveEndpoint = a.sport !== undefined ? { ip: a.src, port: a.sport } : { ip: a.src };
  const dstEnd: EveEndpoint = a.dport !== undefined ? { ip: a.dst, port: a.dport } : { ip: a.dst };
  if (a.offender && a.offender === a.src && a.dst) Object.assign(body, { source: srcEnd, target: dstEnd });
  else if (a.offender && a.offender === a.dst && a.src) Object.assign(body, { source: dstEnd, target: srcEnd });
  if (a.references?.length) body.references = [...a.references];
  rec.alert = body;
  if (a.evidence) {
    const bytes = evidenceBytes(a.evidence);
    if (bytes) {
      rec.payload = bytes.toString('base64');
      rec.payload_printable = printableBytes(bytes);
    } else metadata.ips_evidence = [a.evidence];
  }
  return rec;
}

/**
 * What ip-reputation and GeoIP add to an alert. EVE has no place of its own
 * for them (Suricata writes no GeoIP; log shippers add their own `geoip` or
 * `source.geo` objects, which the schema does not allow in the record), so
 * they travel as `alert.metadata` entries, which Suricata's rules fill the
 * same way and EveBox and Filebeat show: `ips_list`, `ips_list_category`,
 * `ips_list_entry`, `ips_direction`, `ips_device`, `ips_device_mac`,
 * `ips_device_vendor`, `ips_country`, `ips_asn`, `ips_as_org`. The device's
 * MAC is also `ether.src_mac` (outbound: the device is the source) or
 * `ether.dest_mac` (inbound) when the packet's own MAC is not there.
 */
function reputationMetadata(a: Alert, metadata: Record<string, string[]>, rec: EveRecord): void {
  const put = (key: string, v: string | number | undefined) => {
    if (v !== undefined && v !== null && v !== '') metadata[key] = [String(v)];
  };
  put('ips_list', a.list);
  put('ips_list_category', a.listCategory);
  put('ips_list_entry', a.listEntry);
  put('ips_direction', a.direction);
  put('ips_device', a.device);
  put('ips_device_mac', a.deviceMac);
  put('ips_device_vendor', a.deviceVendor);
  put('ips_country', a.country);
  put('ips_asn', a.asn);
  put('ips_as_org', a.asOrg);
  if (!a.deviceMac || !a.device) return;
  if (a.device === a.src && !rec.ether) rec.ether = { src_mac: a.deviceMac };
  else if (a.device === a.dst && !rec.ether?.dest_mac) rec.ether = { ...rec.ether, dest_mac: a.deviceMac };
}

/**
 * The rest of what a rule or a model says that EVE has no field for:
 * `ips_classtype`, the classtype's short name (`alert.category` holds its
 * description, as Suricata writes it, which is not always reversible), and
 * flow-classify's `ips_ml_class` (the class the model gave the flow) and
 * `ips_probability` (0..1, as text like every metadata value). gid, rev and
 * references have EVE fields of their own (`alert.gid`, `alert.rev`,
 * `alert.references`).
 */
function ruleAndModelMetadata(a: Alert, metadata: Record<string, string[]>): void {
  if (a.classtype) metadata.ips_classtype = [a.classtype];
  if (a.mlClass) metadata.ips_ml_class = [a.mlClass];
  if (typeof a.probability === 'number' && Number.isFinite(a.probability)) metadata.ips_probability = [String(a.probability)];
}

function spell(name: string): string {
  const words = name.replace(/[-_.]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A flow record as EVE `flow`: orig (the originator) is to-server, reply is to-client; `end` only on flows that ended. */
export function eveFlow(f: FlowRecord, ctx: EveContext = {}, ts = f.end ?? f.start): EveRecord {
  const rec = header(ts, 'flow', ctx, f.proto, f.src, f.sport, f.dst, f.dport);
  const flow: Record<string, string | number | boolean> = {
    pkts_toserver: Math.round(f.origPackets), pkts_toclient: Math.round(f.replyPackets),
    bytes_toserver: Math.round(f.origBytes), bytes_toclient: Math.round(f.replyBytes),
    start: eveTimestamp(f.start),
  };
  if (f.end !== undefined) {
    flow.end = eveTimestamp(f.end);
    flow.age = Math.max(0, Math.round((f.end - f.start) / 1000));
  }
  if (f.state) flow.state = f.state.toLowerCase();
  rec.flow = flow;
  return rec;
}

/** A sensor's health as EVE `stats` (the counters Suricata's capture section has). */
export function eveStats(ts: number, uptimeS: number, packets: number, drops: number, ctx: EveContext = {}): EveRecord {
  const rec: EveRecord = { timestamp: eveTimestamp(ts), event_type: 'stats' };
  if (ctx.host) rec.host = ctx.host;
  rec.stats = { uptime: Math.floor(uptimeS), capture: { kernel_packets: Math.round(packets), kernel_drops: Math.round(drops) } };
  return rec;
}
