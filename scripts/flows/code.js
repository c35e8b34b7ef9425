// The code of the function nodes both dashboard variants share: they shape
// the processing nodes' messages into what the dashboard shows (alert rows,
// counts, chart data, the device list). Charts get node-red-dashboard's chart
// format ([{ series, data, labels }]); the Dashboard 2 variant converts it for
// its ui-chart where the widget is drawn (scripts/flows/dashboard2.js).
'use strict';

/** Alert → dashboard models (log rows, counts by category and flood rule, alerts per time bucket), sent at most every 250 ms. */
const ALERT_MODEL_FUNC = `// Keeps the dashboard's view of the alerts: the last 500 log rows, counts per
// category and per flood rule, and alerts per 10 s of packet time.
const BUCKET_MS = 10000;
const MAX_BUCKETS = 360;
const state = context.get('state') || { rows: [], seq: 0, byCategory: {}, byFlood: {}, buckets: {} };
if (msg.topic === 'clear') {
    context.set('state', undefined);
    return [{ payload: [] }, { payload: {} }, { payload: [] }, { payload: [] }, { payload: [] }];
}
const alerts = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
for (const a of alerts) {
    if (!a || typeof a.rule !== 'string') continue;
    state.seq += 1;
    state.rows.unshift({ key: state.seq, ts: a.ts, src: a.src, sport: a.sport, dst: a.dst, dport: a.dport, srcMac: a.srcMac, proto: a.proto,
        rule: a.rule, sid: a.sid, signature: a.signature, category: a.category, severity: a.severity, action: a.action,
        count: a.count, threshold: a.threshold, windowMs: a.windowMs, reason: a.reason, evidence: a.evidence, detector: a.detector,
        list: a.list, listEntry: a.listEntry, device: a.device, deviceMac: a.deviceMac, deviceVendor: a.deviceVendor, country: a.country, asn: a.asn, asOrg: a.asOrg,
        mlClass: a.mlClass, probability: a.probability, gid: a.gid, rev: a.rev, classtype: a.classtype, references: a.references });
    if (state.rows.length > 500) state.rows.length = 500;
    state.byCategory[a.category] = (state.byCategory[a.category] || 0) + 1;
    if (a.category === 'flood') {
        const kind = a.rule.split('.')[1] || a.rule;
        state.byFlood[kind] = (state.byFlood[kind] || 0) + 1;
    }
    const bucket = Math.floor(a.ts / BUCKET_MS) * BUCKET_MS;
    const perCat = state.buckets[a.category] = state.buckets[a.category] || {};
    perCat[bucket] = (perCat[bucket] || 0) + 1;
}
context.set('state', state);
if (context.get('timer')) return null;
context.set('timer', setTimeout(() => {
    context.set('timer', undefined);
    const s = context.get('state');
    if (!s) return;
    const categories = Object.keys(s.byCategory).sort();
    const floods = Object.keys(s.byFlood).sort();
    // Every bucket from one before the first alert to one after the last (at most MAX_BUCKETS), zeros included:
    // a category with alerts in one bucket only is then still a visible line.
    let first = Infinity;
    let last = -Infinity;
    for (const c of categories) for (const t of Object.keys(s.buckets[c])) { first = Math.min(first, Number(t)); last = Math.max(last, Number(t)); }
    first = Math.max(first - BUCKET_MS, last - (MAX_BUCKETS - 2) * BUCKET_MS);
    const times = [];
    for (let t = first; t <= last + BUCKET_MS; t += BUCKET_MS) times.push(t);
    const line = [{
        series: categories,
        data: categories.map((c) => times.map((t) => ({ x: t, y: s.buckets[c][t] || 0 }))),
        labels: ['']
    }];
    const pie = [{ series: ['alerts'], data: [categories.map((c) => s.byCategory[c])], labels: categories }];
    const bar = [{ series: ['alerts'], data: [floods.map((f) => s.byFlood[f])], labels: floods }];
    const total = categories.reduce((n, c) => n + s.byCategory[c], 0);
    node.send([
        { payload: s.rows },
        { payload: { total, byCategory: s.byCategory } },
        { payload: line },
        { payload: pie },
        { payload: bar }
    ]);
}, 250));
return null;`;

/** A slider value → a detector's runtime config message: {topic:'config', payload:{[setting]: value}}. */
const SLIDER_TO_CONFIG_FUNC = `// msg.topic names the detector setting the slider changes.
const scale = { limitBps: 1024 }[msg.topic] || 1;
return { topic: 'config', payload: { [msg.topic]: Math.round(Number(msg.payload) * scale) } };`;

/** Blocklist messages get the time they arrived, so the template can show time left. */
const BLOCKLIST_STAMP_FUNC = `msg.receivedAt = Date.now();
msg.payload = Object.assign({}, msg.payload, { dryRun: env.get('BLOCK_DRYRUN') === 'true' });
return msg;`;

/** Joins the latest device stats with the blocklist, for the device list. */
const DEVICE_VIEW_FUNC = `if (msg.topic === 'blocklist') context.set('blocked', (msg.payload.blocked || []).map((b) => b.ip));
else if (msg.topic === 'devices') context.set('devices', msg.payload);
else return null;
const blocked = context.get('blocked') || [];
const devices = (context.get('devices') || []).map((d) => Object.assign({}, d, { blocked: blocked.includes(d.ip) }));
return { topic: 'devices', payload: { devices } };`;

/** Live KB/s per device for the line chart: one point per device per poll. */
const DEVICE_RATE_FUNC = `// One series per IP: a label that changed once the vendor or hostname became known would start a second line.
const out = (msg.payload || []).map((d) => ({ topic: d.ip, payload: Math.round((d.rxBps + d.txBps) / 102.4) / 10 }));
return [out];`;

/** sqlite-log's deviceHistory (the busiest devices, B/s, one point a minute) as KB/s per IP for the chart. */
const HOUR_KBS_FUNC = `const chart = (msg.payload || [])[0];
if (!chart || chart.series.length === 0) return null;
msg.payload = [{ series: chart.series.map((s) => s.replace(/ B\\/s$/, '')), labels: chart.labels,
    data: chart.data.map((points) => points.map((p) => ({ x: p.x, y: Math.round(p.y / 102.4) / 10 }))) }];
return msg;`;

/**
 * ip-reputation's three outputs and vendor-lookup's device stats → the threat-lists view: each list's size, age, last
 * refresh and hits; the devices that reached listed addresses, with MAC and vendor; each device's top destination countries.
 */
const REPUTATION_VIEW_FUNC = `// Keeps the threat-lists view: lists (ip-reputation's list report), devices
// that reached listed addresses (its alerts), destination countries per
// device (the flow records it enriched with GeoIP). A device's MAC and vendor
// come from its alert or, when the alert was raised before the router's
// neighbour table had the MAC, from the device stats that follow.
const state = context.get('state') || { lists: [], devices: {}, countries: {}, known: {} };
state.known = state.known || {};
const fill = (d) => {
    const k = state.known[d.device];
    if (!k) return false;
    const before = d.mac + ' ' + d.vendor;
    d.mac = d.mac || k.mac;
    d.vendor = d.vendor || k.vendor;
    return d.mac + ' ' + d.vendor !== before;
};
if (msg.topic === 'lists') {
    state.lists = (msg.payload || []).map((l) => ({ name: l.name, category: l.category, entries: l.entries, ageS: l.ageS, hits: l.hits,
        result: l.last ? l.last.result : '', reason: l.last ? l.last.reason : '', at: l.last ? l.last.at : 0 }));
} else if (msg.topic === 'devices' && Array.isArray(msg.payload)) {
    let changed = false;
    for (const s of msg.payload) {
        if (!s || !s.ip || !(s.mac || s.vendor)) continue;
        const k = state.known[s.ip] = state.known[s.ip] || {};
        k.mac = s.mac || k.mac;
        k.vendor = s.vendor || k.vendor;
        if (state.devices[s.ip] && fill(state.devices[s.ip])) changed = true;
    }
    context.set('state', state);
    // device stats come every poll: the view is sent again only when a listed device's MAC or vendor became known
    if (!changed) return null;
} else if (msg.payload && msg.payload.category === 'reputation') {
    const a = msg.payload;
    const d = state.devices[a.device] = state.devices[a.device] || { device: a.device, lists: [], hits: 0 };
    d.mac = a.deviceMac || d.mac;
    d.vendor = a.deviceVendor || d.vendor;
    fill(d);
    d.hits += a.count || 1;
    d.last = a.ts;
    d.listed = a.offender;
    if (d.lists.indexOf(a.list) < 0) d.lists.push(a.list);
    const l = state.lists.find((x) => x.name === a.list);
    if (l) l.hits = (l.hits || 0) + (a.count || 1);
} else if (msg.topic === 'flows' && Array.isArray(msg.payload)) {
    let counted = false;
    for (const f of msg.payload) {
        if (!f.country) continue;
        const device = f.device || f.src;
        const per = state.countries[device] = state.countries[device] || {};
        per[f.country] = (per[f.country] || 0) + 1;
        counted = true;
    }
    if (!counted) return null;
} else {
    return null;
}
context.set('state', state);
const top = (per) => Object.keys(per).sort((x, y) => per[y] - per[x]).slice(0, 5).map((c) => c + ' ' + per[c]).join(', ');
return { payload: {
    lists: state.lists,
    devices: Object.values(state.devices).sort((x, y) => y.last - x.last),
    countries: Object.keys(state.countries).sort().map((device) => ({ device, top: top(state.countries[device]) })),
} };`;

/**
 * sqlite-log's recentAlerts (newest first) → the alerts as they were raised (oldest first): one batch for the
 * alert log (output 1), each reputation alert for the router's threat-lists view (output 2; the analyst flow
 * leaves it unwired). The rows carry every stored Alert field: reputation and GeoIP (schema 7), the rule's
 * gid, rev, classtype and references and the model's class and probability (schema 8).
 */
const RELOAD_ALERTS_FUNC = `// The stored rows have every Alert field (null where the alert had none) plus the row's id, time and uid.
if (msg.topic !== 'recentAlerts' || !Array.isArray(msg.payload)) return null;
const alerts = msg.payload.slice().reverse().map((r) => {
    const a = {};
    for (const k of Object.keys(r)) if (r[k] !== null && k !== 'id' && k !== 'time' && k !== 'uid') a[k] = r[k];
    return a;
});
node.status({ text: alerts.length + ' alerts from the history' });
if (alerts.length === 0) return null;
return [{ payload: alerts }, alerts.filter((a) => a.category === 'reputation').map((a) => ({ topic: a.rule, payload: a }))];`;

/**
 * flow-classify's judged flows → the last capture's flows as CSV rows (the
 * columns of `ips flows`, from lib/detect/flow/features.ts, then the model's
 * class and probability), served to the flows.csv download.
 */
const FLOWS_CSV_FUNC = (() => {
  const { flowCsvHeader, FLOW_FEATURES } = require('../../dist/lib/detect/flow/features.js');
  const header = [...flowCsvHeader(false), 'ML Class', 'ML Probability'];
  return `// Keeps the judged flows of the last capture (a reset starts the next) as CSV lines; an HTTP request gets them all.
const MAX_ROWS = 100000; // about 60 MB of text at most
const HEADER = ${JSON.stringify(header)};
const FEATURES = ${JSON.stringify(FLOW_FEATURES)};
const field = (v) => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\\r\\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
};
if (msg.topic === 'reset') {
    context.set('rows', []);
    context.set('skipped', 0);
    node.status({});
    return null;
}
const rows = context.get('rows') || [];
if (msg.req) {
    msg.payload = [HEADER.map(field).join(',')].concat(rows).join('\\r\\n') + '\\r\\n';
    msg.headers = { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'attachment; filename="flows.csv"' };
    return msg;
}
for (const f of Array.isArray(msg.payload) ? msg.payload : []) {
    if (rows.length >= MAX_ROWS) { context.set('skipped', (context.get('skipped') || 0) + 1); continue; }
    const row = [f.flowId, f.src, f.sport, f.dst, f.dport, new Date(f.start).toISOString(), f.reason];
    for (const name of FEATURES) row.push(f.features[name]);
    row.push(f.mlClass, f.probability);
    rows.push(row.map(field).join(','));
}
context.set('rows', rows);
const skipped = context.get('skipped') || 0;
node.status({ text: rows.length + ' flows' + (skipped ? ' (' + skipped + ' over the cap not kept)' : '') });
return null;`;
})();


/** The fleet dashboard's queries to sqlite-log, on every tick and when the sensor filter changes: sensors, blocklist, devices, alerts (of the filter's sensor). */
const FLEET_QUERIES_FUNC = `// The sensor filter (empty = every sensor); a name sqlite-log would refuse filters nothing, with a warning.
let sensor = String(flow.get('sensor_filter') || '').trim();
if (sensor && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(sensor)) {
    node.warn('not a sensor name: ' + JSON.stringify(sensor) + ': showing every sensor');
    sensor = '';
}
node.status({ text: sensor ? 'alerts of ' + sensor : 'alerts of every sensor' });
const alerts = { name: 'recentAlerts', limit: 200 };
if (sensor) alerts.sensor = sensor;
// the blocklist before the devices: the device list shows which are blocked
return [[{ topic: 'query', payload: { name: 'sensors' } }, { topic: 'query', payload: { name: 'fleetBlocklist' } },
    { topic: 'query', payload: { name: 'sensorDevices' } }, { topic: 'query', payload: alerts }]];`;

/** sqlite-log's fleet query results → the fleet dashboard's views (sensors, alerts, devices, blocklist), each with a sensor column. */
const FLEET_VIEW_FUNC = `const rows = Array.isArray(msg.payload) ? msg.payload : [];
const uptime = (s) => typeof s !== 'number' ? '' : s >= 86400 ? Math.floor(s / 86400) + ' d ' + Math.floor(s % 86400 / 3600) + ' h'
    : s >= 3600 ? Math.floor(s / 3600) + ' h ' + Math.floor(s % 3600 / 60) + ' min' : Math.floor(s / 60) + ' min';
switch (msg.topic) {
case 'sensors':
    // offline: the broker delivered the sensor's will, or it has been silent for 2 minutes (4 health reports at the default 30 s)
    return [{ payload: rows.map((r) => ({ sensor: r.sensor, state: r.status === 'offline' || r.ageS > 120 ? 'offline' : 'online', ageS: r.ageS,
        version: r.version, uptime: uptime(r.uptimeS), packets: r.packets, drops: r.drops, queued: r.queued, dropped: r.dropped, alertsLastHour: r.alertsLastHour })) },
        null, null, null];
case 'recentAlerts':
    return [null, { sensorColumn: true, payload: rows.map((a) => ({ key: a.id, ts: a.ts, sensor: a.sensor, src: a.src, sport: a.sport, dst: a.dst, dport: a.dport,
        srcMac: a.srcMac, proto: a.proto, rule: a.rule, sid: a.sid, signature: a.signature, category: a.category, severity: a.severity, action: a.action,
        count: a.count, threshold: a.threshold, windowMs: a.windowMs, reason: a.reason, evidence: a.evidence, detector: a.detector,
        list: a.list, listEntry: a.listEntry, device: a.device, deviceMac: a.deviceMac, deviceVendor: a.deviceVendor, country: a.country, asn: a.asn, asOrg: a.asOrg,
        mlClass: a.mlClass, probability: a.probability, gid: a.gid, rev: a.rev, classtype: a.classtype, references: a.references })) }, null, null];
case 'sensorDevices': {
    const blocked = context.get('blocked') || [];
    return [null, null, { sensorColumn: true, payload: { devices: rows.map((d) => Object.assign({}, d, { blocked: blocked.includes(d.ip) })) } }, null];
}
case 'fleetBlocklist': {
    // one row per address: a fleet decision blocks it on every sensor, and its Unblock lifts it on all
    const byIp = {};
    for (const r of rows) {
        const b = byIp[r.ip] = byIp[r.ip] || { ip: r.ip, sensors: [], since: r.since, expires: r.expires, reason: r.reason };
        b.sensors.push(r.sensor);
        b.since = Math.min(b.since, r.since);
    }
    const blocked = Object.values(byIp).map((b) => Object.assign(b, { sensor: b.sensors.join(', ') }));
    context.set('blocked', blocked.map((b) => b.ip));
    return [null, null, null, { sensorColumn: true, receivedAt: Date.now(), payload: { blocked } }];
}
default:
    return null;
}`;

/** The address typed on the fleet dashboard → a block decision for fleet-central. */
const BLOCK_EVERYWHERE_FUNC = `const ip = String(flow.get('block_ip') || '').trim();
if (!ip) {
    node.warn('type an address to block first');
    return null;
}
// fleet-central checks the address and says why it refuses one
return { topic: 'block', payload: ip };`;

module.exports = { RELOAD_ALERTS_FUNC, FLOWS_CSV_FUNC, FLEET_QUERIES_FUNC, FLEET_VIEW_FUNC, BLOCK_EVERYWHERE_FUNC, REPUTATION_VIEW_FUNC, ALERT_MODEL_FUNC, SLIDER_TO_CONFIG_FUNC, BLOCKLIST_STAMP_FUNC, DEVICE_VIEW_FUNC, DEVICE_RATE_FUNC, HOUR_KBS_FUNC };
