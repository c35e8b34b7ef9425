// Dashboard 1 (node-red-dashboard, AngularJS) rendering of the dashboards
// described in scripts/make-flows.js: a ui_tab and ui_groups for the page,
// one ui_* node per widget, and the AngularJS templates of the views. The
// dashboard is served at /ui.
'use strict';

// ---------------------------------------------------------------- views (ui_template, AngularJS)

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
    <thead><tr><th>time</th><th ng-if="msg.sensorColumn">sensor</th><th>source</th><th>type / rule</th><th>severity</th><th>action</th><th>reason</th></tr></thead>
    <tbody>
      <tr class="ips-row" ng-repeat="a in (msg.payload || []) | filter: (filterSeverity ? {severity: filterSeverity} : undefined) track by a.key"
          ng-click="$parent.selectedKey = a.key" ng-class="{'ips-selected': a.key === selectedKey}" data-rule="{{a.rule}}" data-sensor="{{a.sensor}}">
        <td>{{a.ts | date:'yyyy-MM-dd HH:mm:ss'}}</td>
        <td ng-if="msg.sensorColumn" class="ips-sensor">{{a.sensor}}</td>
        <td>{{a.src}}<span ng-if="a.sport">:{{a.sport}}</span></td>
        <td>{{a.category}} / {{a.rule}}<span ng-if="a.mlClass" class="ips-ml-class"> ({{a.mlClass}}, p={{a.probability | number:2}})</span></td>
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
      <tr ng-if="a.list" class="ips-reputation"><th>list</th><td>{{a.list}} ({{a.listEntry}})</td><th>device</th><td>{{a.device}} <span ng-if="a.deviceMac">({{a.deviceMac}}<span ng-if="a.deviceVendor">, {{a.deviceVendor}}</span>)</span></td></tr>
      <tr ng-if="a.gid || a.rev || a.classtype" class="ips-rule-ids"><th>gid:sid:rev</th><td>{{a.gid || 1}}:{{a.sid}}:{{a.rev || 1}}</td><th>classtype</th><td>{{a.classtype}}</td></tr>
      <tr ng-if="a.references.length" class="ips-references"><th>references</th><td colspan="3"><span ng-repeat="r in a.references" class="ips-reference">{{r}}<span ng-if="!$last">; </span></span></td></tr>
      <tr ng-if="a.mlClass" class="ips-ml"><th>model class</th><td>{{a.mlClass}}</td><th>probability</th><td>{{a.probability | number:2}}</td></tr>
      <tr ng-if="a.country || a.asn" class="ips-geo"><th>country</th><td>{{a.country}}</td><th>network</th><td><span ng-if="a.asn">AS{{a.asn}} {{a.asOrg}}</span></td></tr>
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
    <thead><tr><th>address</th><th ng-if="msg.sensorColumn">sensors</th><th>since</th><th>time left</th><th>reason</th><th></th></tr></thead>
    <tbody>
      <tr ng-repeat="b in msg.payload.blocked track by b.ip" data-ip="{{b.ip}}">
        <td>{{b.ip}}</td>
        <td ng-if="msg.sensorColumn" class="ips-sensor">{{b.sensor}}</td>
        <td>{{b.since | date:'HH:mm:ss'}}</td>
        <td>{{b.expires ? (((b.expires - msg.receivedAt) / 1000) | number:0) + ' s' : 'permanent'}}</td>
        <td>{{b.reason}}</td>
        <td><button class="md-button md-raised ips-unblock" ng-click="send({topic: 'unblock', payload: b.ip})">Unblock</button></td>
      </tr>
    </tbody>
  </table>
</div>`;

/** Alert counts: total and per category (data-count attributes for tests). */
const SUMMARY_TEMPLATE = `<div class="ips-summary">
  <div class="ips-summary-total">Total alerts: <b data-count="total">{{msg.payload.total || 0}}</b></div>
  <div ng-repeat="c in ['flood', 'scan', 'payload', 'anomaly', 'bandwidth', 'policy']" class="ips-summary-{{c}}" data-category="{{c}}">
    {{c}}: <b data-count="{{c}}">{{(msg.payload.byCategory || {})[c] || 0}}</b>
  </div>
</div>`;

/** Device list: one row per device with live KB/s each way and a block switch ({topic:'block'|'unblock', payload: ip}). */
const DEVICE_LIST_TEMPLATE = `${SEVERITY_STYLE}
<div class="ips-devices">
  <div ng-if="!(msg.payload.devices || []).length">No devices seen yet.</div>
  <table class="ips-table" ng-if="(msg.payload.devices || []).length">
    <thead><tr><th ng-if="msg.sensorColumn">sensor</th><th>name</th><th>vendor</th><th>IP</th><th>MAC</th><th>down KB/s</th><th>up KB/s</th><th>blocked</th></tr></thead>
    <tbody>
      <tr ng-repeat="d in msg.payload.devices track by (d.sensor || '') + ' ' + d.ip" data-ip="{{d.ip}}" data-sensor="{{d.sensor}}" class="ips-device">
        <td ng-if="msg.sensorColumn" class="ips-sensor">{{d.sensor}}</td><td>{{d.hostname || d.ip}}</td><td class="ips-vendor">{{d.vendor || '?'}}</td><td>{{d.ip}}</td><td>{{d.mac}}</td>
        <td class="ips-rx">{{(d.rxBps / 1024) | number:1}}</td><td class="ips-tx">{{(d.txBps / 1024) | number:1}}</td>
        <td><md-switch class="ips-block-switch" aria-label="block {{d.ip}}" ng-model="d.blocked"
              ng-change="send({topic: d.blocked ? 'block' : 'unblock', payload: d.ip})"></md-switch></td>
      </tr>
    </tbody>
  </table>
</div>`;

/** Links to the exports, relative to the dashboard (…/ui/): the HTTP-in endpoints sit beside /ui. */
const EXPORT_LINKS_TEMPLATE = `<div class="ips-export">Alerts:
  <a class="ips-export-csv" href="../ips/export/alerts.csv" target="_blank" download>CSV</a> ·
  <a class="ips-export-jsonl" href="../ips/export/alerts.jsonl" target="_blank" download>JSON Lines</a><br>Flows of the last capture:
  <a class="ips-export-flows" href="../ips/export/flows.csv" target="_blank" download>CSV</a></div>`;

/** Threat lists: each list's size, age and last refresh; devices that reached listed addresses; top destination countries per device. */
const REPUTATION_TEMPLATE = `${SEVERITY_STYLE}
<div class="ips-reputation-view">
  <table class="ips-table ips-lists">
    <thead><tr><th>list</th><th>category</th><th>entries</th><th>age</th><th>hits</th><th>last refresh</th></tr></thead>
    <tbody><tr ng-repeat="l in (msg.payload.lists || []) track by l.name" class="ips-list" data-list="{{l.name}}">
      <td>{{l.name}}</td><td>{{l.category}}</td><td class="ips-list-entries">{{l.entries}}</td><td class="ips-list-age">{{l.ageS === null ? 'never' : (l.ageS / 3600 | number:1) + ' h'}}</td><td class="ips-list-hits">{{l.hits}}</td><td class="ips-list-refresh" title="{{l.reason}}">{{l.result}}: {{l.reason}}</td>
    </tr></tbody>
  </table>
  <table class="ips-table ips-listed-devices">
    <thead><tr><th>device</th><th>MAC</th><th>vendor</th><th>lists</th><th>hits</th><th>last listed address</th></tr></thead>
    <tbody><tr ng-repeat="d in (msg.payload.devices || []) track by d.device" class="ips-listed-device" data-ip="{{d.device}}">
      <td>{{d.device}}</td><td class="ips-listed-mac">{{d.mac}}</td><td class="ips-listed-vendor">{{d.vendor}}</td><td class="ips-listed-lists">{{d.lists.join(', ')}}</td><td class="ips-listed-hits">{{d.hits}}</td><td class="ips-listed-address">{{d.listed}}</td>
    </tr></tbody>
  </table>
  <table class="ips-table ips-countries">
    <thead><tr><th>device</th><th>top destination countries</th></tr></thead>
    <tbody><tr ng-repeat="c in (msg.payload.countries || []) track by c.device" class="ips-country" data-ip="{{c.device}}"><td>{{c.device}}</td><td class="ips-country-top">{{c.top}}</td></tr></tbody>
  </table>
</div>`;

/** The fleet's sensors: health and last seen, one row each (fleet-central's flow). */
const FLEET_SENSORS_TEMPLATE = `${SEVERITY_STYLE}
<div class="ips-fleet-sensors">
  <div ng-if="!(msg.payload || []).length">No sensor heard from yet.</div>
  <table class="ips-table" ng-if="(msg.payload || []).length">
    <thead><tr><th>sensor</th><th>state</th><th>last seen</th><th>version</th><th>uptime</th><th>packets</th><th>drops</th><th>queued / dropped</th><th>alerts (1 h)</th></tr></thead>
    <tbody>
      <tr ng-repeat="s in msg.payload track by s.sensor" class="ips-sensor-row" data-sensor="{{s.sensor}}" data-state="{{s.state}}">
        <td>{{s.sensor}}</td><td><span class="ips-sev" ng-class="s.state === 'online' ? 'ips-sev-low' : 'ips-sev-high'">{{s.state}}</span></td>
        <td>{{s.ageS}} s ago</td><td>{{s.version}}</td><td>{{s.uptime}}</td><td>{{s.packets}}</td><td>{{s.drops}}</td>
        <td>{{s.queued}} / {{s.dropped}}</td><td class="ips-sensor-alerts">{{s.alertsLastHour}}</td>
      </tr>
    </tbody>
  </table>
</div>`;

/** The views by name (the `view` of a template widget). */
const VIEWS = {
  'fleet-sensors': FLEET_SENSORS_TEMPLATE,
  reputation: REPUTATION_TEMPLATE,
  'threat-log': THREAT_LOG_TEMPLATE,
  blocklist: BLOCKLIST_TEMPLATE,
  summary: SUMMARY_TEMPLATE,
  'device-list': DEVICE_LIST_TEMPLATE,
  'export-links': EXPORT_LINKS_TEMPLATE,
};

// ---------------------------------------------------------------- the renderer

/*
 * Dashboard layout. node-red-dashboard measures an auto-height template once,
 * so a table that grows later spills out of its card, and its masonry puts a
 * group below the shortest group above, checking for overlap only at the new
 * group's left edge. So every widget here has a fixed size (long tables scroll
 * inside theirs), and in each row of groups the first (leftmost) is at least as
 * tall as the others: a full-width group then starts below all of them.
 * Widths are in node-red-dashboard units (a full-width group is 24).
 */

/** The widgets of one flow, drawn with node-red-dashboard nodes on builder `b`. */
function widgets(b) {
  return {
    /** A ui_template showing the view `view` (a name in VIEWS). */
    template(name, w, x, y, wires) {
      if (!(w.view in VIEWS)) throw new Error(`${name}: no Dashboard 1 view '${w.view}' in scripts/flows/dashboard1.js`);
      return b.add(name, 'ui_template', { name: w.name, group: b.id(w.group), order: w.order, width: String(w.width), height: String(w.height), format: VIEWS[w.view],
        storeOutMessages: true, fwdInMessages: false, resendOnRefresh: true, templateScope: 'local', className: '' }, x, y, wires);
    },

    /** A chart; `w.input` 'series' takes [{ series, data, labels }] (the whole chart), 'points' one { topic, payload } per point. */
    chart(name, w, x, y) {
      return b.add(name, 'ui_chart', { name: w.label, group: b.id(w.group), order: w.order, width: w.width, height: w.height, label: w.label, chartType: w.type, legend: 'true',
        xformat: 'HH:mm:ss', interpolate: 'linear', nodata: w.nodata ?? 'no alerts yet', dot: false, ymin: '', ymax: '', removeOlder: w.removeOlder ?? 1, removeOlderPoints: '',
        removeOlderUnit: w.removeOlderUnit ?? '3600', cutout: 0, useOneColor: false, useUTC: false,
        colors: ['#1f77b4', '#aec7e8', '#ff7f0e', '#2ca02c', '#98df8a', '#d62728', '#ff9896', '#9467bd', '#c5b0d5'], outputs: 1, useDifferentColor: false, className: '' }, x, y, [[]]);
    },

    /** A threshold slider, set to its default once on deploy (passthru off: setting it sends nothing to the detector). */
    slider(name, w, x, y, to) {
      b.numberOnDeploy(`${name}-default`, w.value, x, y, name);
      return b.add(name, 'ui_slider', { name: w.label, label: `${w.label} (${w.value})`, tooltip: `default ${w.value}`, group: b.id(w.group), order: 0, width: 0, height: 0,
        passthru: false, outs: 'end', topic: w.topic, topicType: 'str', min: w.min, max: w.max, step: w.step, className: '' }, x + 200, y, [[to]]);
    },

    /** A button sending { topic: w.topic, payload: '' }; `w.icon` a Font Awesome name without 'fa-'. */
    button(name, w, x, y, wires) {
      return b.add(name, 'ui_button', { name: w.name, group: b.id(w.group), order: w.order, width: w.width, height: w.height, passthru: false, label: w.label, tooltip: w.tooltip ?? '',
        color: '', bgcolor: '', className: w.className, icon: `fa-${w.icon}`, payload: '', payloadType: 'str', topic: w.topic, topicType: 'str' }, x, y, wires);
    },

    /** An on/off switch sending { topic: w.topic, payload: true | false }. */
    switch(name, w, x, y, wires) {
      return b.add(name, 'ui_switch', { name: w.name, label: w.label, tooltip: w.tooltip, group: b.id(w.group), order: w.order,
        width: 0, height: 0, passthru: false, decouple: 'false', topic: w.topic, topicType: 'str', style: '', onvalue: true, onvalueType: 'bool', onicon: '', oncolor: '',
        offvalue: false, offvalueType: 'bool', officon: '', offcolor: '', animate: false, className: w.className }, x, y, wires);
    },

    /** A text field sending { topic: w.topic, payload: text } when it loses focus. */
    textInput(name, w, x, y, wires) {
      return b.add(name, 'ui_text_input', { name: w.name, label: w.label, tooltip: w.tooltip, group: b.id(w.group), order: w.order,
        width: 0, height: 0, passthru: false, mode: 'text', delay: 0, topic: w.topic, sendOnBlur: true, className: '', topicType: 'str' }, x, y, wires);
    },

    /** A read-only text showing msg.payload. */
    text(name, w, x, y) {
      return b.add(name, 'ui_text', { name: w.name, group: b.id(w.group), order: w.order, width: w.width, height: w.height, label: w.label, format: '{{msg.payload}}',
        layout: 'row-spread', className: w.className, style: false, font: '', fontSize: 16, color: '#000000' }, x, y);
    },

    /** A pop-up notification: msg.topic its title, msg.payload its text. */
    notification(name, w, x, y) {
      return b.add(name, 'ui_toast', { name: w.name, position: 'top right', displayTime: String(w.displayTimeS), highlight: w.highlight, sendall: true, outputs: 0, ok: 'OK', cancel: '',
        raw: false, className: '', topic: '' }, x, y);
    },
  };
}

/** The page of a dashboard description as a ui_tab with its ui_groups (order as listed). */
function layout(b, page) {
  b.config('ui-tab', 'ui_tab', { name: page.title, icon: page.icon.dashboard1, order: page.order, disabled: false, hidden: false });
  page.groups.forEach((g, i) => {
    b.config(g.id, 'ui_group', { name: g.title, tab: b.id('ui-tab'), order: i + 1, disp: true, width: String(g.width), collapse: false, className: '' });
  });
}

module.exports = {
  /** How the flow files, tabs and ids of this variant are named. */
  key: 'dashboard1',
  title: 'Dashboard 1',
  module: 'node-red-dashboard',
  url: '/ui',
  prefix: (name) => name,
  file: (name) => `${name}.json`,
  tabLabel: (label) => label,
  layout,
  widgets,
};
