// Dashboard 2 (@flowfuse/node-red-dashboard, Vue/Vuetify) rendering of the
// dashboards described in scripts/make-flows.js, served at /dashboard: a
// ui-base and ui-theme every Dashboard 2 flow shares (same ids and content,
// so importing both flows keeps one of each), a ui-page per description with
// its ui-groups, and the dashboard's own widgets (ui-chart, ui-slider,
// ui-switch, ui-button, ui-text, ui-text-input, ui-notification), with
// ui-template Vue views where a row needs a switch or a button or a click
// opens a packet. Dashboard 2 lays groups on a 12-column grid: the
// description's widths (Dashboard 1 units, 24 = full width) are halved.
'use strict';

// ---------------------------------------------------------------- views (ui-template, Vue)

/** Severity colours and the tables of every view (each ui-template carries its own style). */
const STYLE = `<style>
.ips-sev-high { color: #fff; background: #c62828; }
.ips-sev-medium { color: #000; background: #f9a825; }
.ips-sev-low { color: #fff; background: #1565c0; }
.ips-sev { padding: 1px 6px; border-radius: 3px; font-weight: bold; }
.ips-table { width: 100%; border-collapse: collapse; font-size: 12px; }
.ips-table th, .ips-table td { text-align: left; padding: 2px 4px; border-bottom: 1px solid rgba(128,128,128,.3); vertical-align: middle; }
.ips-table tr.ips-row { cursor: pointer; }
.ips-table tr.ips-selected { outline: 2px solid #1565c0; }
.ips-scroll { max-height: 420px; overflow: auto; }
.ips-hex { font-family: monospace; font-size: 11px; white-space: pre; overflow-x: auto; background: rgba(128,128,128,.12); padding: 4px; }
.ips-severity-filter { border: 1px solid rgba(128,128,128,.5); border-radius: 3px; padding: 0 4px; margin: 0 8px 4px 4px; }
</style>`;

/** Local time as yyyy-mm-dd hh:mm:ss(.sss): the same text the Dashboard 1 views show. */
const TIME_METHOD = `time(ts, withMs) {
      if (!ts) return '';
      const d = new Date(ts);
      const p = (n, w = 2) => String(n).padStart(w, '0');
      const text = d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
      return withMs ? text + '.' + p(d.getMilliseconds(), 3) : text;
    }`;

/** A Vue view: its template, the component's `data` and `computed` (source text), the time method and the shared style. */
const view = (template, { data = '', computed }) => `<template>
${template}
</template>
<script>
export default {${data ? `
  data() { return ${data}; },` : ''}
  computed: {
${computed}
  },
  methods: {
    ${TIME_METHOD},
  },
};
</script>
${STYLE}`;

/** Threat log: table with severity colours, a severity filter, and the selected alert's packet view. */
const THREAT_LOG = view(`<div class="ips-threat-log">
  <label>Severity
    <select v-model="filterSeverity" class="ips-severity-filter">
      <option value="">all</option><option value="high">high</option><option value="medium">medium</option><option value="low">low</option>
    </select>
  </label>
  <span class="ips-log-count">{{ rows.length }} alerts</span>
  <div class="ips-scroll">
  <table class="ips-table">
    <thead><tr><th>time</th><th v-if="sensorColumn">sensor</th><th>source</th><th>type / rule</th><th>severity</th><th>action</th><th>reason</th></tr></thead>
    <tbody>
      <tr v-for="a in shown" :key="a.key" class="ips-row" :class="{ 'ips-selected': a.key === selectedKey }" :data-rule="a.rule" :data-sensor="a.sensor" @click="selectedKey = a.key">
        <td>{{ time(a.ts) }}</td>
        <td v-if="sensorColumn" class="ips-sensor">{{ a.sensor }}</td>
        <td>{{ a.src }}<span v-if="a.sport">:{{ a.sport }}</span></td>
        <td>{{ a.category }} / {{ a.rule }}<span v-if="a.mlClass" class="ips-ml-class"> ({{ a.mlClass }}, p={{ Number(a.probability).toFixed(2) }})</span></td>
        <td><span :class="'ips-sev ips-sev-' + a.severity">{{ a.severity }}</span></td>
        <td>{{ a.action }}</td>
        <td>{{ a.reason }}</td>
      </tr>
    </tbody>
  </table>
  </div>
  <div v-if="selected" class="ips-packet-view">
    <h4>{{ selected.signature }} <span :class="'ips-sev ips-sev-' + selected.severity">{{ selected.severity }}</span></h4>
    <table class="ips-table ips-headers">
      <tr><th>time</th><td>{{ time(selected.ts, true) }}</td><th>rule / sid</th><td>{{ selected.rule }} / {{ selected.sid }}</td></tr>
      <tr><th>source</th><td>{{ selected.src }}<span v-if="selected.sport">:{{ selected.sport }}</span> <span v-if="selected.srcMac">({{ selected.srcMac }})</span></td>
          <th>destination</th><td>{{ selected.dst }}<span v-if="selected.dport">:{{ selected.dport }}</span></td></tr>
      <tr><th>protocol</th><td>{{ selected.proto }}</td><th>count / threshold</th><td>{{ selected.count }} / {{ selected.threshold }} in {{ selected.windowMs }} ms</td></tr>
      <tr><th>detector</th><td>{{ selected.detector }}</td><th>action</th><td>{{ selected.action }}</td></tr>
      <tr v-if="selected.list" class="ips-reputation"><th>list</th><td>{{ selected.list }} ({{ selected.listEntry }})</td><th>device</th><td>{{ selected.device }} <span v-if="selected.deviceMac">({{ selected.deviceMac }}<span v-if="selected.deviceVendor">, {{ selected.deviceVendor }}</span>)</span></td></tr>
      <tr v-if="selected.gid || selected.rev || selected.classtype" class="ips-rule-ids"><th>gid:sid:rev</th><td>{{ selected.gid || 1 }}:{{ selected.sid }}:{{ selected.rev || 1 }}</td><th>classtype</th><td>{{ selected.classtype }}</td></tr>
      <tr v-if="selected.references && selected.references.length" class="ips-references"><th>references</th><td colspan="3">{{ selected.references.join('; ') }}</td></tr>
      <tr v-if="selected.mlClass" class="ips-ml"><th>model class</th><td>{{ selected.mlClass }}</td><th>probability</th><td>{{ Number(selected.probability).toFixed(2) }}</td></tr>
      <tr v-if="selected.country || selected.asn" class="ips-geo"><th>country</th><td>{{ selected.country }}</td><th>network</th><td><span v-if="selected.asn">AS{{ selected.asn }} {{ selected.asOrg }}</span></td></tr>
    </table>
    <div>{{ selected.reason }}</div>
    <div class="ips-hex">{{ selected.evidence || '(no payload evidence for this alert)' }}</div>
  </div>
  <div v-else class="ips-packet-hint">Click an alert to see its packet.</div>
</div>`, {
  data: "{ filterSeverity: '', selectedKey: null }",
  computed: `    rows() { return Array.isArray(this.msg && this.msg.payload) ? this.msg.payload : []; },
    sensorColumn() { return Boolean(this.msg && this.msg.sensorColumn); },
    shown() { return this.filterSeverity ? this.rows.filter((a) => a.severity === this.filterSeverity) : this.rows; },
    selected() { return this.rows.find((a) => a.key === this.selectedKey) || null; },`,
});

/** Blocklist with time left and an unblock button per address (sends {topic:'unblock', payload: ip}). */
const BLOCKLIST = view(`<div class="ips-blocklist">
  <div v-if="!blocked.length">Nothing blocked.</div>
  <div v-if="msg && msg.payload && msg.payload.dryRun" class="ips-dry-run">Dry run: commands are shown, not run.</div>
  <table class="ips-table" v-if="blocked.length">
    <thead><tr><th>address</th><th v-if="msg.sensorColumn">sensors</th><th>since</th><th>time left</th><th>reason</th><th></th></tr></thead>
    <tbody>
      <tr v-for="b in blocked" :key="b.ip" :data-ip="b.ip">
        <td>{{ b.ip }}</td>
        <td v-if="msg.sensorColumn" class="ips-sensor">{{ b.sensor }}</td>
        <td>{{ time(b.since).slice(11) }}</td>
        <td>{{ b.expires ? Math.round((b.expires - msg.receivedAt) / 1000) + ' s' : 'permanent' }}</td>
        <td>{{ b.reason }}</td>
        <td><v-btn size="small" variant="tonal" class="ips-unblock" @click="send({ topic: 'unblock', payload: b.ip })">Unblock</v-btn></td>
      </tr>
    </tbody>
  </table>
</div>`, {
  computed: '    blocked() { return (this.msg && this.msg.payload && this.msg.payload.blocked) || []; },',
});

/** Alert counts: total and per category (data-count attributes for tests). */
const SUMMARY = `<template>
<div class="ips-summary">
  <div class="ips-summary-total">Total alerts: <b data-count="total">{{ (msg && msg.payload && msg.payload.total) || 0 }}</b></div>
  <div v-for="c in ['flood', 'scan', 'payload', 'anomaly', 'bandwidth', 'policy']" :key="c" :class="'ips-summary-' + c" :data-category="c">
    {{ c }}: <b :data-count="c">{{ ((msg && msg.payload && msg.payload.byCategory) || {})[c] || 0 }}</b>
  </div>
</div>
</template>`;

/** Device list: one row per device with live KB/s each way and a block switch ({topic:'block'|'unblock', payload: ip}). */
const DEVICE_LIST = view(`<div class="ips-devices">
  <div v-if="!devices.length">No devices seen yet.</div>
  <table class="ips-table" v-if="devices.length">
    <thead><tr><th v-if="msg.sensorColumn">sensor</th><th>name</th><th>vendor</th><th>IP</th><th>MAC</th><th>down KB/s</th><th>up KB/s</th><th>blocked</th></tr></thead>
    <tbody>
      <tr v-for="d in devices" :key="(d.sensor || '') + ' ' + d.ip" :data-ip="d.ip" :data-sensor="d.sensor" :data-blocked="d.blocked ? 'yes' : 'no'" class="ips-device">
        <td v-if="msg.sensorColumn" class="ips-sensor">{{ d.sensor }}</td><td>{{ d.hostname || d.ip }}</td><td class="ips-vendor">{{ d.vendor || '?' }}</td><td>{{ d.ip }}</td><td>{{ d.mac }}</td>
        <td class="ips-rx">{{ (d.rxBps / 1024).toFixed(1) }}</td><td class="ips-tx">{{ (d.txBps / 1024).toFixed(1) }}</td>
        <td><v-switch class="ips-block-switch" color="red" density="compact" hide-details :aria-label="'block ' + d.ip" :model-value="d.blocked"
              @update:model-value="(on) => send({ topic: on ? 'block' : 'unblock', payload: d.ip })"></v-switch></td>
      </tr>
    </tbody>
  </table>
</div>`, {
  computed: '    devices() { return (this.msg && this.msg.payload && this.msg.payload.devices) || []; },',
});

/** Links to the exports, relative to the dashboard (…/dashboard/<page>): the HTTP-in endpoints sit beside /dashboard. */
const EXPORT_LINKS = `<template>
<div class="ips-export">Alerts:
  <a class="ips-export-csv" href="../ips/export/alerts.csv" target="_blank" download>CSV</a> ·
  <a class="ips-export-jsonl" href="../ips/export/alerts.jsonl" target="_blank" download>JSON Lines</a><br>Flows of the last capture:
  <a class="ips-export-flows" href="../ips/export/flows.csv" target="_blank" download>CSV</a></div>
</template>`;

/** Threat lists: each list's size, age and last refresh; devices that reached listed addresses; top destination countries per device. */
const REPUTATION = `<template>
<div class="ips-reputation-view ips-scroll">
  <table class="ips-table ips-lists">
    <thead><tr><th>list</th><th>category</th><th>entries</th><th>age</th><th>hits</th><th>last refresh</th></tr></thead>
    <tbody><tr v-for="l in view.lists || []" :key="l.name" class="ips-list" :data-list="l.name">
      <td>{{ l.name }}</td><td>{{ l.category }}</td><td class="ips-list-entries">{{ l.entries }}</td><td class="ips-list-age">{{ l.ageS === null ? 'never' : (l.ageS / 3600).toFixed(1) + ' h' }}</td><td class="ips-list-hits">{{ l.hits }}</td><td class="ips-list-refresh" :title="l.reason">{{ l.result }}: {{ l.reason }}</td>
    </tr></tbody>
  </table>
  <table class="ips-table ips-listed-devices">
    <thead><tr><th>device</th><th>MAC</th><th>vendor</th><th>lists</th><th>hits</th><th>last listed address</th></tr></thead>
    <tbody><tr v-for="d in view.devices || []" :key="d.device" class="ips-listed-device" :data-ip="d.device">
      <td>{{ d.device }}</td><td class="ips-listed-mac">{{ d.mac }}</td><td class="ips-listed-vendor">{{ d.vendor }}</td><td class="ips-listed-lists">{{ d.lists.join(', ') }}</td><td class="ips-listed-hits">{{ d.hits }}</td><td class="ips-listed-address">{{ d.listed }}</td>
    </tr></tbody>
  </table>
  <table class="ips-table ips-countries">
    <thead><tr><th>device</th><th>top destination countries</th></tr></thead>
    <tbody><tr v-for="c in view.countries || []" :key="c.device" class="ips-country" :data-ip="c.device"><td>{{ c.device }}</td><td class="ips-country-top">{{ c.top }}</td></tr></tbody>
  </table>
</div>
</template>
<script>
export default {
  computed: {
    view() { return (this.msg && this.msg.payload) || {}; },
  },
};
</script>
${STYLE}`;

/** The fleet's sensors: health and last seen, one row each (fleet-central's flow). */
const FLEET_SENSORS = view(`<div class="ips-fleet-sensors ips-scroll">
  <div v-if="!sensors.length">No sensor heard from yet.</div>
  <table class="ips-table" v-if="sensors.length">
    <thead><tr><th>sensor</th><th>state</th><th>last seen</th><th>version</th><th>uptime</th><th>packets</th><th>drops</th><th>queued / dropped</th><th>alerts (1 h)</th></tr></thead>
    <tbody>
      <tr v-for="s in sensors" :key="s.sensor" class="ips-sensor-row" :data-sensor="s.sensor" :data-state="s.state">
        <td>{{ s.sensor }}</td><td><span :class="'ips-sev ' + (s.state === 'online' ? 'ips-sev-low' : 'ips-sev-high')">{{ s.state }}</span></td>
        <td>{{ s.ageS }} s ago</td><td>{{ s.version }}</td><td>{{ s.uptime }}</td><td>{{ s.packets }}</td><td>{{ s.drops }}</td>
        <td>{{ s.queued }} / {{ s.dropped }}</td><td class="ips-sensor-alerts">{{ s.alertsLastHour }}</td>
      </tr>
    </tbody>
  </table>
</div>`, {
  computed: '    sensors() { return Array.isArray(this.msg && this.msg.payload) ? this.msg.payload : []; },',
});

/** The views by name (the `view` of a template widget). */
const VIEWS = {
  'fleet-sensors': FLEET_SENSORS,
  reputation: REPUTATION,
  'threat-log': THREAT_LOG,
  blocklist: BLOCKLIST,
  summary: SUMMARY,
  'device-list': DEVICE_LIST,
  'export-links': EXPORT_LINKS,
};

/** node-red-dashboard's chart data ([{ series, data, labels }], the whole chart) → one Dashboard 2 point per value, replacing the chart. */
const CHART_DATA_FUNC = `const chart = (msg.payload || [])[0];
const points = [];
if (chart) {
    chart.series.forEach((series, i) => (chart.data[i] || []).forEach((v, j) => {
        points.push(typeof v === 'object' && v !== null ? { series, x: v.x, y: v.y } : { series, x: chart.labels[j], y: v });
    }));
}
// an empty array clears the chart
return { payload: points, action: 'replace' };`;

// ---------------------------------------------------------------- the renderer

/** The config nodes every Dashboard 2 flow shares (not prefixed: identical in each flow file). */
const BASE_ID = 'ips-dashboard2.base';
const THEME_ID = 'ips-dashboard2.theme';
const SHARED = [
  { id: BASE_ID, type: 'ui-base', name: 'node-red-contrib-ips', path: '/dashboard', appIcon: '', includeClientData: true, acceptsClientConfig: ['ui-notification', 'ui-control'],
    showPathInSidebar: false, headerContent: 'page', navigationStyle: 'icon', titleBarStyle: 'default', showReconnectNotification: true, notificationDisplayTime: 1,
    showDisconnectNotification: true, allowInstall: false },
  { id: THEME_ID, type: 'ui-theme', name: 'node-red-contrib-ips',
    colors: { surface: '#263238', primary: '#1565c0', bgPage: '#eceff1', groupBg: '#ffffff', groupOutline: '#cfd8dc' },
    sizes: { density: 'default', pagePadding: '12px', groupGap: '12px', groupBorderRadius: '4px', widgetGap: '12px' } },
];

/** Half a Dashboard 1 width, at least one column. */
const columns = (units) => Math.max(1, Math.ceil(Number(units) / 2));

/** The widgets of one flow, drawn with Dashboard 2 nodes on builder `b`. */
function widgets(b) {
  const groupOf = (name) => b.id(name);
  /** Dashboard 2 orders widgets by `order`: count them per group where the description leaves it to the order of appearance. */
  const next = new Map();
  const orderIn = (group, order) => {
    const n = Math.max(order ?? 0, (next.get(group) ?? 0) + 1);
    next.set(group, n);
    return n;
  };
  return {
    template(name, w, x, y, wires) {
      if (!(w.view in VIEWS)) throw new Error(`${name}: no Dashboard 2 view '${w.view}' in scripts/flows/dashboard2.js`);
      return b.add(name, 'ui-template', { group: groupOf(w.group), page: '', ui: '', name: w.name, order: orderIn(w.group, w.order), width: '0', height: '0', head: '',
        format: VIEWS[w.view], storeOutMessages: true, passthru: false, resendOnRefresh: true, templateScope: 'local', className: `ips-view-${w.view}` }, x, y, wires);
    },

    chart(name, w, x, y) {
      const series = w.input === 'series';
      const category = w.type === 'pie' || w.type === 'bar';
      b.add(name, 'ui-chart', { group: groupOf(w.group), name: w.label, label: w.label, order: orderIn(w.group, w.order), chartType: w.type,
        category: series ? 'series' : 'topic', categoryType: series ? 'property' : 'msg', xAxisLabel: '', xAxisProperty: series ? 'x' : '', xAxisPropertyType: series ? 'property' : 'timestamp',
        xAxisType: w.type === 'pie' ? 'radial' : category ? 'category' : 'time', xAxisFormat: '', xAxisFormatType: 'auto', xmin: '', xmax: '', yAxisLabel: '',
        yAxisProperty: series ? 'y' : 'payload', yAxisPropertyType: series ? 'property' : 'msg', ymin: w.type === 'pie' ? '' : '0', ymax: '', bins: 10, action: series ? 'replace' : 'append',
        stackSeries: false, pointShape: 'circle', pointRadius: 2, showLegend: true, removeOlder: series ? 0 : w.removeOlder ?? 1, removeOlderUnit: w.removeOlderUnit ?? '3600',
        removeOlderPoints: '', colors: ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#17becf'],
        textColor: ['#666666'], textColorDefault: true, gridColor: ['#e5e5e5'], gridColorDefault: true,
        width: String(columns(w.width)), height: String(w.height), className: `ips-chart-${name}`, interpolation: 'linear' }, x, y, [[]]);
      if (!series) return;
      // the shared code sends the whole chart in node-red-dashboard's format: convert it where it enters this chart
      b.func(`${name}-data`, 'chart data → points', CHART_DATA_FUNC, 1, x, y + 20, [[name]]);
      b.reroute(name, `${name}-data`);
    },

    slider(name, w, x, y, to) {
      b.numberOnDeploy(`${name}-default`, w.value, x, y, name);
      return b.add(name, 'ui-slider', { group: groupOf(w.group), name: w.label, label: `${w.label} (${w.value})`, tooltip: `default ${w.value}`, order: orderIn(w.group, w.order),
        width: 0, height: 0, passthru: false, outs: 'end', topic: w.topic, topicType: 'str', thumbLabel: 'always', showTicks: 'false', min: w.min, max: w.max, step: w.step,
        className: `ips-slider-${w.topic}`, iconPrepend: '', iconAppend: '', color: '', colorTrack: '', colorThumb: '', showTextField: false }, x + 200, y, [[to]]);
    },

    button(name, w, x, y, wires) {
      // the full width of the group: half a Dashboard 1 button is too narrow for its label
      return b.add(name, 'ui-button', { group: groupOf(w.group), name: w.name, label: w.label, order: orderIn(w.group, w.order), width: '0', height: String(w.height),
        emulateClick: false, tooltip: w.tooltip ?? '', color: '', bgcolor: '', className: w.className, icon: w.icon, iconPosition: 'left', payload: '', payloadType: 'str',
        topic: w.topic, topicType: 'str', buttonColor: '', textColor: '', iconColor: '', enableClick: true, enablePointerdown: false, pointerdownPayload: '',
        pointerdownPayloadType: 'str', enablePointerup: false, pointerupPayload: '', pointerupPayloadType: 'str' }, x, y, wires);
    },

    switch(name, w, x, y, wires) {
      return b.add(name, 'ui-switch', { name: w.name, label: w.label, group: groupOf(w.group), order: orderIn(w.group, w.order), width: 0, height: 0, passthru: false, decouple: false,
        topic: w.topic, topicType: 'str', style: '', className: w.className, layout: 'row-spread', clickableArea: 'switch', onvalue: true, onvalueType: 'bool', onicon: '',
        oncolor: '', offvalue: false, offvalueType: 'bool', officon: '', offcolor: '' }, x, y, wires);
    },

    textInput(name, w, x, y, wires) {
      return b.add(name, 'ui-text-input', { group: groupOf(w.group), name: w.name, label: w.label, order: orderIn(w.group, w.order), width: 0, height: 0, topic: w.topic, topicType: 'str',
        mode: 'text', tooltip: w.tooltip, delay: 300, passthru: false, sendOnDelay: false, sendOnBlur: true, sendOnEnter: true, className: '', clearable: false,
        sendOnClear: false, icon: '', iconPosition: 'left', iconInnerPosition: 'inside' }, x, y, wires);
    },

    text(name, w, x, y) {
      return b.add(name, 'ui-text', { group: groupOf(w.group), order: orderIn(w.group, w.order), width: String(columns(w.width)), height: String(w.height), name: w.name, label: w.label,
        format: '{{msg.payload}}', layout: 'col-center', style: false, font: '', fontSize: 16, color: '#717171', wrapText: true, className: w.className, value: 'payload', valueType: 'msg' }, x, y);
    },

    /** ui-notification shows msg.payload: the title (msg.topic) goes in front of the text. */
    notification(name, w, x, y) {
      b.add(`${name}-text`, 'change', { name: 'title: text', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'topic & ": " & payload', tot: 'jsonata' }],
        action: '', property: '', from: '', to: '', reg: false }, x, y + 20, [[name]]);
      b.reroute(name, `${name}-text`);
      return b.add(name, 'ui-notification', { ui: BASE_ID, position: 'top right', colorDefault: false, color: w.highlight, displayTime: String(w.displayTimeS), showCountdown: true,
        outputs: 0, allowDismiss: true, dismissText: 'Close', allowConfirm: false, confirmText: 'Confirm', raw: false, className: 'ips-notification', name: w.name }, x + 200, y);
    },
  };
}

/** The page of a dashboard description as a ui-page with its ui-groups (order as listed), after the shared ui-base and ui-theme. */
function layout(b, page) {
  for (const n of SHARED) b.nodes.push({ ...n });
  b.config('page', 'ui-page', { name: page.title, ui: BASE_ID, path: page.path, icon: page.icon.dashboard2, layout: 'grid', theme: THEME_ID,
    breakpoints: [{ name: 'Default', px: 0, cols: 3 }, { name: 'Tablet', px: 576, cols: 6 }, { name: 'Small Desktop', px: 768, cols: 9 }, { name: 'Desktop', px: 1024, cols: 12 }],
    order: page.order, className: '', visible: 'true', disabled: 'false' });
  page.groups.forEach((g, i) => {
    b.config(g.id, 'ui-group', { name: g.title, page: b.id('page'), width: String(columns(g.width)), height: '1', order: i + 1, showTitle: true, className: `ips-group-${g.id}`,
      visible: 'true', disabled: 'false', groupType: 'default' });
  });
}

module.exports = {
  key: 'dashboard2',
  title: 'Dashboard 2',
  module: '@flowfuse/node-red-dashboard',
  url: '/dashboard',
  prefix: (name) => `${name}2`,
  file: (name) => `${name}-dashboard2.json`,
  tabLabel: (label) => `${label} (Dashboard 2)`,
  layout,
  widgets,
};
