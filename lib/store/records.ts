/**
 * What `sqlite-log` stores, and how an incoming message is recognised.
 *
 * Recognition (first match wins):
 *  1. `msg.topic === 'query'` or an object `msg.query`   → a query request
 *  2. `msg.topic === 'export'` or an object `msg.export` → an export request
 *  3. `msg.topic === 'devices'` → `payload` is an array of DeviceStats
 *  4. `msg.topic === 'flows'`   → `payload` is a FlowRecord or an array of them
 *  5. `payload.blocked` is an array (iptables-block's BlockList) → block history
 *     (kept per sensor: one sensor's list never unblocks another's entries)
 *  5b. `msg.topic === 'health'` with `msg.sensor` → the sensor's latest health
 *  6. otherwise `payload` (one object or an array) is read element by element
 *     by shape: `rule` + `severity` → Alert; `ip` + `rxBps` → DeviceStats;
 *     `src` + `dst` + `origBytes` → FlowRecord. Anything else is refused.
 *
 * `msg.sensor` (a sensor name) marks every record of the message as that
 * sensor's; without it they are this box's (sensor null). An alert with an
 * `id` (a string the sensor gave it) is stored once per id.
 */
import type { Alert } from '../detect/alert';
import type { BlockEntry, DeviceStats, FlowRecord } from '../net/types';
import type { SqlValue } from './sqlite';

export type RowKind = 'alert' | 'device' | 'flow';

/** A row ready for its table, values in TABLES[kind].columns order. */
export interface RowItem {
  kind: RowKind;
  values: SqlValue[];
}

/** A BlockList as seen at `ts`; turned into block/unblock events against the stored state when written. */
export interface BlockSnapshotItem {
  kind: 'blocklist';
  ts: number;
  entries: BlockEntry[];
  /** Whose list it is; null: this box's. */
  sensor: string | null;
}

/** A sensor's health report: the sensors table keeps the latest per sensor. */
export interface HealthItem {
  kind: 'health';
  ts: number;
  sensor: string;
  health: Record<string, unknown>;
}

export type LogItem = RowItem | BlockSnapshotItem | HealthItem;

/** A sensor's name: also an MQTT topic level, so no '/', '+', '#' and nothing that needs quoting. */
export const SENSOR_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkSensorName(v: unknown, where: string): string {
  if (typeof v !== 'string' || !SENSOR_NAME.test(v)) {
    throw new Error(`${where} must be a sensor name (1-64 letters, digits, '.', '_', '-'; starting with a letter or digit), got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Each table's columns in value order, and which of them hold numbers (the others hold text). */
export const TABLES = {
  alert: {
    table: 'alerts',
    columns: ['ts', 'logged', 'rule', 'sid', 'signature', 'category', 'severity', 'action', 'src', 'dst', 'proto', 'sport', 'dport', 'src_mac', 'count', 'window_ms', 'threshold', 'reason', 'evidence', 'detector', 'offender', 'sensor', 'uid',
      'list', 'list_category', 'list_entry', 'direction', 'device', 'device_mac', 'device_vendor', 'country', 'asn', 'as_org',
      'gid', 'rev', 'classtype', 'refs', 'ml_class', 'probability'],
    numeric: ['ts', 'logged', 'sid', 'sport', 'dport', 'count', 'window_ms', 'threshold', 'asn', 'gid', 'rev', 'probability'],
  },
  device: {
    table: 'devices',
    columns: ['ts', 'ip', 'mac', 'vendor', 'hostname', 'rx_bytes', 'tx_bytes', 'rx_bps', 'tx_bps', 'flows', 'last_seen', 'sensor'],
    numeric: ['ts', 'rx_bytes', 'tx_bytes', 'rx_bps', 'tx_bps', 'flows', 'last_seen'],
  },
  flow: {
    table: 'flows',
    columns: ['ts', 'proto', 'src', 'dst', 'sport', 'dport', 'orig_bytes', 'orig_packets', 'reply_bytes', 'reply_packets', 'state', 'start_ts', 'end_ts', 'sensor'],
    numeric: ['ts', 'sport', 'dport', 'orig_bytes', 'orig_packets', 'reply_bytes', 'reply_packets', 'start_ts', 'end_ts'],
  },
  block: {
    table: 'blocks',
    columns: ['ts', 'event', 'ip', 'since', 'expires', 'reason', 'rule', 'sensor'],
    numeric: ['ts', 'since', 'expires'],
  },
} as const;

export type TableKey = keyof typeof TABLES;
export type TableName = (typeof TABLES)[TableKey]['table'];
export const TABLE_NAMES: readonly TableName[] = ['alerts', 'devices', 'flows', 'blocks'];

/** What a message asks for. */
export type Recognised =
  | { type: 'query'; request: unknown }
  | { type: 'export'; request: unknown }
  | { type: 'records'; items: LogItem[]; refused: string[] };

export interface IncomingMessage {
  topic?: unknown;
  payload?: unknown;
  query?: unknown;
  export?: unknown;
  /** The sensor the records come from (set by the central's MQTT input from the topic). */
  sensor?: unknown;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Field readers: a missing optional field is null; a present field of the wrong type is refused with its path. */
function str(o: Obj, key: string, where: string, required = false): string | null {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) throw new Error(`${where}.${key} is missing (expected a string)`);
    return null;
  }
  if (typeof v !== 'string') throw new Error(`${where}.${key} must be a string, got ${typeof v}`);
  if (required && v.length === 0) throw new Error(`${where}.${key} must not be empty`);
  return v;
}

function num(o: Obj, key: string, where: string, required = false): number | null {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) throw new Error(`${where}.${key} is missing (expected a number)`);
    return null;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}.${key} must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

/** A list of strings (an alert's references) as the JSON text the `refs` column holds; null when absent or empty. */
function strList(o: Obj, key: string, where: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`${where}.${key} must be an array of strings, got ${JSON.stringify(v).slice(0, 80)}`);
  return v.length ? JSON.stringify(v) : null;
}

export function alertRow(a: Obj, where: string, now: number, sensor: string | null = null): RowItem {
  const values: SqlValue[] = [
    num(a, 'ts', where, true), now, str(a, 'rule', where, true), num(a, 'sid', where), str(a, 'signature', where),
    str(a, 'category', where, true), str(a, 'severity', where, true), str(a, 'action', where), str(a, 'src', where, true),
    str(a, 'dst', where), str(a, 'proto', where), num(a, 'sport', where), num(a, 'dport', where), str(a, 'srcMac', where),
    num(a, 'count', where), num(a, 'windowMs', where), num(a, 'threshold', where), str(a, 'reason', where),
    str(a, 'evidence', where), str(a, 'detector', where), str(a, 'offender', where), sensor, str(a, 'id', where),
    // ip-reputation and GeoIP (schema 7)
    str(a, 'list', where), str(a, 'listCategory', where), str(a, 'listEntry', where), str(a, 'direction', where), str(a, 'device', where),
    str(a, 'deviceMac', where), str(a, 'deviceVendor', where), str(a, 'country', where), num(a, 'asn', where), str(a, 'asOrg', where),
    // rule-language ids, classtype and references; flow-classify's class and probability (schema 8)
    num(a, 'gid', where), num(a, 'rev', where), str(a, 'classtype', where), strList(a, 'references', where), str(a, 'mlClass', where), num(a, 'probability', where),
  ];
  return { kind: 'alert', values };
}

export function deviceRow(d: Obj, where: string, now: number, sensor: string | null = null): RowItem {
  const values: SqlValue[] = [
    now, str(d, 'ip', where, true), str(d, 'mac', where), str(d, 'vendor', where), str(d, 'hostname', where),
    num(d, 'rxBytes', where), num(d, 'txBytes', where), num(d, 'rxBps', where, true), num(d, 'txBps', where, true),
    num(d, 'flows', where), num(d, 'lastSeen', where), sensor,
  ];
  return { kind: 'device', values };
}

export function flowRow(f: Obj, where: string, now: number, sensor: string | null = null): RowItem {
  const values: SqlValue[] = [
    now, str(f, 'proto', where, true), str(f, 'src', where, true), str(f, 'dst', where, true), num(f, 'sport', where),
    num(f, 'dport', where), num(f, 'origBytes', where, true), num(f, 'origPackets', where), num(f, 'replyBytes', where, true),
    num(f, 'replyPackets', where), str(f, 'state', where), num(f, 'start', where), num(f, 'end', where), sensor,
  ];
  return { kind: 'flow', values };
}

export function blockSnapshot(list: Obj, where: string, now: number, sensor: string | null = null): BlockSnapshotItem {
  const blocked = list.blocked;
  if (!Array.isArray(blocked)) throw new Error(`${where}.blocked must be an array`);
  const entries: BlockEntry[] = blocked.map((e: unknown, i) => {
    const at = `${where}.blocked[${i}]`;
    if (!isObj(e)) throw new Error(`${at} must be an object { ip, since, expires, reason, rule }`);
    return {
      ip: str(e, 'ip', at, true) as string,
      since: num(e, 'since', at) ?? now,
      expires: num(e, 'expires', at) ?? 0,
      reason: str(e, 'reason', at) ?? '',
      rule: str(e, 'rule', at) ?? '',
    };
  });
  return { kind: 'blocklist', ts: now, entries, sensor };
}

const UNKNOWN_SHAPE =
  'expected an Alert ({ ts, rule, severity, category, src, ... }), device stats (msg.topic "devices", array of { ip, rxBps, txBps, ... }), ' +
  'flow records (msg.topic "flows", { proto, src, dst, origBytes, replyBytes, ... }), a block list ({ blocked: [...] }), ' +
  'or a request (msg.topic "query"/"export" or msg.query/msg.export)';

function byShape(v: unknown, where: string, now: number, sensor: string | null): RowItem {
  if (!isObj(v)) throw new Error(`${where} is ${v === null ? 'null' : Array.isArray(v) ? 'a nested array' : typeof v}: ${UNKNOWN_SHAPE}`);
  if ('rule' in v && 'severity' in v) return alertRow(v, where, now, sensor);
  if ('ip' in v && 'rxBps' in v) return deviceRow(v, where, now, sensor);
  if ('src' in v && 'dst' in v && 'origBytes' in v) return flowRow(v, where, now, sensor);
  throw new Error(`${where} has an unknown shape (keys: ${Object.keys(v).slice(0, 8).join(', ') || 'none'}): ${UNKNOWN_SHAPE}`);
}

/** Read every element; good ones become items, bad ones are refused with their reason (nothing silently dropped). */
function collect(list: unknown[], where: string, one: (v: unknown, at: string) => LogItem): { items: LogItem[]; refused: string[] } {
  const items: LogItem[] = [];
  const refused: string[] = [];
  list.forEach((v, i) => {
    try {
      items.push(one(v, `${where}[${i}]`));
    } catch (err) {
      refused.push((err as Error).message);
    }
  });
  return { items, refused };
}

/** Decide what a message is. Throws with the reason when the whole message is unusable. */
export function recognise(msg: IncomingMessage, now: number): Recognised {
  if (msg.topic === 'query' || isObj(msg.query)) return { type: 'query', request: isObj(msg.query) ? msg.query : msg.payload };
  if (msg.topic === 'export' || isObj(msg.export)) return { type: 'export', request: isObj(msg.export) ? msg.export : msg.payload };
  const p = msg.payload;
  const sensor = msg.sensor === undefined || msg.sensor === null || msg.sensor === '' ? null : checkSensorName(msg.sensor, 'msg.sensor');
  if (msg.topic === 'health') {
    if (sensor === null) throw new Error('msg.topic "health" needs msg.sensor, the sensor the health report is of');
    if (!isObj(p)) throw new Error('msg.topic "health" needs msg.payload to be an object (the sensor\'s health report)');
    return { type: 'records', items: [{ kind: 'health', ts: now, sensor, health: p }], refused: [] };
  }
  if (msg.topic === 'devices') {
    if (!Array.isArray(p)) throw new Error('msg.topic "devices" needs msg.payload to be an array of device stats');
    return { type: 'records', ...collect(p, 'payload', (v, at) => {
      if (!isObj(v)) throw new Error(`${at} must be an object { ip, rxBps, txBps, ... }`);
      return deviceRow(v, at, now, sensor);
    }) };
  }
  if (msg.topic === 'flows') {
    const list = Array.isArray(p) ? p : [p];
    return { type: 'records', ...collect(list, 'payload', (v, at) => {
      if (!isObj(v)) throw new Error(`${at} must be a flow record object { proto, src, dst, origBytes, replyBytes, ... }`);
      return flowRow(v, at, now, sensor);
    }) };
  }
  if (isObj(p) && 'blocked' in p) return { type: 'records', items: [blockSnapshot(p, 'payload', now, sensor)], refused: [] };
  if (Array.isArray(p)) return { type: 'records', ...collect(p, 'payload', (v, at) => byShape(v, at, now, sensor)) };
  if (p === undefined) throw new Error(`msg.payload is missing: ${UNKNOWN_SHAPE}`);
  return { type: 'records', items: [byShape(p, 'payload', now, sensor)], refused: [] };
}

/** Typed constructors for callers inside lib/ (benchmarks, tests) that already hold contract objects. */
export function rowOfAlert(a: Alert, now = Date.now()): RowItem {
  return alertRow(a as unknown as Obj, 'alert', now);
}
export function rowOfDevice(d: DeviceStats, now = Date.now()): RowItem {
  return deviceRow(d as unknown as Obj, 'device', now);
}
export function rowOfFlow(f: FlowRecord, now = Date.now()): RowItem {
  return flowRow(f as unknown as Obj, 'flow', now);
}
