#!/usr/bin/env node
// Writes the shipped flows: the analyst IDS, the router IPS and the fleet central, each in two
// variants generated from ONE description per dashboard, so the variants
// cannot drift, into flows/ and (for the editor's Import › Examples menu)
// examples/flows/:
//   flows/analyst-ids.json, flows/router-ips.json              Dashboard 1 (node-red-dashboard, /ui)
//   flows/fleet-central.json                                   Dashboard 1
//   flows/analyst-ids-dashboard2.json, router-ips-dashboard2.json, fleet-central-dashboard2.json
//                                                                Dashboard 2 (@flowfuse/node-red-dashboard, /dashboard)
// The detector chain and its settings come from the built package
// (lib/detect/chain.ts, the nodes' schemas), so run it after `npm run build`:
// `node scripts/make-flows.js` rewrites them; `--check` exits 1 when the
// committed files differ from what this script makes.
//
// HOW A DASHBOARD IS DESCRIBED (ANALYST, ROUTER and CENTRAL below)
//   name, file    id prefix and file name stem of the flow
//   tab(v)        the tab: label, info, env (the flow's settings; `v` the variant, `v.url` its dashboard URL)
//   page          the dashboard page: title, icon per variant, order, path (Dashboard 2), and
//                 its groups in display order: { id, title, width } (width in Dashboard 1 units: 24 = full)
//   build(b, ui, v)  the nodes, in order: processing nodes through the builder `b`
//                 (b.add, b.func, b.sqliteLog, b.detectors, b.comment; scripts/flows/kit.js),
//                 widgets through `ui` (ui.template, ui.chart, ui.slider, ui.button, ui.switch,
//                 ui.textInput, ui.text, ui.notification), which each variant renders with its
//                 own nodes (scripts/flows/dashboard1.js, dashboard2.js).
// Ids are the description's names with the variant's prefix; wires name nodes
// of the same description, widgets included, whatever the variant.
//
// To add
//   a processing node   b.add('my-node', 'my-type', { name, ...settingsOf('my-type', {...}) }, x, y, wires)
//                       in build(), and wire it from/to the others by name;
//   a widget            ui.<kind>('my-widget', { group: 'g-…', order, … }, x, y, wires) in build();
//                       a new template view: its text in VIEWS of BOTH dashboard1.js and dashboard2.js
//                       (the build throws when one is missing);
//   a group             an entry in page.groups; a page: a new description (with its own tab);
//   a widget kind       a method of widgets() in BOTH dashboard1.js and dashboard2.js; where a
//                       variant needs the input in another form it adds an adapter node in front
//                       and b.reroute(widget, adapter), as dashboard2.js does for charts.
// Then `node scripts/make-flows.js` and commit flows/ and examples/flows/ (tests/flows/variants.test.ts
// checks the variants share every processing node, setting and wire).
'use strict';
const fs = require('fs');
const path = require('path');
const { settingsOf, envVar, dryRunVar, fleetVar, brokerVars, builder, FLOOD, SCAN, BANDWIDTH, NOTIFY } = require('./flows/kit');
const code = require('./flows/code');
const dashboard1 = require('./flows/dashboard1');
const dashboard2 = require('./flows/dashboard2');

const root = path.resolve(__dirname, '..');

/** The variants every description is rendered in. */
const VARIANTS = [dashboard1, dashboard2];

// ---------------------------------------------------------------- analyst IDS

const ANALYST = {
  name: 'analyst',
  file: 'analyst-ids',
  tab: (v) => ({
    label: 'Analyst IDS',
    info: `Captures (files or a live interface) through the detectors, with history in SQLite and a dashboard at ${v.url}. See "The shipped flows" in the README of node-red-contrib-ips.`,
    env: [
      envVar('CAPTURE_FILE', 'IPS_CAPTURE', ''),
      envVar('CAPTURE_IFACE', 'IPS_CAPTURE_IFACE', 'eth0'),
      envVar('DB_FILE', 'IPS_DB', 'ips-analyst.db'),
      dryRunVar,
      envVar('REP_LISTS', 'IPS_REP_LISTS', ''),
    ],
  }),
  // rows: Capture, Summary, Thresholds (5 units high each; sliders need 8 wide beside their labels), Export; Charts; Threat log; Blocklist
  page: {
    title: 'Analyst IDS', icon: { dashboard1: 'dashboard', dashboard2: 'view-dashboard' }, order: 1, path: '/analyst',
    groups: [
      { id: 'g-capture', title: 'Capture', width: 6 },
      { id: 'g-summary', title: 'Summary', width: 6 },
      { id: 'g-thresholds', title: 'Thresholds', width: 8 },
      { id: 'g-export', title: 'Export', width: 4 },
      { id: 'g-charts', title: 'Charts', width: 24 },
      { id: 'g-log', title: 'Threat log', width: 24 },
      { id: 'g-block', title: 'Blocklist', width: 24 },
    ],
  },
  build(b, ui, v) {
    b.comment('about', 'Analyst IDS: capture → flood → scan → payload → lan → flow model; alerts → country/network → history, dashboard, optional blocking',
      `Configure on this tab's Environment: CAPTURE_FILE (IPS_CAPTURE), CAPTURE_IFACE (IPS_CAPTURE_IFACE), DB_FILE (IPS_DB), BLOCK_DRYRUN (IPS_BLOCK_DRYRUN=false blocks for real; needs root), REP_LISTS (IPS_REP_LISTS: threat lists as JSON, as in the router flow; blank: country and network only). The capture's flows are judged by the shipped flow model (flow-classify) and downloadable as CSV beside the alert exports. On deploy the threat log starts from the last 200 alerts in DB_FILE. Dashboard at ${v.url}.`, 330, 40);

    // Capture controls
    ui.textInput('file-input', { name: 'capture file', label: 'Capture file on this machine', tooltip: 'empty = CAPTURE_FILE', group: 'g-capture', order: 1, topic: 'file' },
      140, 100, [['remember']]);
    b.add('remember', 'change', { name: 'remember file', rules: [{ t: 'set', p: 'capture_choice', pt: 'flow', to: 'payload', tot: 'msg' }],
      action: '', property: '', from: '', to: '', reg: false }, 370, 100, [[]]);
    ui.textInput('iface-input', { name: 'live interface', label: 'Live interface', tooltip: 'empty = CAPTURE_IFACE', group: 'g-capture', order: 2, topic: 'iface' },
      140, 140, [['remember-iface']]);
    b.add('remember-iface', 'change', { name: 'remember interface', rules: [{ t: 'set', p: 'capture_iface', pt: 'flow', to: 'payload', tot: 'msg' }],
      action: '', property: '', from: '', to: '', reg: false }, 370, 140, [[]]);
    ui.button('btn-read', { name: 'read capture', group: 'g-capture', order: 3, width: 2, height: 1, label: 'Read file', className: 'ips-read', icon: 'file', topic: 'start' },
      120, 200, [['read-msg']]);
    b.add('on-deploy', 'inject', { name: 'read on deploy (npm start)', props: [{ p: 'topic', vt: 'str' }], repeat: '', crontab: '', once: false, onceDelay: '1', topic: 'start' },
      150, 240, [['read-msg']]);
    b.func('read-msg', 'file to read', `// The dashboard's file field, else the tab's CAPTURE_FILE.
const chosen = flow.get('capture_choice');
const file = (typeof chosen === 'string' && chosen.trim()) || env.get('CAPTURE_FILE');
if (!file) {
    node.warn('no capture file: type one on the dashboard or set IPS_CAPTURE');
    node.status({ fill: 'yellow', shape: 'ring', text: 'no capture file chosen' });
    return null;
}
node.status({ text: file });
// Each read is an analysis of its own: the detectors forget the last file's windows and cooldowns (their settings stay).
return [{ topic: 'reset' }, { topic: 'start', filename: file }];`, 2, 370, 220, [['flood', 'scan', 'payload', 'lan', 'meter', 'classify', 'flows-csv'], ['pcap-file']]);
    ui.button('btn-live', { name: 'start live', group: 'g-capture', order: 4, width: 2, height: 1, label: 'Start live', tooltip: 'needs root or CAP_NET_RAW', className: 'ips-live',
      icon: 'play', topic: 'start' }, 120, 280, [['live-msg']]);
    b.func('live-msg', 'interface to capture', `const chosen = flow.get('capture_iface');
const iface = (typeof chosen === 'string' && chosen.trim()) || env.get('CAPTURE_IFACE');
return [[{ topic: 'config', payload: { iface } }, { topic: 'start' }]];`, 1, 370, 280, [['pcap-live']]);
    ui.button('btn-stop', { name: 'stop', group: 'g-capture', order: 5, width: 2, height: 1, label: 'Stop', className: 'ips-stop', icon: 'stop', topic: 'stop' },
      120, 320, [['pcap-file', 'pcap-live']]);

    b.add('pcap-file', 'pcap-in', { name: 'capture file', ...settingsOf('pcap-in', { source: 'file', filename: '${CAPTURE_FILE}' }) }, 600, 220, [['flood'], ['capture-status', 'capture-end']]);
    b.add('pcap-live', 'pcap-in', { name: 'live interface', ...settingsOf('pcap-in', { source: 'live', iface: '${CAPTURE_IFACE}' }) }, 600, 300, [['flood'], ['capture-status', 'capture-end']]);
    // The end of a capture follows its packets down the chain as an empty batch, so flow-meter ends the open flows
    // after the last packets (a wire straight from pcap-in would overtake them: Node-RED delivers each hop on a turn of its own).
    b.func('capture-end', 'capture ended → flush flows', "return { topic: 'flush', payload: [] };", 1, 830, 380, [['flood']]);
    b.func('capture-status', 'capture report', `const p = msg.payload || {};
const what = p.file ? p.file.split('/').pop() : (p.iface || 'capture');
msg.payload = p.error ? what + ': ' + p.error + ' after ' + p.packets + ' packets'
    : what + ': ' + p.packets + ' packets' + (p.stopped ? ' (stopped)' : '') + ', ' + Math.round((p.bytes || 0) / 1024) + ' KiB';
return msg;`, 1, 830, 340, [['capture-text']]);
    ui.text('capture-text', { name: 'last capture', group: 'g-capture', order: 6, width: 6, height: 2, label: 'Last capture', className: 'ips-capture-report' }, 1050, 340);

    // Detectors in series on the packet output, then lan-watch (ARP spoofing, new devices: the analyst chain of lib/detect/chain.ts); alerts fan in.
    b.detectors('alert', [830, 1020, 1210], 220, ['lan'], ['geo']);
    // its offenders are MACs (a spoofing device), which iptables-block blocks by MAC: its alerts take the same gate
    // (past no country lookup: both ends are on the LAN)
    b.add('lan', 'lan-watch', { name: 'lan-watch', ...settingsOf('lan-watch') }, 1210, 280, [['meter'], ['history', 'model', 'block-gate']]);

    // Flows of the capture (CICFlowMeter's features) judged by the shipped model: ML alerts join the detectors', judged flows go to the CSV export.
    b.add('meter', 'flow-meter', { name: 'flow-meter', ...settingsOf('flow-meter') }, 1020, 140, [[], ['classify']]);
    b.add('classify', 'flow-classify', { name: 'flow-classify', ...settingsOf('flow-classify') }, 1210, 140, [[], ['geo'], ['flows-csv']]);

    // Country and network (AS) of the alerts' addresses for the threat log; with REP_LISTS (IPS_REP_LISTS) the threat lists too.
    b.add('geo', 'ip-reputation', { name: 'country, network', ...settingsOf('ip-reputation', { sources: '${REP_LISTS}' }) }, 1430, 220,
      [['history', 'model', 'block-gate'], ['history', 'model', 'block-gate'], []]);

    b.sqliteLog('history', 'history', 1430, 160, [[]]);
    // After a restart (or a redeploy) the threat log starts from the history: the last 200 alerts with every field
    // sqlite-log keeps (country and network, lists, the rule's gid/rev/classtype/references, the model's class and
    // probability), then the live ones on top.
    // (loggedTo, the deploy time: a capture read at once on deploy, as npm start does, is not shown twice)
    b.add('reload-tick', 'inject', { name: 'on deploy: the last alerts', props: [{ p: 'payload' }, { p: 'payload.loggedTo', v: '', vt: 'date' }, { p: 'topic', vt: 'str' }],
      repeat: '', crontab: '', once: true, onceDelay: '0.1', topic: 'query', payload: '{"name":"recentAlerts","limit":200}', payloadType: 'json' }, 1000, 500, [['reload-query']]);
    b.sqliteLog('reload-query', 'alert history', 1210, 500, [['reload-alerts']]);
    b.func('reload-alerts', 'stored alerts → threat log', code.RELOAD_ALERTS_FUNC, 2, 1430, 500, [['model'], []]);

    // Dashboard model
    b.func('model', 'dashboard model', code.ALERT_MODEL_FUNC, 5, 1430, 260, [['threat-log'], ['summary'], ['chart-line'], ['chart-pie'], ['chart-bar']]);
    ui.button('btn-clear', { name: 'clear dashboard', group: 'g-summary', order: 2, width: 2, height: 1, label: 'Clear', tooltip: 'clear the charts and the log (history stays)',
      className: 'ips-clear', icon: 'eraser', topic: 'clear' }, 1210, 300, [['model']]);
    ui.template('threat-log', { name: 'threat log', view: 'threat-log', group: 'g-log', order: 1, width: 24, height: 10 }, 1680, 220, [[]]);
    ui.template('summary', { name: 'summary', view: 'summary', group: 'g-summary', order: 1, width: 6, height: 4 }, 1670, 260, [[]]);
    ui.chart('chart-line', { label: 'Alerts over time (per 10 s of capture time)', input: 'series', group: 'g-charts', order: 1, width: 12, height: 6, type: 'line' }, 1680, 300);
    ui.chart('chart-pie', { label: 'Threats by category', input: 'series', group: 'g-charts', order: 2, width: 6, height: 6, type: 'pie' }, 1680, 340);
    ui.chart('chart-bar', { label: 'Flood alerts by kind', input: 'series', group: 'g-charts', order: 3, width: 6, height: 6, type: 'bar' }, 1680, 380);

    // Optional blocking: high-severity alerts while the dashboard switch is on.
    ui.switch('block-switch', { name: 'block high severity', label: 'Block high-severity sources', tooltip: 'dry run unless IPS_BLOCK_DRYRUN=false', group: 'g-block', order: 1,
      topic: 'block-high', className: 'ips-block-high' }, 1210, 420, [['block-gate']]);
    b.func('block-gate', 'high severity → block (when switched on)', `if (msg.topic === 'block-high') {
    context.set('on', msg.payload === true);
    node.status({ fill: msg.payload ? 'red' : 'grey', shape: 'dot', text: msg.payload ? 'blocking high severity' : 'not blocking' });
    return null;
}
// iptables-block blocks each alert's offender, and refuses (with the reason) alerts that name none.
const a = msg.payload;
if (!context.get('on') || !a || a.severity !== 'high') return null;
return msg;`, 1, 1450, 420, [['block']]);
    b.add('block', 'iptables-block', { name: 'block', ...settingsOf('iptables-block', { setName: 'ips-analyst', dryRun: '${BLOCK_DRYRUN}' }) }, 1680, 420, [['stamp-blocklist', 'history']]);
    b.func('stamp-blocklist', 'blocklist view', code.BLOCKLIST_STAMP_FUNC, 1, 1890, 420, [['blocklist']]);
    ui.template('blocklist', { name: 'blocklist', view: 'blocklist', group: 'g-block', order: 2, width: 24, height: 5 }, 2080, 420, [['block']]);
    b.add('list-on-deploy', 'inject', { name: 'show blocklist', props: [{ p: 'topic', vt: 'str' }], repeat: '10', crontab: '', once: true, onceDelay: '0.5', topic: 'list' },
      1460, 460, [['block']]);

    // Thresholds
    const g = 'g-thresholds';
    ui.slider('sl-syn', { label: 'SYN per source per second', topic: 'synSrc', min: 10, max: 2000, step: 10, value: FLOOD.synSrc, group: g }, 140, 520, 'flood-config');
    ui.slider('sl-icmp', { label: 'ICMP echo per source per second', topic: 'icmpSrc', min: 5, max: 2000, step: 5, value: FLOOD.icmpSrc, group: g }, 140, 560, 'flood-config');
    ui.slider('sl-udp', { label: 'UDP per source per second', topic: 'udpSrc', min: 100, max: 50000, step: 100, value: FLOOD.udpSrc, group: g }, 140, 600, 'flood-config');
    ui.slider('sl-vert', { label: 'Ports per source (vertical scan)', topic: 'verticalPorts', min: 3, max: 1000, step: 1, value: SCAN.verticalPorts, group: g }, 140, 640, 'scan-config');
    ui.slider('sl-horiz', { label: 'Hosts per source (horizontal scan)', topic: 'horizontalHosts', min: 3, max: 1000, step: 1, value: SCAN.horizontalHosts, group: g },
      140, 680, 'scan-config');
    b.func('flood-config', 'slider → flood config', code.SLIDER_TO_CONFIG_FUNC, 1, 600, 560, [['flood']]);
    b.func('scan-config', 'slider → scan config', code.SLIDER_TO_CONFIG_FUNC, 1, 600, 660, [['scan']]);

    // Export (served behind httpNodeAuth)
    ui.template('export-links', { name: 'export links', view: 'export-links', group: 'g-export', order: 1, width: 4, height: 2 }, 140, 760, [[]]);
    b.add('http-csv', 'http in', { name: 'alerts.csv', url: '/ips/export/alerts.csv', method: 'get', upload: false, swaggerDoc: '' }, 140, 820, [['export-req']]);
    b.add('http-jsonl', 'http in', { name: 'alerts.jsonl', url: '/ips/export/alerts.jsonl', method: 'get', upload: false, swaggerDoc: '' }, 140, 860, [['export-req']]);
    b.func('export-req', 'export request', `const format = msg.req.path.endsWith('.csv') ? 'csv' : 'jsonl';
msg.topic = 'export';
msg.payload = { table: 'alerts', format, file: 'alerts-export.' + format };
return msg;`, 1, 360, 840, [['export-db']]);
    b.sqliteLog('export-db', 'export', 560, 840, [['export-file']]);
    b.func('export-file', 'file to send', `msg.filename = msg.payload.file;
msg.headers = {
    'Content-Type': msg.payload.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'Content-Disposition': 'attachment; filename="alerts.' + msg.payload.format + '"'
};
return msg;`, 1, 750, 840, [['export-read']]);
    b.add('export-read', 'file in', { name: 'read export', filename: 'filename', filenameType: 'msg', format: 'utf8', chunk: false, sendError: false, encoding: 'none', allProps: true },
      940, 840, [['export-response']]);
    b.add('export-response', 'http response', { name: 'download', statusCode: '', headers: {} }, 1130, 840);
    b.add('http-flows', 'http in', { name: 'flows.csv', url: '/ips/export/flows.csv', method: 'get', upload: false, swaggerDoc: '' }, 140, 920, [['flows-csv']]);
    b.func('flows-csv', 'last capture\'s flows as CSV', code.FLOWS_CSV_FUNC, 1, 1430, 920, [['export-response']]);
  },
};

// ---------------------------------------------------------------- router IPS

const ROUTER = {
  name: 'router',
  file: 'router-ips',
  tab: (v) => ({
    label: 'Router IPS',
    info: `A home router (e.g. a Raspberry Pi): devices from conntrack, inline detection on NFQUEUE, blocking, history in SQLite, dashboard at ${v.url}. See "The shipped flows" in the README of node-red-contrib-ips.`,
    env: [
      envVar('LAN_CIDR', 'IPS_LAN_CIDR', '192.168.0.0/16'),
      envVar('LAN_IFACE', 'IPS_LAN_IFACE', ''),
      envVar('NFQUEUE_NUM', 'IPS_NFQUEUE', '0'),
      envVar('DB_FILE', 'IPS_DB', 'ips-router.db'),
      dryRunVar,
      // phone notifications (push-notify): off unless IPS_NOTIFY names a service
      envVar('NOTIFY', 'IPS_NOTIFY', NOTIFY.service),
      envVar('REP_LISTS', 'IPS_REP_LISTS', ''),
      // flow-meter → flow-classify on the inline path: off unless IPS_FLOW_ML=on
      envVar('FLOW_ML', 'IPS_FLOW_ML', 'off'),
      envVar('NOTIFY_URL', 'IPS_NOTIFY_URL', ''),
      envVar('NOTIFY_TOKEN', 'IPS_NOTIFY_TOKEN', ''),
      envVar('NOTIFY_CHAT', 'IPS_NOTIFY_CHAT', ''),
      envVar('NOTIFY_INTERVAL_S', 'IPS_NOTIFY_INTERVAL', String(NOTIFY.intervalS)),
      // one sensor of a fleet (fleet-sensor): off unless IPS_FLEET=true
      fleetVar,
      envVar('SENSOR', 'IPS_SENSOR', ''),
      ...brokerVars,
      envVar('FLEET_QUEUE', 'IPS_FLEET_QUEUE', 'ips-fleet-queue.db'),
    ],
  }),
  // rows: Devices, Bandwidth (8 units high each); Alerts; Blocklist (6), Thresholds (4; 8 wide for the sliders beside their labels)
  page: {
    title: 'Router IPS', icon: { dashboard1: 'router', dashboard2: 'router-wireless' }, order: 2, path: '/router',
    groups: [
      { id: 'g-devices', title: 'Devices', width: 12 },
      { id: 'g-bw', title: 'Bandwidth', width: 12 },
      { id: 'g-log', title: 'Alerts', width: 24 },
      { id: 'g-lan', title: 'LAN: new devices and spoofing', width: 24 },
      { id: 'g-block', title: 'Blocklist', width: 12 },
      { id: 'g-thresholds', title: 'Thresholds', width: 8 },
      { id: 'g-rep', title: 'Threat lists', width: 24 },
    ],
  },
  build(b, ui) {
    b.comment('about', 'Router IPS: devices (conntrack) and inline detection (NFQUEUE); alerts → block + history',
      'Configure on this tab\'s Environment: LAN_CIDR (IPS_LAN_CIDR), LAN_IFACE (IPS_LAN_IFACE), NFQUEUE_NUM (IPS_NFQUEUE), DB_FILE (IPS_DB), BLOCK_DRYRUN (IPS_BLOCK_DRYRUN=false blocks for real), REP_LISTS (IPS_REP_LISTS: the threat lists as JSON, e.g. [{"name":"feodo","url":"…","format":"feodo","category":"c2"}]), FLOW_ML (IPS_FLOW_ML=on judges the inline flows with the shipped model and drops the sources of malicious ones), phone notifications NOTIFY (IPS_NOTIFY=ntfy or telegram), NOTIFY_URL, NOTIFY_TOKEN, NOTIFY_CHAT, NOTIFY_INTERVAL_S (IPS_NOTIFY_URL, _TOKEN, _CHAT, _INTERVAL), a fleet sensor FLEET (IPS_FLEET=true), SENSOR (IPS_SENSOR, blank = the host name), BROKER (IPS_MQTT_URL), MQTT_USER (IPS_MQTT_USER; the password in the fleet node), FLEET_QUEUE (IPS_FLEET_QUEUE: its on-disk queue). Needs root (CAP_NET_ADMIN) for conntrack, NFQUEUE and the firewall; scripts/nfqueue-enable.sh sends forwarded traffic to the queue.', 330, 40);

    // Devices
    b.add('conntrack', 'conntrack-poll', { name: 'devices', ...settingsOf('conntrack-poll', { lan: '${LAN_CIDR}', flowOutput: 'new' }) }, 140, 120, [['vendor', 'reputation'], ['reputation'], ['alerts-in']]);
    // Device stats reach ip-reputation for the devices' MACs; only the flow records go on from it to the history.
    // With their vendor names they reach the threat-lists view too: a device's first alert can come before the
    // neighbour table has its MAC, and the view then shows the MAC and vendor once the device stats have them.
    b.add('vendor', 'vendor-lookup', { name: 'vendor names', ...settingsOf('vendor-lookup') }, 340, 120, [['bandwidth', 'rep-view']]);
    b.add('bandwidth', 'bandwidth-threshold', { name: 'bandwidth limits', ...BANDWIDTH }, 560, 120, [['history', 'device-view', 'device-rate', 'notify', 'fleet'], ['alerts-in']]);
    b.func('device-view', 'device list view', code.DEVICE_VIEW_FUNC, 1, 800, 100, [['device-list']]);
    ui.template('device-list', { name: 'device list', view: 'device-list', group: 'g-devices', order: 1, width: 12, height: 8 }, 1010, 100, [['block']]);
    b.func('device-rate', 'KB/s per device', code.DEVICE_RATE_FUNC, 1, 800, 160, [['chart-live']]);
    ui.chart('chart-live', { label: 'KB/s per device (live)', input: 'points', group: 'g-bw', order: 1, width: 12, height: 4, type: 'line',
      removeOlder: 10, removeOlderUnit: '60', nodata: 'no traffic yet' }, 1010, 160);
    b.add('hour-tick', 'inject', { name: 'every minute', props: [{ p: 'payload' }], repeat: '60', crontab: '', once: true, onceDelay: '2', topic: '', payload: '', payloadType: 'date' },
      140, 220, [['hour-query']]);
    b.add('hour-query', 'change', { name: 'last hour of device history', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '{"name":"deviceHistory","last":3600000,"limit":60}', tot: 'json' },
      { t: 'set', p: 'topic', pt: 'msg', to: 'query', tot: 'str' }], action: '', property: '', from: '', to: '', reg: false }, 360, 220, [['history-query']]);
    b.sqliteLog('history-query', 'device history', 580, 220, [['hour-kbs']]);
    b.func('hour-kbs', 'B/s → KB/s', code.HOUR_KBS_FUNC, 1, 800, 220, [['chart-hour']]);
    ui.chart('chart-hour', { label: 'KB/s per device, last hour', input: 'series', group: 'g-bw', order: 2, width: 12, height: 4, type: 'line', nodata: 'no history yet' }, 1010, 220);

    // Threat lists: new flows checked against the lists (IPS_REP_LISTS) and enriched with GeoIP, then stored
    b.add('reputation', 'ip-reputation', { name: 'threat lists', ...settingsOf('ip-reputation', { sources: '${REP_LISTS}' }) }, 340, 260,
      [['flows-only', 'rep-view'], ['alerts-in', 'rep-view'], ['rep-view']]);
    b.add('flows-only', 'switch', { name: 'flow records', property: 'topic', propertyType: 'msg', rules: [{ t: 'eq', v: 'flows', vt: 'str' }], checkall: 'true', repair: false, outputs: 1 },
      560, 300, [['history']]);
    b.func('rep-view', 'threat lists view', code.REPUTATION_VIEW_FUNC, 1, 560, 260, [['rep-table']]);
    ui.template('rep-table', { name: 'threat lists', view: 'reputation', group: 'g-rep', order: 1, width: 24, height: 8 }, 760, 260);

    // Inline detection: packets held by NFQUEUE through the detectors and back for their verdicts.
    b.add('nfq', 'nfqueue-in', { name: 'inline (NFQUEUE)', ...settingsOf('nfqueue-in', { queue: '${NFQUEUE_NUM}', batchSize: '64' }) }, 140, 320, [['flood']]);
    b.detectors('drop', [340, 530, 720], 320, ['ml-gate'], ['detections']);
    // Flow model (FLOW_ML=on): flow-meter's packets and records to flow-classify, which drops the later packets of the
    // sources of flows it judges malicious (a scan's, a brute force's) and sends the packets back; off, they go straight back.
    b.func('ml-gate', 'flow model on? (FLOW_ML)', `const on = /^(on|true|yes|1)$/i.test(String(env.get('FLOW_ML') || '').trim());
if (context.get('on') !== on) {
    context.set('on', on);
    node.status({ fill: on ? 'green' : 'grey', shape: 'dot', text: on ? 'flow model on' : 'flow model off (FLOW_ML)' });
}
return on ? [msg, null] : [null, msg];`, 2, 900, 320, [['meter'], ['nfq']]);
    b.add('meter', 'flow-meter', { name: 'flow-meter', ...settingsOf('flow-meter') }, 1080, 300, [['classify'], ['classify']]);
    b.add('classify', 'flow-classify', { name: 'flow-classify', ...settingsOf('flow-classify', { action: 'drop', dropScope: 'source' }) }, 1260, 300,
      [['nfq'], ['detections'], []]);

    // Detector alerts block their offender (iptables-block refuses, with the reason, alerts that name none);
    // bandwidth and policy alerts, about the LAN's own devices, only inform. All go to history, the log and a toast.
    b.add('detections', 'junction', {}, 900, 380, [['block', 'alerts-in']]);
    b.add('alerts-in', 'junction', {}, 1030, 530, [['history', 'model', 'toast-filter', 'notify', 'fleet']]);
    b.sqliteLog('history', 'history', 1210, 260, [[]]);
    b.add('block', 'iptables-block', { name: 'block', ...settingsOf('iptables-block', { escalate: true, dryRun: '${BLOCK_DRYRUN}' }) }, 1210, 380,
      [['stamp-blocklist', 'history', 'device-view', 'notify', 'fleet']]);
    // One sensor of a fleet (off unless the tab's FLEET is true): alerts, device stats and block lists to the broker for a
    // central (flows/fleet-central.json); the fleet's decisions back into iptables-block, whose allowlist and protections still win.
    // Its queue has a file of its own: sharing the history's, the two writers met SQLITE_BUSY under load (tests/integration/flows-router.test.ts).
    b.add('fleet', 'fleet-sensor', { name: 'fleet sensor', ...settingsOf('fleet-sensor', { enabled: '${FLEET}', sensor: '${SENSOR}', broker: '${BROKER}', username: '${MQTT_USER}',
      file: '${FLEET_QUEUE}' }) }, 1420, 440, [['block']]);
    b.add('list-tick', 'inject', { name: 'show blocklist', props: [{ p: 'topic', vt: 'str' }], repeat: '10', crontab: '', once: true, onceDelay: '0.5', topic: 'list' },
      990, 440, [['block']]);
    b.func('stamp-blocklist', 'blocklist view', code.BLOCKLIST_STAMP_FUNC, 1, 1420, 380, [['blocklist']]);
    ui.template('blocklist', { name: 'blocklist', view: 'blocklist', group: 'g-block', order: 1, width: 12, height: 6 }, 1610, 380, [['block']]);
    b.func('model', 'dashboard model', code.ALERT_MODEL_FUNC, 5, 1210, 500, [['alert-log'], [], [], [], []]);
    ui.template('alert-log', { name: 'alert log', view: 'threat-log', group: 'g-log', order: 1, width: 24, height: 10 }, 1420, 500, [[]]);
    // After a restart the alert log and the threat-lists view start from the history: the last 200 alerts, with their
    // lists, devices and countries (sqlite-log keeps them), then the live ones on top.
    // (loggedTo, the deploy time: an alert raised in the moment after the deploy is shown once, live, not also from the history)
    b.add('reload-tick', 'inject', { name: 'on deploy: the last alerts', props: [{ p: 'payload' }, { p: 'payload.loggedTo', v: '', vt: 'date' }, { p: 'topic', vt: 'str' }],
      repeat: '', crontab: '', once: true, onceDelay: '1', topic: 'query', payload: '{"name":"recentAlerts","limit":200}', payloadType: 'json' }, 580, 560, [['reload-query']]);
    b.sqliteLog('reload-query', 'alert history', 800, 560, [['reload-alerts']]);
    b.func('reload-alerts', 'stored alerts → log, threat lists', code.RELOAD_ALERTS_FUNC, 2, 1010, 580, [['model'], ['rep-view']]);
    b.func('toast-filter', 'high severity → toast', `const a = msg.payload;
if (!a || a.severity !== 'high') return null;
return { topic: a.signature, payload: a.reason };`, 1, 1210, 560, [['toast']]);
    ui.notification('toast', { name: 'high-severity alert', displayTimeS: 5, highlight: '#c62828' }, 1420, 560);

    // LAN watch: ARP/neighbour spoofing and new devices, from the LAN interface's ARP, neighbour discovery and DHCP
    // (captured once LAN_IFACE is set) and the kernel's neighbour table (polled every 10 s); its alerts join the others
    // and have a log of their own. Their offender is a MAC (the spoofing device): they go to iptables-block like the
    // detectors' alerts, which blocks the MAC (and refuses, with the reason, those that name none, as a new device).
    b.func('lan-start', 'capture the LAN if LAN_IFACE is set', `const iface = env.get('LAN_IFACE');
if (!iface) {
    node.status({ fill: 'grey', shape: 'ring', text: 'LAN_IFACE not set: kernel neighbour table only' });
    return null;
}
node.status({ text: iface });
return [[{ topic: 'config', payload: { iface } }, { topic: 'start' }]];`, 1, 360, 760, [['lan-capture']]);
    b.add('lan-start-tick', 'inject', { name: 'on deploy', props: [{ p: 'topic', vt: 'str' }], repeat: '', crontab: '', once: true, onceDelay: '1', topic: 'start' },
      140, 760, [['lan-start']]);
    // 'any' until started: a blank LAN_IFACE would be a bad setting at deploy
    b.add('lan-capture', 'pcap-in', { name: 'LAN (ARP, ND, DHCP)', ...settingsOf('pcap-in', { source: 'live', iface: 'any',
      filter: 'arp or (icmp6 and (ip6[40] == 135 or ip6[40] == 136)) or (udp and (port 67 or port 68))' }) }, 580, 760, [['lan'], []]);
    b.add('lan', 'lan-watch', { name: 'lan-watch', ...settingsOf('lan-watch', { iface: '${LAN_IFACE}', pollS: 10 }) }, 800, 760, [[], ['detections', 'lan-model']]);
    b.func('lan-model', 'LAN log model', code.ALERT_MODEL_FUNC, 5, 1010, 760, [['lan-log'], [], [], [], []]);
    ui.template('lan-log', { name: 'LAN log', view: 'threat-log', group: 'g-lan', order: 1, width: 24, height: 6 }, 1210, 760, [[]]);

    // Phone notifications of new devices, blocks and high-severity alerts, repeats collapsed (off unless the tab's NOTIFY names a service).
    b.add('notify', 'push-notify', { name: 'phone notifications', ...settingsOf('push-notify', { service: '${NOTIFY}', url: '${NOTIFY_URL}', token: '${NOTIFY_TOKEN}',
      chat: '${NOTIFY_CHAT}', intervalS: '${NOTIFY_INTERVAL_S}' }) }, 1420, 620, [[]]);

    // Thresholds
    const g = 'g-thresholds';
    ui.slider('sl-syn', { label: 'SYN per source per second', topic: 'synSrc', min: 10, max: 2000, step: 10, value: FLOOD.synSrc, group: g }, 140, 640, 'flood-config');
    ui.slider('sl-icmp', { label: 'ICMP echo per source per second', topic: 'icmpSrc', min: 5, max: 2000, step: 5, value: FLOOD.icmpSrc, group: g }, 140, 680, 'flood-config');
    ui.slider('sl-vert', { label: 'Ports per source (vertical scan)', topic: 'verticalPorts', min: 3, max: 1000, step: 1, value: SCAN.verticalPorts, group: g }, 140, 720, 'scan-config');
    ui.slider('sl-limit', { label: 'Device limit KB/s', topic: 'limitBps', min: 10, max: 100000, step: 1, value: Math.round(Number(BANDWIDTH.limitBps) / 1024), group: g },
      140, 760, 'bw-config');
    b.func('flood-config', 'slider → flood config', code.SLIDER_TO_CONFIG_FUNC, 1, 600, 660, [['flood']]);
    b.func('scan-config', 'slider → scan config', code.SLIDER_TO_CONFIG_FUNC, 1, 600, 720, [['scan']]);
    b.func('bw-config', 'slider → bandwidth config', code.SLIDER_TO_CONFIG_FUNC, 1, 600, 760, [['bandwidth']]);
  },
};

// ---------------------------------------------------------------- fleet central

const CENTRAL = {
  name: 'central',
  file: 'fleet-central',
  tab: (v) => ({
    label: 'Fleet central',
    info: `The central of a fleet of sensors (router or analyst flows with their fleet-sensor on): every sensor's alerts, devices, block lists and health from an MQTT broker into SQLite, a fleet dashboard at ${v.url}, blocks decided here applied by every sensor. See "Many sensors, one view" in the README of node-red-contrib-ips.`,
    env: [
      ...brokerVars,
      envVar('DB_FILE', 'IPS_DB', 'ips-central.db'),
    ],
  }),
  // rows: Sensors; Alerts; Devices (8 units high), Blocklist (1 + 1 + 6)
  page: {
    title: 'Fleet', icon: { dashboard1: 'sitemap', dashboard2: 'lan' }, order: 3, path: '/fleet',
    groups: [
      { id: 'g-sensors', title: 'Sensors', width: 24 },
      { id: 'g-log', title: 'Alerts of every sensor', width: 24 },
      { id: 'g-devices', title: 'Devices per sensor', width: 12 },
      { id: 'g-block', title: 'Fleet blocklist', width: 12 },
    ],
  },
  build(b, ui, v) {
    b.comment('about', 'Fleet central: every sensor over MQTT → SQLite → fleet dashboard; blocks from here go to every sensor',
      `Configure on this tab's Environment: BROKER (IPS_MQTT_URL), MQTT_USER (IPS_MQTT_USER; the password in the fleet-central node, kept in Node-RED's credentials), DB_FILE (IPS_DB). The broker's ACL: docs/fleet-acl.example. Dashboard at ${v.url}.`, 330, 40);
    b.add('central', 'fleet-central', { ...settingsOf('fleet-central', { broker: '${BROKER}', username: '${MQTT_USER}' }) }, 140, 120, [['history']]);
    b.sqliteLog('history', 'history', 380, 120, [[]]);

    // The dashboard asks sqlite-log every 5 s, and at once when the sensor filter changes.
    b.add('tick', 'inject', { name: 'every 5 s', props: [{ p: 'topic', vt: 'str' }], repeat: '5', crontab: '', once: true, onceDelay: '1', topic: 'refresh' },
      140, 200, [['queries']]);
    ui.textInput('sensor-filter', { name: 'sensor filter', label: 'Sensor', tooltip: 'empty = every sensor', group: 'g-log', order: 1, topic: 'sensor' }, 140, 240, [['remember-sensor']]);
    b.add('remember-sensor', 'change', { name: 'remember sensor filter', rules: [{ t: 'set', p: 'sensor_filter', pt: 'flow', to: 'payload', tot: 'msg' }],
      action: '', property: '', from: '', to: '', reg: false }, 360, 240, [['queries']]);
    b.func('queries', 'fleet queries', code.FLEET_QUERIES_FUNC, 1, 580, 220, [['fleet-db']]);
    b.sqliteLog('fleet-db', 'fleet queries', 780, 220, [['fleet-view']]);
    b.func('fleet-view', 'fleet views', code.FLEET_VIEW_FUNC, 4, 980, 220, [['sensors'], ['alert-log'], ['device-list'], ['blocklist']]);
    ui.template('sensors', { name: 'sensors', view: 'fleet-sensors', group: 'g-sensors', order: 1, width: 24, height: 5 }, 1210, 160, [[]]);
    ui.template('alert-log', { name: 'alert log', view: 'threat-log', group: 'g-log', order: 2, width: 24, height: 10 }, 1210, 200, [[]]);
    // a device's switch and the blocklist's Unblock decide for the whole fleet
    ui.template('device-list', { name: 'device list', view: 'device-list', group: 'g-devices', order: 1, width: 12, height: 8 }, 1210, 240, [['central']]);

    // Block everywhere: the typed address as a decision every sensor applies.
    ui.textInput('block-ip', { name: 'address to block', label: 'Address', tooltip: 'an IPv4 or IPv6 address', group: 'g-block', order: 1, topic: 'address' },
      140, 340, [['remember-ip']]);
    b.add('remember-ip', 'change', { name: 'remember address', rules: [{ t: 'set', p: 'block_ip', pt: 'flow', to: 'payload', tot: 'msg' }],
      action: '', property: '', from: '', to: '', reg: false }, 360, 340, [[]]);
    ui.button('btn-block', { name: 'block everywhere', group: 'g-block', order: 2, width: 4, height: 1, label: 'Block everywhere', tooltip: 'every sensor blocks the address',
      className: 'ips-block-everywhere', icon: 'ban', topic: 'block' }, 140, 380, [['block-msg']]);
    b.func('block-msg', 'address → block decision', code.BLOCK_EVERYWHERE_FUNC, 1, 360, 380, [['central']]);
    // after the address and button: Dashboard 2 orders a group's widgets as they are described
    ui.template('blocklist', { name: 'blocklist', view: 'blocklist', group: 'g-block', order: 3, width: 12, height: 6 }, 1210, 280, [['central']]);
  },
};

/** The dashboards the script writes. */
const DASHBOARDS = [ANALYST, ROUTER, CENTRAL];

// ---------------------------------------------------------------- rendering

/** One description in one variant: the flow's nodes. */
function flowOf(desc, variant) {
  const prefix = variant.prefix(desc.name);
  const { label, info, env } = desc.tab(variant);
  const b = builder(prefix, { id: `${prefix}.tab`, type: 'tab', label: variant.tabLabel(label), disabled: false, info, env });
  variant.layout(b, desc.page);
  desc.build(b, variant.widgets(b), variant);
  return b.finish();
}

function render(nodes) {
  return JSON.stringify(nodes, null, 2) + '\n';
}

/** File name → text of every flow this script writes. */
function outputs() {
  const out = {};
  for (const variant of VARIANTS) for (const desc of DASHBOARDS) out[variant.file(desc.file)] = render(flowOf(desc, variant));
  return out;
}

module.exports = { outputs, flowOf, DASHBOARDS, VARIANTS };

// ---------------------------------------------------------------- main

/** Where the flows are written: flows/ (what npm start and the tests read) and examples/flows/ (Import › Examples in the editor). */
const DIRS = ['flows', path.join('examples', 'flows')];

if (require.main === module) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [name, text] of Object.entries(outputs())) {
    for (const dir of DIRS) {
      const file = path.join(root, dir, name);
      const shown = path.join(dir, name);
      if (check) {
        const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
        if (current !== text) {
          console.error(`${shown} differs from scripts/make-flows.js: run node scripts/make-flows.js`);
          stale++;
        }
      } else {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
        console.log(`wrote ${shown}`);
      }
    }
  }
  process.exit(stale ? 1 : 0);
}
