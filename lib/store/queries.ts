/**
 * Named read queries for dashboards and analysts. Each validates its
 * parameters (unknown ones are refused), is bounded by a row limit, and
 * returns a shape node-red-dashboard 3 renders as is:
 *  - tables (ui_table, ui_template): an array of flat row objects;
 *  - charts (ui_chart line): [{ series: [names], data: [[{ x, y }...] per series], labels: [''] }].
 */
import { isValidIp } from '../base/cidr';
import { checkSensorName, decodeList, readAlertColumns } from './records';
import { all, type Db, type SqlValue } from './sqlite';

export interface ChartData {
  series: string[];
  data: { x: number; y: number }[][];
  labels: string[];
}

export interface QueryResult {
  name: QueryName;
  /** Rows (tables) or a one-element chart array. */
  payload: Record<string, unknown>[] | ChartData[];
  /** Rows or points returned. */
  count: number;
  /** Time bucket of a chart, when the query groups by time. */
  bucketMs?: number;
}

type Params = Record<string, unknown>;

interface QueryDef {
  params: readonly string[];
  run(db: Db, p: Params, limit: number, now: number): Promise<QueryResult>;
}

const HOUR = 3_600_000;

function time(p: Params, key: string): number | undefined {
  const v = p[key];
  if (v === undefined || v === null || v === '') return undefined;
  const t = typeof v === 'number' ? v : typeof v === 'string' ? (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : Date.parse(v)) : v instanceof Date ? v.getTime() : NaN;
  if (!Number.isFinite(t)) throw new Error(`${key} must be a time (ms since epoch or an ISO date), got ${JSON.stringify(v)}`);
  return t;
}

/** The time range of a query: `from`/`to`, or `last` ms before `to`; `defaultSpan` when neither bound is given. */
function range(p: Params, now: number, defaultSpan: number | null): { from: number | undefined; to: number | undefined } {
  let to = time(p, 'to');
  let from = time(p, 'from');
  if (p.last !== undefined) {
    const last = p.last;
    if (typeof last !== 'number' || !Number.isFinite(last) || last <= 0) throw new Error(`last must be a positive number of ms, got ${JSON.stringify(last)}`);
    if (from !== undefined) throw new Error('give either from or last, not both');
    to ??= now;
    from = to - last;
  }
  if (defaultSpan !== null) {
    to ??= now;
    from ??= to - defaultSpan;
  }
  if (from !== undefined && to !== undefined && from > to) throw new Error(`from (${from}) is after to (${to})`);
  return { from, to };
}

function text(p: Params, key: string): string | undefined {
  const v = p[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new Error(`${key} must be a string, got ${typeof v}`);
  return v;
}

function ipParam(p: Params, key: string, required: boolean): string | undefined {
  const v = text(p, key);
  if (v === undefined) {
    if (required) throw new Error(`${key} is required (an IP address)`);
    return undefined;
  }
  if (!isValidIp(v)) throw new Error(`${key} is not a valid IP address: ${JSON.stringify(v)}`);
  return v;
}

/** The `sensor` filter: a sensor's name; absent = every sensor and this box. */
function sensorParam(p: Params): string | undefined {
  const v = text(p, 'sensor');
  return v === undefined ? undefined : checkSensorName(v, 'sensor');
}

function iso(ts: unknown): string | null {
  return typeof ts === 'number' && Number.isFinite(ts) ? new Date(ts).toISOString() : null;
}

/** WHERE clause from optional equality filters and a time range on `col`. */
function where(eq: [string, SqlValue | undefined][], col: string, from?: number, to?: number): { sql: string; params: SqlValue[] } {
  const parts: string[] = [];
  const params: SqlValue[] = [];
  for (const [c, v] of eq) {
    if (v === undefined) continue;
    parts.push(`${c} = ?`);
    params.push(v);
  }
  if (from !== undefined) {
    parts.push(`${col} >= ?`);
    params.push(from);
  }
  if (to !== undefined) {
    parts.push(`${col} <= ?`);
    params.push(to);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/** Stored alert rows as the dashboards read them: the time as ISO text, the references (JSON text in `refs`) as an array. */
function alertRows(rows: Record<string, SqlValue>[]): Record<string, unknown>[] {
  return rows.map((r) => ({ time: iso(r.ts), ...r, references: decodeList(r.references) }));
}

/** deviceHistory without `ip`: how many of the busiest devices get a series. */
export const HISTORY_DEVICES = 10;

export type QueryName = 'recentAlerts' | 'alertsPerMinute' | 'topTalkers' | 'deviceHistory' | 'blockHistory' | 'recentFlows' | 'sensors' | 'sensorDevices' | 'fleetBlocklist';

export const QUERIES: Record<QueryName, QueryDef> = {
  /** Newest alerts first, optionally filtered. Table rows. */
  recentAlerts: {
    params: ['rule', 'severity', 'category', 'src', 'sensor', 'from', 'to', 'last', 'loggedTo', 'limit'],
    async run(db, p, limit, now) {
      const { from, to } = range(p, now, null);
      const w = where([['rule', text(p, 'rule')], ['severity', text(p, 'severity')], ['category', text(p, 'category')], ['src', text(p, 'src')], ['sensor', sensorParam(p)]], 'ts', from, to);
      // loggedTo: only rows written by then (a flow's reload on deploy takes the history before it, never the alerts raised since)
      const loggedTo = time(p, 'loggedTo');
      if (loggedTo !== undefined) {
        w.sql = `${w.sql ? `${w.sql} AND` : 'WHERE'} logged <= ?`;
        w.params.push(loggedTo);
      }
      const rows = await all<Record<string, SqlValue>>(db,
        `SELECT id, ${readAlertColumns}
         FROM alerts ${w.sql} ORDER BY ts DESC LIMIT ?`, [...w.params, limit]);
      const payload = alertRows(rows);
      return { name: 'recentAlerts', payload, count: payload.length };
    },
  },
  /** Alert counts per minute and category, zero-filled. Chart. Buckets widen past `limit` minutes. */
  alertsPerMinute: {
    params: ['category', 'from', 'to', 'last', 'limit'],
    async run(db, p, limit, now) {
      const { from, to } = range(p, now, HOUR) as { from: number; to: number };
      let bucketMs = Math.max(60_000, Math.ceil((to - from) / limit / 60_000) * 60_000);
      // Buckets are aligned to the clock, so an unaligned range can touch one more; widen until it fits.
      while (Math.floor(to / bucketMs) - Math.floor(from / bucketMs) + 1 > limit) bucketMs += 60_000;
      // From the per-minute counts the writer keeps (whole minutes: the first and last bucket count their full minutes).
      const w = where([['category', text(p, 'category')]], 'minute', Math.floor(from / 60_000), Math.floor(to / 60_000));
      const rows = await all<{ b: number; category: string | null; n: number }>(db,
        `SELECT CAST(minute / ${bucketMs / 60_000} AS INTEGER) AS b, category, sum(n) AS n FROM alert_minutes ${w.sql} GROUP BY b, category`, w.params);
      const first = Math.floor(from / bucketMs);
      const last = Math.floor(to / bucketMs);
      const series = [...new Set(rows.map((r) => r.category ?? 'unknown'))].sort();
      const data = series.map(() => [] as { x: number; y: number }[]);
      const counts = new Map(rows.map((r) => [`${r.category ?? 'unknown'}|${r.b}`, r.n]));
      series.forEach((s, i) => {
        for (let b = first; b <= last; b++) data[i].push({ x: b * bucketMs, y: counts.get(`${s}|${b}`) ?? 0 });
      });
      const points = data.reduce((n, d) => n + d.length, 0);
      return { name: 'alertsPerMinute', payload: [{ series, data, labels: [''] }], count: points, bucketMs };
    },
  },
  /** Devices with the highest average rate in the range (default: the last hour). Table rows. */
  topTalkers: {
    params: ['from', 'to', 'last', 'limit'],
    async run(db, p, limit, now) {
      const { from, to } = range(p, now, HOUR) as { from: number; to: number };
      // Whole hours inside the range come from the hourly sums the writer keeps; the partial hours at either end from the samples.
      const firstHour = Math.ceil(from / HOUR);
      const endHour = Math.floor((to + 1) / HOUR);
      const parts: string[] = [];
      const params: SqlValue[] = [];
      const raw = (cond: string, ...v: number[]) => {
        parts.push(`SELECT ip, sum(rx_bps) AS rx, sum(tx_bps) AS tx, max(rx_bps + tx_bps) AS peak, count(*) AS n FROM devices WHERE ${cond} GROUP BY ip`);
        params.push(...v);
      };
      if (endHour > firstHour) {
        raw('ts >= ? AND ts < ?', from, firstHour * HOUR);
        parts.push('SELECT ip, rx_sum, tx_sum, peak, samples FROM device_hours WHERE hour >= ? AND hour < ?');
        params.push(firstHour, endHour);
        raw('ts >= ? AND ts <= ?', endHour * HOUR, to);
      } else raw('ts >= ? AND ts <= ?', from, to);
      const rows = await all<{ ip: string; rx: number; tx: number; peak: number; samples: number }>(db,
        `SELECT ip, sum(rx) / sum(n) AS rx, sum(tx) / sum(n) AS tx, max(peak) AS peak, sum(n) AS samples
         FROM (${parts.join(' UNION ALL ')}) GROUP BY ip ORDER BY (sum(rx) + sum(tx)) / sum(n) DESC LIMIT ?`, [...params, limit]);
      const payload = [];
      for (const r of rows) {
        const [latest] = await all<{ mac: string | null; vendor: string | null; hostname: string | null }>(db,
          'SELECT mac, vendor, hostname FROM devices WHERE ip = ? AND ts <= ? ORDER BY ts DESC LIMIT 1', [r.ip, to]);
        payload.push({
          ip: r.ip, mac: latest?.mac ?? null, vendor: latest?.vendor ?? null, hostname: latest?.hostname ?? null,
          rxBps: Math.round(r.rx), txBps: Math.round(r.tx), totalBps: Math.round(r.rx + r.tx), peakBps: Math.round(r.peak), samples: r.samples,
        });
      }
      return { name: 'topTalkers', payload, count: payload.length };
    },
  },
  /** One device's receive/transmit rate over time (default: the last 24 h), averaged into at most `limit` points. Chart. */
  deviceHistory: {
    params: ['ip', 'from', 'to', 'last', 'limit'],
    async run(db, p, limit, now) {
      const ip = ipParam(p, 'ip', false);
      const { from, to } = range(p, now, 24 * HOUR) as { from: number; to: number };
      const bucketMs = Math.max(1, Math.ceil((to - from) / limit));
      const history = (one: string) => all<{ x: number; rx: number; tx: number }>(db,
        `SELECT min(ts) AS x, avg(rx_bps) AS rx, avg(tx_bps) AS tx FROM devices
         WHERE ip = ? AND ts >= ? AND ts <= ? GROUP BY min(CAST((ts - ?) / ? AS INTEGER), ?) ORDER BY x`, [one, from, to, from, bucketMs, limit - 1]);
      if (ip !== undefined) {
        const rows = await history(ip);
        const data = [rows.map((r) => ({ x: r.x, y: r.rx })), rows.map((r) => ({ x: r.x, y: r.tx }))];
        return { name: 'deviceHistory', payload: [{ series: [`${ip} rx B/s`, `${ip} tx B/s`], data, labels: [''] }], count: rows.length, bucketMs };
      }
      // Every device: the busiest few over the range (a chart of a hundred lines says nothing), both directions summed.
      const top = await all<{ ip: string }>(db,
        `SELECT ip FROM devices WHERE ts >= ? AND ts <= ? GROUP BY ip ORDER BY sum(rx_bps + tx_bps) DESC, ip LIMIT ?`, [from, to, HISTORY_DEVICES]);
      const series = top.map((r) => r.ip);
      const data = await Promise.all(series.map(async (one) => (await history(one)).map((r) => ({ x: r.x, y: r.rx + r.tx }))));
      const count = data.reduce((n, d) => n + d.length, 0);
      return { name: 'deviceHistory', payload: [{ series: series.map((one) => `${one} B/s`), data, labels: [''] }], count, bucketMs };
    },
  },
  /** Block, update, unblock and expire events, newest first. Table rows. */
  blockHistory: {
    params: ['ip', 'event', 'sensor', 'from', 'to', 'last', 'limit'],
    async run(db, p, limit, now) {
      const { from, to } = range(p, now, null);
      const w = where([['ip', ipParam(p, 'ip', false)], ['event', text(p, 'event')], ['sensor', sensorParam(p)]], 'ts', from, to);
      const rows = await all<Record<string, SqlValue>>(db,
        `SELECT id, ts, event, ip, since, expires, reason, rule, sensor FROM blocks ${w.sql} ORDER BY ts DESC, id DESC LIMIT ?`, [...w.params, limit]);
      const payload = rows.map((r) => ({ time: iso(r.ts), ...r, expiresAt: r.expires ? iso(r.expires) : null }));
      return { name: 'blockHistory', payload, count: payload.length };
    },
  },
  /** Newest flow records first, optionally for one source. Table rows. */
  recentFlows: {
    params: ['src', 'sensor', 'from', 'to', 'last', 'limit'],
    async run(db, p, limit, now) {
      const { from, to } = range(p, now, null);
      const w = where([['src', ipParam(p, 'src', false)], ['sensor', sensorParam(p)]], 'ts', from, to);
      const rows = await all<Record<string, SqlValue>>(db,
        `SELECT id, ts, proto, src, dst, sport, dport, orig_bytes AS origBytes, orig_packets AS origPackets,
                reply_bytes AS replyBytes, reply_packets AS replyPackets, state, start_ts AS start, end_ts AS end, sensor
         FROM flows ${w.sql} ORDER BY ts DESC LIMIT ?`, [...w.params, limit]);
      const payload = rows.map((r) => ({ time: iso(r.ts), ...r }));
      return { name: 'recentFlows', payload, count: payload.length };
    },
  },
  /** The fleet: every sensor with its last health report, when it was last heard from, and its alerts in the last hour. Table rows. */
  sensors: {
    params: ['limit'],
    async run(db, _p, limit, now) {
      const rows = await all<{ name: string; last_seen: number; health: string | null; alerts: number }>(db,
        `SELECT name, last_seen, health, (SELECT count(*) FROM alerts WHERE alerts.sensor = sensors.name AND ts >= ?) AS alerts
         FROM sensors ORDER BY name LIMIT ?`, [now - HOUR, limit]);
      const payload = rows.map((r) => {
        let health: Record<string, unknown> = {};
        try {
          health = r.health ? (JSON.parse(r.health) as Record<string, unknown>) : {};
        } catch {
          // a report that was not JSON is shown as none
        }
        return { sensor: r.name, lastSeen: r.last_seen, lastSeenTime: iso(r.last_seen), ageS: Math.round((now - r.last_seen) / 1000), alertsLastHour: r.alerts, ...health };
      });
      return { name: 'sensors', payload, count: payload.length };
    },
  },
  /** Each sensor's devices as last reported (default: within the last 10 minutes), optionally of one sensor. Table rows. */
  sensorDevices: {
    params: ['sensor', 'from', 'to', 'last', 'limit'],
    async run(db, p, limit, now) {
      const { from, to } = range(p, now, 10 * 60_000) as { from: number; to: number };
      const w = where([['sensor', sensorParam(p)]], 'ts', from, to);
      const rows = await all<Record<string, SqlValue>>(db,
        `SELECT sensor, ip, mac, vendor, hostname, rx_bps AS rxBps, tx_bps AS txBps, flows, last_seen AS lastSeen, max(ts) AS ts
         FROM devices ${w.sql} GROUP BY sensor, ip ORDER BY sensor, ip LIMIT ?`, [...w.params, limit]);
      return { name: 'sensorDevices', payload: rows, count: rows.length };
    },
  },
  /** Addresses blocked now on any sensor, as each sensor's block lists last reported them. Table rows. */
  fleetBlocklist: {
    params: ['sensor', 'limit'],
    async run(db, p, limit, now) {
      const sensor = sensorParam(p);
      const rows = await all<Record<string, SqlValue>>(db,
        `SELECT sensor, ip, since, expires, reason, rule FROM blocks
         WHERE id IN (SELECT max(id) FROM blocks GROUP BY sensor, ip) AND event IN ('block', 'update')
           AND (expires = 0 OR expires > ?) ${sensor === undefined ? '' : 'AND sensor = ?'}
         ORDER BY ip, sensor LIMIT ?`, sensor === undefined ? [now, limit] : [now, sensor, limit]);
      const payload = rows.map((r) => ({ ...r, expiresAt: r.expires ? iso(r.expires) : null }));
      return { name: 'fleetBlocklist', payload, count: payload.length };
    },
  },
};
export const QUERY_NAMES = Object.keys(QUERIES) as QueryName[];

/** Default rows/points when the request gives no `limit`. */
const DEFAULT_LIMIT: Record<QueryName, number> = {
  recentAlerts: 100, alertsPerMinute: 240, topTalkers: 10, deviceHistory: 500, blockHistory: 100, recentFlows: 100, sensors: 500, sensorDevices: 1000, fleetBlocklist: 1000,
};

export interface QueryRequest {
  name: QueryName;
  params: Params;
  limit: number;
}

/** Validate a request `{ name, ...params }`; `maxLimit` bounds any result. */
export function parseQuery(request: unknown, maxLimit: number): QueryRequest {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new Error(`a query is an object { name, ...params } with name one of ${QUERY_NAMES.join(', ')}`);
  }
  const { name, ...params } = request as Params;
  if (typeof name !== 'string' || !(name in QUERIES)) throw new Error(`unknown query ${JSON.stringify(name)}: expected one of ${QUERY_NAMES.join(', ')}`);
  const qname = name as QueryName;
  const def: QueryDef = QUERIES[qname];
  for (const key of Object.keys(params)) {
    if (!def.params.includes(key)) throw new Error(`unknown parameter '${key}' for ${qname}: expected ${def.params.join(', ')}`);
  }
  let limit = Math.min(DEFAULT_LIMIT[qname], maxLimit);
  if (params.limit !== undefined) {
    const l = params.limit;
    if (typeof l !== 'number' || !Number.isInteger(l) || l < 1 || l > maxLimit) throw new Error(`limit must be an integer 1..${maxLimit}, got ${JSON.stringify(l)}`);
    limit = l;
  }
  return { name: qname, params, limit };
}

export async function runQuery(db: Db, req: QueryRequest, now = Date.now()): Promise<QueryResult> {
  const def: QueryDef = QUERIES[req.name];
  return def.run(db, req.params, req.limit, now);
}
