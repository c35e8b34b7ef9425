// The flow kit of scripts/make-flows.js: settings from the nodes' schemas, the
// tab environment, and a builder for one flow (a tab and its nodes, ids
// prefixed) with helpers for the processing nodes both dashboard variants
// share. Dashboard widgets are not here: each variant renders them
// (scripts/flows/dashboard1.js, dashboard2.js).
'use strict';
const { DETECTOR_CHAIN } = require('../../dist/lib/detect/chain.js');
// Settings come from the one declaration in each node's schema (lib/), read from the build (npm run build first).
const { NODE_SCHEMAS } = require('../../dist/nodes/common/node-types.js');
const { editorValue } = require('../../dist/nodes/common/editor.js');
const { currentVersion } = require('../../dist/nodes/common/migrations.js');

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

/** Detector settings of both flows (the schema defaults); the threshold sliders start at these. */
const FLOOD = settingsOf('flood-detect');
const SCAN = settingsOf('scan-detect');
/** bandwidth-threshold of the router flow (the defaults); its slider starts at the limit in KB/s. */
const BANDWIDTH = settingsOf('bandwidth-threshold');
/** push-notify's defaults: the router flow's environment falls back to them. */
const NOTIFY = settingsOf('push-notify');

/**
 * A flow builder: nodes on one tab, ids prefixed, in the order added.
 * `add(name, type, props, x, y, wires)` places a node on the tab (`wires`
 * name nodes of the same flow, one array per output); `config` adds a config
 * node (no tab). The helpers below add the processing nodes the flows share.
 */
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
  /** Config nodes (dashboard pages and groups) have no z. */
  const config = (name, type, props) => {
    const n = { id: id(name), type, ...props };
    nodes.push(n);
    return n;
  };
  /** Messages wired to node `name` go to node `via` instead (which passes them on): a variant's adapter in front of a widget. */
  const reroutes = new Map();
  const reroute = (name, via) => reroutes.set(id(name), id(via));
  /** The flow's nodes, reroutes applied. */
  const finish = () => {
    for (const n of nodes) {
      if (!n.wires) continue;
      n.wires = n.wires.map((out) => out.map((to) => (reroutes.has(to) && reroutes.get(to) !== n.id ? reroutes.get(to) : to)));
    }
    return nodes;
  };
  const b = { nodes, id, add, config, reroute, finish };

  /** A function node running `code` (shared by both dashboard variants). */
  b.func = (name, label, code, outputs, x, y, wires) =>
    add(name, 'function', { name: label, func: code, outputs, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [] }, x, y, wires);

  b.comment = (name, text, info, x, y) => add(name, 'comment', { name: text, info }, x, y);

  /** An inject sending number `value` to node `to` once on deploy (a slider's default, in either dashboard). */
  b.numberOnDeploy = (name, value, x, y, to) => add(name, 'inject', { name: `${value}`, props: [{ p: 'payload' }], repeat: '', crontab: '', once: true, onceDelay: '0.5', topic: '',
    payload: String(value), payloadType: 'num' }, x, y, [[to]]);

  /** A sqlite-log node on the tab's DB_FILE; every node of a flow shares the file, so they share these settings too. */
  b.sqliteLog = (name, label, x, y, wires) => add(name, 'sqlite-log', { name: label, ...settingsOf('sqlite-log', { file: '${DB_FILE}' }) }, x, y, wires);

  /**
   * The detector chain (flood-detect → scan-detect → payload-match) in series on
   * the packet output, as nodes 'flood', 'scan', 'payload' named by type (each
   * alert's `detector`), `next` after the last; alerts of all to `alertWires`.
   */
  b.detectors = (action, xs, y, next, alertWires) => {
    const ids = DETECTOR_CHAIN.map((stage) => stage.type.split('-')[0]);
    DETECTOR_CHAIN.forEach((stage, i) => {
      add(ids[i], stage.type, { name: stage.type, ...settingsOf(stage.type, { action }) }, xs[i], y, [i + 1 < ids.length ? [ids[i + 1]] : next, alertWires]);
    });
  };
  return b;
}

module.exports = { settingsOf, envVar, dryRunVar, builder, FLOOD, SCAN, BANDWIDTH, NOTIFY };
