#!/usr/bin/env node
// Writes the two shipped flows, flows/analyst-ids.json and flows/router-ips.json.
// They are generated so the dashboard templates and helper functions shared by
// both are written once. The detector chain and its settings come from the
// built package (lib/detect/chain.ts, the nodes' schemas), so run it after
// `npm run build`: `node scripts/make-flows.js` rewrites them;
// `--check` exits 1 when the committed files differ from what this script makes.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const { DETECTOR_CHAIN } = require('../dist/lib/detect/chain.js');
// Settings come from the one declaration in each node's schema (lib/), read from the build (npm run build first).
const { NODE_SCHEMAS } = require('../dist/nodes/common/node-types.js');
const { editorValue } = require('../dist/nodes/common/editor.js');
const { currentVersion } = require('../dist/nodes/common/migrations.js');

/**
 * A node's settings as the editor stores them: every schema default, then
 * `overrides` (a flow's own choices, such as a `${NAME}` reference). An
 * override of a setting the schema does not declare is a mistake: it throws.
 */
function settingsOf(type, overrides = {}) {
  const schema = NODE_SCHEMAS[type];
  if (!schema) throw new Error(`no settings schema for ${type}`);
  const out = { version: currentVersion(type) };
  for (const [key, spec] of Object.entries(schema)) out[key] = editorValue(spec);
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in schema)) throw new Error(`${type} has no setting '${key}'`);
    out[key] = value;
  }
  return out;
}

/**
 * Tab-level environment: each name defaults from a process environment
 * variable (JSONata `$env`), so one place configures interfaces, LAN and files.
 */
function envVar(name, processVar, fallback) {
  const value = fallback === '' ? `$env("${processVar}")` : `$env("${processVar}") ? $env("${processVar}") : "${fallback}"`;
  return { name, value, type: 'jsonata' };
}
const dryRunVar = { name: 'BLOCK_DRYRUN', value: '$env("IPS_BLOCK_DRYRUN") = "false" ? "false" : "true"', type: 'jsonata' };

/** A flow builder: nodes on one tab, laid out in rows, ids prefixed. */
function builder(prefix, tab) {
  const nodes = [tab];
  const id = (name) => `${prefix}.${name}`;
  const add = (name, type, props, x, y, wires) => {
    const n = { id: id(name), type, z: tab.id, ...props };
    if (x !== undefined) {
      n.x = x;
      n.y = y;
    }
    if (wires !== undefined) n.wires = wires.map((out) => out.map(id));
    nodes.push(n);
    return n;
  };
  /** Config nodes (ui_tab, ui_group) have no z. */
  const config = (name, type, props) => {
    const n = { id: id(name), type, ...props };
    nodes.push(n);
    return n;
  };
  return { nodes, id, add, config };
}

// ---------------------------------------------------------------- shared dashboard pieces

const SEVERITY_STYLE = `<style>
.ips-sev-high { color: #fff; background: #c62828; }
.ips-sev-medium { color: #000; background: #f9a825; }
.ips-sev-low { color: #fff; background: #1565c0; }
.ips-sev { padding: 1px 6px; border-radius: 3px; font-weight: bold; }
.ips-table { width: 100%; border-collapse: collapse; font-size: 12px; }
.ips-table th, .ips-table td { text-align: left; padding: 2px 4px; border-bottom: 1px solid rgba(128,128,128,.3); vertical-align: top; }
.ips-table tr.ips-row { cursor: pointer; }
.ips-table tr.ips-selected { outline: 2px solid #1565c0; }
.ips-hex { font-family: monospace; font-size: 11px; white-space: pre; overflow-x: auto; background: rgba(128,128,128,.12); padding: 4px; }
</style>`;

/** Threat log: table with severity colours, a severity filter, and the selected alert's packet view. */
const THREAT_LOG_TEMPLATE = `${SEVERITY_STYLE}
<div class="ips-threat-log">
  <label>Severity
    <select ng-model="filterSeverity" ng-init="filterSeverity = filterSeverity || ''" class="ips-severity-filter">
      <option value="">all</option><option value="high">high</option><option value="medium">medium</option><option value="low">low</option>
    </select>
  </label>
  <span class="ips-log-count">{{(msg.payload || []).length}} alerts</span>
  <table class="ips-table">
    <thead><tr><th>time</th><th>source</th><th>type / rule</th><th>severity</th><th>action</th><th>reason</th></tr></thead>
    <tbody>
      <tr class="ips-row" ng-repeat="a in (msg.payload || []) | filter: (filterSeverity ? {severity: filterSeverity} : undefined) track by a.key"
          ng-click="$parent.selectedKey = a.key" ng-class="{'ips-selected': a.key === selectedKey}" data-rule="{{a.rule}}">
        <td>{{a.ts | date:'yyyy-MM-dd HH:mm:ss'}}</td>
        <td>{{a.src}}<span ng-if="a.sport">:{{a.sport}}</span></td>
        <td>{{a.category}} / {{a.rule}}</td>
        <td><span class="ips-sev ips-sev-{{a.severity}}">{{a.severity}}</span></td>
        <td>{{a.action}}</td>
        <td>{{a.reason}}</td>
      </tr>
    </tbody>
  </table>
  <div class="ips-packet-view" ng-if="selectedKey" ng-repeat="a in (msg.payload || []) | filter: {key: selectedKey}:true">
    <h4>{{a.signature}} <span class="ips-sev ips-sev-{{a.severity}}">{{a.severity}}</span></h4>
    <table class="ips-table ips-headers">
      <tr><th>time</th><td>{{a.ts | date:'yyyy-MM-dd HH:mm:ss.sss'}}</td><th>rule / sid</th><td>{{a.rule}} / {{a.sid}}</td></tr>
      <tr><th>source</th><td>{{a.src}}<span ng-if="a.sport">:{{a.sport}}</span> <span ng-if="a.srcMac">({{a.srcMac}})</span></td>
          <th>destination</th><td>{{a.dst}}<span ng-if="a.dport">:{{a.dport}}</span></td></tr>
      <tr><th>protocol</th><td>{{a.proto}}</td><th>count / threshold</th><td>{{a.count}} / {{a.threshold}} in {{a.windowMs}} ms</td></tr>
      <tr><th>detector</th><td>{{a.detector}}</td><th>action</th><td>{{a.action}}</td></tr>
    </table>
    <div>{{a.reason}}</div>
    <div class="ips-hex">{{a.evidence || '(no payload evidence for this alert)'}}</div>
  </div>
  <div ng-if="!selectedKey" class="ips-packet-hint">Click an alert to see its packet.</div>
</div>`;

/** Blocklist with time left and an unblock button per address (sends {topic:'unblock', payload: ip}). */
const BLOCKLIST_TEMPLATE = `${SEVERITY_STYLE}
<div class="ips-blocklist" ng-init="now = now || Date.now()">
  <div ng-if="!(msg.payload.blocked || []).length">Nothing blocked.</div>
  <div ng-if="msg.payload.dryRun" class="ips-dry-run">Dry run: commands are shown, not run.</div>
  <table class="ips-table" ng-if="(msg.payload.blocked || []).length">
    <thead><tr><th>address</th><th>since</th><th>time left</th><th>reason</th><th></th></tr></thead>
    <tbody>
      <tr ng-repeat="b in msg.payload.blocked track by b.ip" data-ip="{{b.ip}}">
        <td>{{b.ip}}</td>
        <td>{{b.since | date:'HH:mm:ss'}}</td>
        <td>{{b.expires ? (((b.expires - msg.receivedAt) / 1000) | number:0) + ' s' : 'permanent'}}</td>
        <td>{{b.reason}}</td>
        <td><button class="md-button md-raised ips-unblock" ng-click="send({topic: 'unblock', payload: b.ip})">Unblock</button></td>
      </tr>
    </tbody>
  </table>
</div>`;

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
        count: a.count, threshold: a.threshold, windowMs: a.windowMs, reason: a.reason, evidence: a.evidence, detector: a.detector });
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

const SUMMARY_TEMPLATE = `<div class="ips-summary">
  <div class="ips-summary-total">Total alerts: <b data-count="total">{{msg.payload.total || 0}}</b></div>
  <div ng-repeat="c in ['flood', 'scan', 'payload', 'bandwidth', 'policy']" class="ips-summary-{{c}}" data-category="{{c}}">
    {{c}}: <b data-count="{{c}}">{{(msg.payload.byCategory || {})[c] || 0}}</b>
  </div>
</div>`;

/** A slider value → a detector's runtime config message: {topic:'config', payload:{[setting]: value}}. */
const SLIDER_TO_CONFIG_FUNC = `// msg.topic names the detector setting the slider changes.
const scale = { limitBps: 1024 }[msg.topic] || 1;
return { topic: 'config', payload: { [msg.topic]: Math.round(Number(msg.payload) * scale) } };`;

/** Blocklist messages get the time they arrived, so the template can show time left. */
const BLOCKLIST_STAMP_FUNC = `msg.receivedAt = Date.now();
msg.payload = Object.assign({}, msg.payload, { dryRun: env.get('BLOCK_DRYRUN') === 'true' });
return msg;`;

/** A threshold slider, set to its default once on deploy (passthru off: setting it sends nothing to the detector). */
function slider(b, name, label, topic, min, max, step, value, group, x, y, to) {
  b.add(`${name}-default`, 'inject', { name: `${value}`, props: [{ p: 'payload' }], repeat: '', crontab: '', once: true, onceDelay: '0.5', topic: '', payload: String(value), payloadType: 'num' },
    x, y, [[name]]);
  return b.add(name, 'ui_slider', { name: label, label: `${label} (${value})`, tooltip: `default ${value}`, group: b.id(group), order: 0, width: 0, height: 0,
    passthru: false, outs: 'end', topic, topicType: 'str', min, max, step, className: '' }, x + 200, y, [[to]]);
}

/*
 * Dashboard layout. node-red-dashboard measures an auto-height template once,
 * so a table that grows later spills out of its card, and its masonry puts a
 * group below the shortest group above, checking for overlap only at the new
 * group's left edge. So every widget here has a fixed size (long tables scroll
 * inside theirs), and in each row of groups the first (leftmost) is at least as
 * tall as the others: a full-width group then starts below all of them.
 */
function group(b, name, label, tab, order, width) {
  return b.config(name, 'ui_group', { name: label, tab: b.id(tab), order, disp: true, width: String(width), collapse: false, className: '' });
}

function template(b, name, label, groupName, order, width, height, format, x, y, wires) {
  return b.add(name, 'ui_template', { name: label, group: b.id(groupName), order, width: String(width), height: String(height), format, storeOutMessages: true, fwdInMessages: false,
    resendOnRefresh: true, templateScope: 'local', className: '' }, x, y, wires);
}

function chart(b, name, label, groupName, order, width, height, chartType, x, y, extra = {}) {
  return b.add(name, 'ui_chart', { name: label, group: b.id(groupName), order, width, height, label, chartType, legend: 'true', xformat: 'HH:mm:ss',
    interpolate: 'linear', nodata: 'no alerts yet', dot: false, ymin: '', ymax: '', removeOlder: 1, removeOlderPoints: '', removeOlderUnit: '3600', cutout: 0,
    useOneColor: false, useUTC: false, colors: ['#1f77b4', '#aec7e8', '#ff7f0e', '#2ca02c', '#98df8a', '#d62728', '#ff9896', '#9467bd', '#c5b0d5'],
    outputs: 1, useDifferentColor: false, className: '', ...extra }, x, y, [[]]);
}

/** Detector settings of both flows (the schema defaults); the threshold sliders start at these. */
const FLOOD = settingsOf('flood-detect');
const SCAN = settingsOf('scan-detect');
/** bandwidth-threshold of the router flow (the defaults); its slider starts at the limit in KB/s. */
const BANDWIDTH = settingsOf('bandwidth-threshold');

/**
 * The detector chain (flood-detect → scan-detect → payload-match) in series on
 * the packet output, as nodes 'flood', 'scan', 'payload' named by type (each
 * alert's `detector`), `next` after the last; alerts of all to `alertWires`.
 */
function detectors(b, action, xs, y, next, alertWires) {
  const ids = DETECTOR_CHAIN.map((stage) => stage.type.split('-')[0]);
  DETECTOR_CHAIN.forEach((stage, i) => {
    b.add(ids[i], stage.type, { name: stage.type, ...settingsOf(stage.type, { action }) }, xs[i], y, [i + 1 < ids.length ? [ids[i + 1]] : next, alertWires]);
  });
}

/** A sqlite-log node on the tab's DB_FILE; every node of a flow shares the file, so they share these settings too. */
function sqliteLog(b, name, label, x, y, wires) {
  return b.add(name, 'sqlite-log', { name: label, ...settingsOf('sqlite-log', { file: '${DB_FILE}' }) }, x, y, wires);
}

function func(b, name, label, code, outputs, x, y, wires) {
  return b.add(name, 'function', { name: label, func: code, outputs, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [] }, x, y, wires);
}

function comment(b, name, text, info, x, y) {
  return b.add(name, 'comment', { name: text, info }, x, y);
}

// ---------------------------------------------------------------- analyst IDS

function analyst() {
  const b = builder('analyst', {
    id: 'analyst.tab', type: 'tab', label: 'Analyst IDS', disabled: false,
    info: 'Captures (files or a live interface) through the detectors, with history in SQLite and a dashboard at /ui. See "The shipped flows" in the README of node-red-contrib-ips.',
    env: [
      envVar('CAPTURE_FILE', 'IPS_CAPTURE', ''),
      envVar('CAPTURE_IFACE', 'IPS_CAPTURE_IFACE', 'eth0'),
      envVar('DB_FILE', 'IPS_DB', 'ips-analyst.db'),
      dryRunVar,
    ],
  });
  b.config('ui-tab', 'ui_tab', { name: 'Analyst IDS', icon: 'dashboard', order: 1, disabled: false, hidden: false });
  // rows: Capture, Summary, Thresholds (5 units high each; sliders need 8 wide beside their labels), Export; Charts; Threat log; Blocklist
  group(b, 'g-capture', 'Capture', 'ui-tab', 1, 6);
  group(b, 'g-summary', 'Summary', 'ui-tab', 2, 6);
  group(b, 'g-thresholds', 'Thresholds', 'ui-tab', 3, 8);
  group(b, 'g-export', 'Export', 'ui-tab', 4, 4);
  group(b, 'g-charts', 'Charts', 'ui-tab', 5, 24);
  group(b, 'g-log', 'Threat log', 'ui-tab', 6, 24);
  group(b, 'g-block', 'Blocklist', 'ui-tab', 7, 24);

  comment(b, 'about', 'Analyst IDS: capture → flood → scan → payload; alerts → history, dashboard, optional blocking',
    'Configure on this tab\'s Environment: CAPTURE_FILE (IPS_CAPTURE), CAPTURE_IFACE (IPS_CAPTURE_IFACE), DB_FILE (IPS_DB), BLOCK_DRYRUN (IPS_BLOCK_DRYRUN=false blocks for real; needs root). Dashboard at /ui.', 330, 40);

  // Capture controls
  b.add('file-input', 'ui_text_input', { name: 'capture file', label: 'Capture file on this machine', tooltip: 'empty = CAPTURE_FILE', group: b.id('g-capture'), order: 1,
    width: 0, height: 0, passthru: false, mode: 'text', delay: 0, topic: 'file', sendOnBlur: true, className: '', topicType: 'str' }, 140, 100, [['remember']]);
  b.add('remember', 'change', { name: 'remember file', rules: [{ t: 'set', p: 'capture_choice', pt: 'flow', to: 'payload', tot: 'msg' }],
    action: '', property: '', from: '', to: '', reg: false }, 370, 100, [[]]);
  b.add('iface-input', 'ui_text_input', { name: 'live interface', label: 'Live interface', tooltip: 'empty = CAPTURE_IFACE', group: b.id('g-capture'), order: 2,
    width: 0, height: 0, passthru: false, mode: 'text', delay: 0, topic: 'iface', sendOnBlur: true, className: '', topicType: 'str' }, 140, 140, [['remember-iface']]);
  b.add('remember-iface', 'change', { name: 'remember interface', rules: [{ t: 'set', p: 'capture_iface', pt: 'flow', to: 'payload', tot: 'msg' }],
    action: '', property: '', from: '', to: '', reg: false }, 370, 140, [[]]);
  b.add('btn-read', 'ui_button', { name: 'read capture', group: b.id('g-capture'), order: 3, width: 2, height: 1, passthru: false, label: 'Read file', tooltip: '',
    color: '', bgcolor: '', className: 'ips-read', icon: 'fa-file', payload: '', payloadType: 'str', topic: 'start', topicType: 'str' }, 120, 200, [['read-msg']]);
  b.add('on-deploy', 'inject', { name: 'read on deploy (npm start)', props: [{ p: 'topic', vt: 'str' }], repeat: '', crontab: '', once: false, onceDelay: '1', topic: 'start' },
    150, 240, [['read-msg']]);
  func(b, 'read-msg', 'file to read', `// The dashboard's file field, else the tab's CAPTURE_FILE.
const chosen = flow.get('capture_choice');
const file = (typeof chosen === 'string' && chosen.trim()) || env.get('CAPTURE_FILE');
if (!file) {
    node.warn('no capture file: type one on the dashboard or set IPS_CAPTURE');
    node.status({ fill: 'yellow', shape: 'ring', text: 'no capture file chosen' });
    return null;
}
node.status({ text: file });
// Each read is an analysis of its own: the detectors forget the last file's windows and cooldowns (their settings stay).
return [{ topic: 'reset' }, { topic: 'start', filename: file }];`, 2, 370, 220, [['flood', 'scan', 'payload'], ['pcap-file']]);
  b.add('btn-live', 'ui_button', { name: 'start live', group: b.id('g-capture'), order: 4, width: 2, height: 1, passthru: false, label: 'Start live', tooltip: 'needs root or CAP_NET_RAW',
    color: '', bgcolor: '', className: 'ips-live', icon: 'fa-play', payload: '', payloadType: 'str', topic: 'start', topicType: 'str' }, 120, 280, [['live-msg']]);
  func(b, 'live-msg', 'interface to capture', `const chosen = flow.get('capture_iface');
const iface = (typeof chosen === 'string' && chosen.trim()) || env.get('CAPTURE_IFACE');
return [[{ topic: 'config', payload: { iface } }, { topic: 'start' }]];`, 1, 370, 280, [['pcap-live']]);
  b.add('btn-stop', 'ui_button', { name: 'stop', group: b.id('g-capture'), order: 5, width: 2, height: 1, passthru: false, label: 'Stop', tooltip: '',
    color: '', bgcolor: '', className: 'ips-stop', icon: 'fa-stop', payload: '', payloadType: 'str', topic: 'stop', topicType: 'str' }, 120, 320, [['pcap-file', 'pcap-live']]);

  b.add('pcap-file', 'pcap-in', { name: 'capture file', ...settingsOf('pcap-in', { source: 'file', filename: '${CAPTURE_FILE}' }) }, 600, 220, [['flood'], ['capture-status']]);
  b.add('pcap-live', 'pcap-in', { name: 'live interface', ...settingsOf('pcap-in', { source: 'live', iface: '${CAPTURE_IFACE}' }) }, 600, 300, [['flood'], ['capture-status']]);
  func(b, 'capture-status', 'capture report', `const p = msg.payload || {};
const what = p.file ? p.file.split('/').pop() : (p.iface || 'capture');
msg.payload = p.error ? what + ': ' + p.error + ' after ' + p.packets + ' packets'
    : what + ': ' + p.packets + ' packets' + (p.stopped ? ' (stopped)' : '') + ', ' + Math.round((p.bytes || 0) / 1024) + ' KiB';
return msg;`, 1, 830, 340, [['capture-text']]);
  b.add('capture-text', 'ui_text', { name: 'last capture', group: b.id('g-capture'), order: 6, width: 6, height: 2, label: 'Last capture', format: '{{msg.payload}}',
    layout: 'row-spread', className: 'ips-capture-report', style: false, font: '', fontSize: 16, color: '#000000' }, 1050, 340);

  // Detectors in series on the packet output; alerts fan in.
  detectors(b, 'alert', [830, 1020, 1210], 220, [], ['history', 'model', 'block-gate']);

  sqliteLog(b, 'history', 'history', 1430, 160, [[]]);

  // Dashboard model
  func(b, 'model', 'dashboard model', ALERT_MODEL_FUNC, 5, 1430, 260, [['threat-log'], ['summary'], ['chart-line'], ['chart-pie'], ['chart-bar']]);
  b.add('btn-clear', 'ui_button', { name: 'clear dashboard', group: b.id('g-summary'), order: 2, width: 2, height: 1, passthru: false, label: 'Clear', tooltip: 'clear the charts and the log (history stays)',
    color: '', bgcolor: '', className: 'ips-clear', icon: 'fa-eraser', payload: '', payloadType: 'str', topic: 'clear', topicType: 'str' }, 1210, 300, [['model']]);
  template(b, 'threat-log', 'threat log', 'g-log', 1, 24, 10, THREAT_LOG_TEMPLATE, 1680, 220, [[]]);
  template(b, 'summary', 'summary', 'g-summary', 1, 6, 4, SUMMARY_TEMPLATE, 1670, 260, [[]]);
  chart(b, 'chart-line', 'Alerts over time (per 10 s of capture time)', 'g-charts', 1, 12, 6, 'line', 1680, 300);
  chart(b, 'chart-pie', 'Threats by category', 'g-charts', 2, 6, 6, 'pie', 1680, 340);
  chart(b, 'chart-bar', 'Flood alerts by kind', 'g-charts', 3, 6, 6, 'bar', 1680, 380);

  // Optional blocking: high-severity alerts while the dashboard switch is on.
  b.add('block-switch', 'ui_switch', { name: 'block high severity', label: 'Block high-severity sources', tooltip: 'dry run unless IPS_BLOCK_DRYRUN=false', group: b.id('g-block'), order: 1,
    width: 0, height: 0, passthru: false, decouple: 'false', topic: 'block-high', topicType: 'str', style: '', onvalue: true, onvalueType: 'bool', onicon: '', oncolor: '',
    offvalue: false, offvalueType: 'bool', officon: '', offcolor: '', animate: false, className: 'ips-block-high' }, 1210, 420, [['block-gate']]);
  func(b, 'block-gate', 'high severity → block (when switched on)', `if (msg.topic === 'block-high') {
    context.set('on', msg.payload === true);
    node.status({ fill: msg.payload ? 'red' : 'grey', shape: 'dot', text: msg.payload ? 'blocking high severity' : 'not blocking' });
    return null;
}
// iptables-block blocks each alert's offender, and refuses (with the reason) alerts that name none.
const a = msg.payload;
if (!context.get('on') || !a || a.severity !== 'high') return null;
return msg;`, 1, 1450, 420, [['block']]);
  b.add('block', 'iptables-block', { name: 'block', ...settingsOf('iptables-block', { setName: 'ips-analyst', dryRun: '${BLOCK_DRYRUN}' }) }, 1680, 420, [['stamp-blocklist', 'history']]);
  func(b, 'stamp-blocklist', 'blocklist view', BLOCKLIST_STAMP_FUNC, 1, 1890, 420, [['blocklist']]);
  template(b, 'blocklist', 'blocklist', 'g-block', 2, 24, 5, BLOCKLIST_TEMPLATE, 2080, 420, [['block']]);
  b.add('list-on-deploy', 'inject', { name: 'show blocklist', props: [{ p: 'topic', vt: 'str' }], repeat: '10', crontab: '', once: true, onceDelay: '0.5', topic: 'list' },
    1460, 460, [['block']]);

  // Thresholds
  slider(b, 'sl-syn', 'SYN per source per second', 'synSrc', 10, 2000, 10, FLOOD.synSrc, 'g-thresholds', 140, 520, 'flood-config');
  slider(b, 'sl-icmp', 'ICMP echo per source per second', 'icmpSrc', 5, 2000, 5, FLOOD.icmpSrc, 'g-thresholds', 140, 560, 'flood-config');
  slider(b, 'sl-udp', 'UDP per source per second', 'udpSrc', 100, 50000, 100, FLOOD.udpSrc, 'g-thresholds', 140, 600, 'flood-config');
  slider(b, 'sl-vert', 'Ports per source (vertical scan)', 'verticalPorts', 3, 1000, 1, SCAN.verticalPorts, 'g-thresholds', 140, 640, 'scan-config');
  slider(b, 'sl-horiz', 'Hosts per source (horizontal scan)', 'horizontalHosts', 3, 1000, 1, SCAN.horizontalHosts, 'g-thresholds', 140, 680, 'scan-config');
  func(b, 'flood-config', 'slider → flood config', SLIDER_TO_CONFIG_FUNC, 1, 600, 560, [['flood']]);
  func(b, 'scan-config', 'slider → scan config', SLIDER_TO_CONFIG_FUNC, 1, 600, 660, [['scan']]);

  // Export (served behind httpNodeAuth)
  template(b, 'export-links', 'export links', 'g-export', 1, 4, 1, `<div class="ips-export">Alerts:
  <a class="ips-export-csv" href="ips/export/alerts.csv" target="_blank" download>CSV</a> ·
  <a class="ips-export-jsonl" href="ips/export/alerts.jsonl" target="_blank" download>JSON Lines</a></div>`, 140, 760, [[]]);
  b.add('http-csv', 'http in', { name: 'alerts.csv', url: '/ips/export/alerts.csv', method: 'get', upload: false, swaggerDoc: '' }, 140, 820, [['export-req']]);
  b.add('http-jsonl', 'http in', { name: 'alerts.jsonl', url: '/ips/export/alerts.jsonl', method: 'get', upload: false, swaggerDoc: '' }, 140, 860, [['export-req']]);
  func(b, 'export-req', 'export request', `const format = msg.req.path.endsWith('.csv') ? 'csv' : 'jsonl';
msg.topic = 'export';
msg.payload = { table: 'alerts', format, file: 'alerts-export.' + format };
return msg;`, 1, 360, 840, [['export-db']]);
  sqliteLog(b, 'export-db', 'export', 560, 840, [['export-file']]);
  func(b, 'export-file', 'file to send', `msg.filename = msg.payload.file;
msg.headers = {
    'Content-Type': msg.payload.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'Content-Disposition': 'attachment; filename="alerts.' + msg.payload.format + '"'
};
return msg;`, 1, 750, 840, [['export-read']]);
  b.add('export-read', 'file in', { name: 'read export', filename: 'filename', filenameType: 'msg', format: 'utf8', chunk: false, sendError: false, encoding: 'none', allProps: true },
    940, 840, [['export-response']]);
  b.add('export-response', 'http response', { name: 'download', statusCode: '', headers: {} }, 1130, 840);
  return b.nodes;
}


// ---------------------------------------------------------------- router IPS

/** Device list: one row per device with live KB/s each way and a block switch ({topic:'block'|'unblock', payload: ip}). */
const DEVICE_LIST_TEMPLATE = `${SEVERITY_STYLE}
<div class="ips-devices">
  <div ng-if="!(msg.payload.devices || []).length">No devices seen yet.</div>
  <table class="ips-table" ng-if="(msg.payload.devices || []).length">
    <thead><tr><th>name</th><th>vendor</th><th>IP</th><th>MAC</th><th>down KB/s</th><th>up KB/s</th><th>blocked</th></tr></thead>
    <tbody>
      <tr ng-repeat="d in msg.payload.devices track by d.ip" data-ip="{{d.ip}}" class="ips-device">
        <td>{{d.hostname || d.ip}}</td><td class="ips-vendor">{{d.vendor || '?'}}</td><td>{{d.ip}}</td><td>{{d.mac}}</td>
        <td class="ips-rx">{{(d.rxBps / 1024) | number:1}}</td><td class="ips-tx">{{(d.txBps / 1024) | number:1}}</td>
        <td><md-switch class="ips-block-switch" aria-label="block {{d.ip}}" ng-model="d.blocked"
              ng-change="send({topic: d.blocked ? 'block' : 'unblock', payload: d.ip})"></md-switch></td>
      </tr>
    </tbody>
  </table>
</div>`;

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

function router() {
  const b = builder('router', {
    id: 'router.tab', type: 'tab', label: 'Router IPS', disabled: false,
    info: 'A home router (e.g. a Raspberry Pi): devices from conntrack, inline detection on NFQUEUE, blocking, history in SQLite, dashboard at /ui. See "The shipped flows" in the README of node-red-contrib-ips.',
    env: [
      envVar('LAN_CIDR', 'IPS_LAN_CIDR', '192.168.0.0/16'),
      envVar('LAN_IFACE', 'IPS_LAN_IFACE', ''),
      envVar('NFQUEUE_NUM', 'IPS_NFQUEUE', '0'),
      envVar('DB_FILE', 'IPS_DB', 'ips-router.db'),
      dryRunVar,
    ],
  });
  b.config('ui-tab', 'ui_tab', { name: 'Router IPS', icon: 'router', order: 2, disabled: false, hidden: false });
  // rows: Devices, Bandwidth (8 units high each); Alerts; Blocklist (6), Thresholds (4; 8 wide for the sliders beside their labels)
  group(b, 'g-devices', 'Devices', 'ui-tab', 1, 12);
  group(b, 'g-bw', 'Bandwidth', 'ui-tab', 2, 12);
  group(b, 'g-log', 'Alerts', 'ui-tab', 3, 24);
  group(b, 'g-block', 'Blocklist', 'ui-tab', 4, 12);
  group(b, 'g-thresholds', 'Thresholds', 'ui-tab', 5, 8);

  comment(b, 'about', 'Router IPS: devices (conntrack) and inline detection (NFQUEUE); alerts → block + history',
    'Configure on this tab\'s Environment: LAN_CIDR (IPS_LAN_CIDR), LAN_IFACE (IPS_LAN_IFACE), NFQUEUE_NUM (IPS_NFQUEUE), DB_FILE (IPS_DB), BLOCK_DRYRUN (IPS_BLOCK_DRYRUN=false blocks for real). Needs root (CAP_NET_ADMIN) for conntrack, NFQUEUE and the firewall; scripts/nfqueue-enable.sh sends forwarded traffic to the queue.', 330, 40);

  // Devices
  b.add('conntrack', 'conntrack-poll', { name: 'devices', ...settingsOf('conntrack-poll', { lan: '${LAN_CIDR}' }) }, 140, 120, [['vendor'], ['history'], ['alerts-in']]);
  b.add('vendor', 'vendor-lookup', { name: 'vendor names', ...settingsOf('vendor-lookup') }, 340, 120, [['bandwidth']]);
  b.add('bandwidth', 'bandwidth-threshold', { name: 'bandwidth limits', ...BANDWIDTH }, 560, 120, [['history', 'device-view', 'device-rate'], ['alerts-in']]);
  func(b, 'device-view', 'device list view', DEVICE_VIEW_FUNC, 1, 800, 100, [['device-list']]);
  template(b, 'device-list', 'device list', 'g-devices', 1, 12, 8, DEVICE_LIST_TEMPLATE, 1010, 100, [['block']]);
  func(b, 'device-rate', 'KB/s per device', DEVICE_RATE_FUNC, 1, 800, 160, [['chart-live']]);
  chart(b, 'chart-live', 'KB/s per device (live)', 'g-bw', 1, 12, 4, 'line', 1010, 160, { removeOlder: 10, removeOlderUnit: '60', nodata: 'no traffic yet' });
  b.add('hour-tick', 'inject', { name: 'every minute', props: [{ p: 'payload' }], repeat: '60', crontab: '', once: true, onceDelay: '2', topic: '', payload: '', payloadType: 'date' },
    140, 220, [['hour-query']]);
  b.add('hour-query', 'change', { name: 'last hour of device history', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '{"name":"deviceHistory","last":3600000,"limit":60}', tot: 'json' },
    { t: 'set', p: 'topic', pt: 'msg', to: 'query', tot: 'str' }], action: '', property: '', from: '', to: '', reg: false }, 360, 220, [['history-query']]);
  sqliteLog(b, 'history-query', 'device history', 580, 220, [['hour-kbs']]);
  func(b, 'hour-kbs', 'B/s → KB/s', HOUR_KBS_FUNC, 1, 800, 220, [['chart-hour']]);
  chart(b, 'chart-hour', 'KB/s per device, last hour', 'g-bw', 2, 12, 4, 'line', 1010, 220, { nodata: 'no history yet' });

  // Inline detection: packets held by NFQUEUE through the detectors and back for their verdicts.
  b.add('nfq', 'nfqueue-in', { name: 'inline (NFQUEUE)', ...settingsOf('nfqueue-in', { queue: '${NFQUEUE_NUM}', batchSize: '64' }) }, 140, 320, [['flood']]);
  detectors(b, 'drop', [340, 530, 720], 320, ['nfq'], ['detections']);

  // Detector alerts block their offender (iptables-block refuses, with the reason, alerts that name none);
  // bandwidth and policy alerts, about the LAN's own devices, only inform. All go to history, the log and a toast.
  b.add('detections', 'junction', {}, 900, 380, [['block', 'alerts-in']]);
  b.add('alerts-in', 'junction', {}, 1030, 530, [['history', 'model', 'toast-filter']]);
  sqliteLog(b, 'history', 'history', 1210, 260, [[]]);
  b.add('block', 'iptables-block', { name: 'block', ...settingsOf('iptables-block', { escalate: true, dryRun: '${BLOCK_DRYRUN}' }) }, 1210, 380, [['stamp-blocklist', 'history', 'device-view']]);
  b.add('list-tick', 'inject', { name: 'show blocklist', props: [{ p: 'topic', vt: 'str' }], repeat: '10', crontab: '', once: true, onceDelay: '0.5', topic: 'list' },
    990, 440, [['block']]);
  func(b, 'stamp-blocklist', 'blocklist view', BLOCKLIST_STAMP_FUNC, 1, 1420, 380, [['blocklist']]);
  template(b, 'blocklist', 'blocklist', 'g-block', 1, 12, 6, BLOCKLIST_TEMPLATE, 1610, 380, [['block']]);
  func(b, 'model', 'dashboard model', ALERT_MODEL_FUNC, 5, 1210, 500, [['alert-log'], [], [], [], []]);
  template(b, 'alert-log', 'alert log', 'g-log', 1, 24, 10, THREAT_LOG_TEMPLATE, 1420, 500, [[]]);
  b.add('toast-filter', 'function', { name: 'high severity → toast', func: `const a = msg.payload;
if (!a || a.severity !== 'high') return null;
return { topic: a.signature, payload: a.reason };`, outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [] }, 1210, 560, [['toast']]);
  b.add('toast', 'ui_toast', { name: 'high-severity alert', position: 'top right', displayTime: '5', highlight: '#c62828', sendall: true, outputs: 0, ok: 'OK', cancel: '',
    raw: false, className: '', topic: '', x: 1420, y: 560 });

  // Thresholds
  slider(b, 'sl-syn', 'SYN per source per second', 'synSrc', 10, 2000, 10, FLOOD.synSrc, 'g-thresholds', 140, 640, 'flood-config');
  slider(b, 'sl-icmp', 'ICMP echo per source per second', 'icmpSrc', 5, 2000, 5, FLOOD.icmpSrc, 'g-thresholds', 140, 680, 'flood-config');
  slider(b, 'sl-vert', 'Ports per source (vertical scan)', 'verticalPorts', 3, 1000, 1, SCAN.verticalPorts, 'g-thresholds', 140, 720, 'scan-config');
  slider(b, 'sl-limit', 'Device limit KB/s', 'limitBps', 10, 100000, 1, Math.round(Number(BANDWIDTH.limitBps) / 1024), 'g-thresholds', 140, 760, 'bw-config');
  func(b, 'flood-config', 'slider → flood config', SLIDER_TO_CONFIG_FUNC, 1, 600, 660, [['flood']]);
  func(b, 'scan-config', 'slider → scan config', SLIDER_TO_CONFIG_FUNC, 1, 600, 720, [['scan']]);
  func(b, 'bw-config', 'slider → bandwidth config', SLIDER_TO_CONFIG_FUNC, 1, 600, 760, [['bandwidth']]);
  return b.nodes;
}

module.exports = { analyst, router };

// ---------------------------------------------------------------- main

function render(nodes) {
  return JSON.stringify(nodes, null, 2) + '\n';
}

function outputs() {
  return { 'analyst-ids.json': render(analyst()), 'router-ips.json': render(router()) };
}

if (require.main === module) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [name, text] of Object.entries(outputs())) {
    const file = path.join(root, 'flows', name);
    if (check) {
      const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      if (current !== text) {
        console.error(`flows/${name} differs from scripts/make-flows.js: run node scripts/make-flows.js`);
        stale++;
      }
    } else {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
      console.log(`wrote flows/${name}`);
    }
  }
  process.exit(stale ? 1 : 0);
}
module.exports.outputs = outputs;
