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

/** An alerts column and the Alert field it holds: how the writer checks it, and the name readers give it back. */
interface AlertColumn {
  column: string;
  /** The field in an alert message; null for what the writer adds itself (`logged`, `sensor`). */
  field: string | null;
  /** `list`: an array of strings, kept as JSON text. */
  kind: 'text' | 'number' | 'list';
  required?: true;
}

const col = (column: string, field: string | null, kind: AlertColumn['kind'] = 'text', required?: true): AlertColumn => ({ column, field, kind, ...(required ? { required } : {}) });

/**
 * The alerts table, in value order: the one place an Alert field is tied to
 * its column. The writer (alertRow), the dashboards' query (readAlertColumns)
 * and the EVE export (alertOfRow) all follow it.
 */
const ALERT_COLUMNS: readonly AlertColumn[] = [
  col('ts', 'ts', 'number', true), col('logged', null, 'number'), col('rule', 'rule', 'text', true), col('sid', 'sid', 'number'),
  col('signature', 'signature'), col('category', 'category', 'text', true), col('severity', 'severity', 'text', true), col('action', 'action'),
  col('src', 'src', 'text', true), col('dst', 'dst'), col('proto', 'proto'), col('sport', 'sport', 'number'), col('dport', 'dport', 'number'),
  col('src_mac', 'srcMac'), col('count', 'count', 'number'), col('window_ms', 'windowMs', 'number'), col('threshold', 'threshold', 'number'),
  col('reason', 'reason'), col('evidence', 'evidence'), col('detector', 'detector'), col('offender', 'offender'), col('sensor', null),
  // An alert's own id; read back as `uid`, since a row's `id` is its row number.
  col('uid', 'id'),
  // ip-reputation and GeoIP (schema 7)
  col('list', 'list'), col('list_category', 'listCategory'), col('list_entry', 'listEntry'), col('direction', 'direction'), col('device', 'device'),
  col('device_mac', 'deviceMac'), col('device_vendor', 'deviceVendor'), col('country', 'country'), col('asn', 'asn', 'number'), col('as_org', 'asOrg'),
  // rule-language ids, classtype and references; flow-classify's class and probability (schema 8)
  col('gid', 'gid', 'number'), col('rev', 'rev', 'number'), col('classtype', 'classtype'), col('refs', 'references', 'list'),
  col('ml_class', 'mlClass'), col('probability', 'probability', 'number'),
];

/** The name a stored alert column is read back as: its Alert field, but `uid` stays (see ALERT_COLUMNS). */
const readName = (c: AlertColumn): string => (c.column === 'uid' || c.field === null ? c.column : c.field);

/** The SELECT list of every alerts column under the name readers use (as alertOfRow does), `logged` left out. */
export const readAlertColumns = ALERT_COLUMNS.filter((c) => c.column !== 'logged')
  .map((c) => (readName(c) === c.column ? c.column : `${c.column} AS "${readName(c)}"`)).join(', ');

/**
 * A stored alert row (columns by name) under the names readers use: null
 * columns left out, the references as the array they are.
 */
export function alertOfRow(row: Record<string, SqlValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of ALERT_COLUMNS) {
    const v = row[c.column];
    if (v === null || v === undefined) continue;
    out[readName(c)] = c.kind === 'list' ? decodeList(v) ?? undefined : v;
  }
  return out;
}

/** A JSON array of strings from a text column; null when there is none (or the text is not one). */
export function decodeList(v: unknown): string[] | null {
  if (typeof v !== 'string') return null;
  try {
    const list = JSON.parse(v) as unknown;
    return Array.isArray(list) ? list.map(String) : null;
  } catch {
    return null;
  }
}

/** Each table's columns in value order, and which of them hold numbers (the others hold text). */
export const TABLES = {
  alert: {
    table: 'alerts',
    columns: ALERT_COLUMNS.map((c) => c.column),
    numeric: ALERT_COLUMNS.filter((c) => c.kind === 'number').map((c) => c.column),
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
  const values = ALERT_COLUMNS.map((c): SqlValue => {
    if (c.field === null) return c.column === 'logged' ? now : sensor;
    if (c.kind === 'list') return strList(a, c.field, where);
    return c.kind === 'number' ? num(a, c.field, where, c.required) : str(a, c.field, where, c.required);
  });
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
