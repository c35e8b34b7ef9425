#!/usr/bin/env node
// `npm start` (after the build): a local Node-RED from node_modules/node-red
// with this pack loaded, its user directory in .node-red/ inside the clone,
// listening on 127.0.0.1:1880 (HOST and PORT change that), behind a login.
// Beyond loopback (HOST=0.0.0.0, or a LAN address) it serves HTTPS with a
// certificate made at first start (scripts/lib/tls.js) or named in
// IPS_TLS_CERT/IPS_TLS_KEY; IPS_HTTPS=on|off overrides that choice.
//
// On first start it writes a flow: the shipped analyst flow for Dashboard 2
// (flows/analyst-ids-dashboard2.json, dashboard at /dashboard), or with
// IPS_DASHBOARD=1 the one for Dashboard 1 (flows/analyst-ids.json, /ui); the
// pcap-in example when there is none. Either is pointed at the bundled demo
// capture (examples/captures/demo.pcap; IPS_CAPTURE for shipped flows) and
// read once on deploy. Later starts keep whatever you deployed;
// IPS_RESET_FLOW=1 writes the flow again (do that when switching dashboards).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const root = path.resolve(__dirname, '..');
// IPS_USER_DIR: another user directory (the npm start test uses a temporary one).
const userDir = process.env.IPS_USER_DIR ? path.resolve(process.env.IPS_USER_DIR) : path.join(root, '.node-red');
const demoCapture = path.join(root, 'examples', 'captures', 'demo.pcap');
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 1880);
const dashboardVersion = process.env.IPS_DASHBOARD || '2';

/**
 * V8 flags for reading captures fast (docs/performance.md, "Tuning Node for
 * capture analysis"): a 32 MiB young generation instead of 16, so packets in
 * flight are collected young rather than promoted; and on two cores or fewer
 * one garbage-collector helper thread instead of four, which otherwise
 * compete with the main thread. Added to NODE_OPTIONS; a flag already there
 * is left as it is.
 * (A router holding packets inline wants the opposite young generation: its
 * service unit sets 2 MiB, docs/router.md.)
 */
function analysisFlags(nodeOptions) {
  const flags = [];
  if (!/--max-semi-space-size\b/.test(nodeOptions)) flags.push('--max-semi-space-size=32');
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  if (cores <= 2 && !/--v8-pool-size\b/.test(nodeOptions)) flags.push('--v8-pool-size=1');
  return flags;
}

function fail(message) {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`PORT must be a whole number from 1 to 65535, got "${process.env.PORT}"`);
if (!/^[A-Za-z0-9.:_-]{1,253}$/.test(host)) fail(`HOST must be an address or host name, got "${host}"`);
if (dashboardVersion !== '1' && dashboardVersion !== '2') fail(`IPS_DASHBOARD must be 1 (node-red-dashboard) or 2 (@flowfuse/node-red-dashboard), got "${dashboardVersion}"`);
if (!fs.existsSync(path.join(root, 'dist', 'nodes'))) fail('nothing built yet: run `npm run build` (npm start does it for you)');
const loopback = /^(127(\.\d{1,3}){3}|::1|localhost)$/i.test(host);
const httpsMode = process.env.IPS_HTTPS || (loopback ? 'off' : 'on');
if (httpsMode !== 'on' && httpsMode !== 'off') fail(`IPS_HTTPS must be on or off, got "${httpsMode}"`);
let redJs;
try {
  redJs = require.resolve('node-red/red.js', { paths: [root] });
} catch {
  fail('node-red is not installed here: run `npm ci` first');
}

// The user directory: the pack, and the dashboard module for the flow's widgets, symlinked in as installed modules.
fs.mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
function linkModule(name, target) {
  const link = path.join(userDir, 'node_modules', name);
  fs.mkdirSync(path.dirname(link), { recursive: true }); // a scope (@flowfuse/…) is a directory
  let linkTarget = null;
  try {
    linkTarget = fs.readlinkSync(link);
  } catch {
    // not there yet
  }
  if (linkTarget !== target) {
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(target, link, 'dir');
  }
}
linkModule('node-red-contrib-ips', root);
const deps = { 'node-red-contrib-ips': `file:${root}` };
const dashboardModule = dashboardVersion === '1' ? 'node-red-dashboard' : '@flowfuse/node-red-dashboard';
const dashboard = path.join(root, 'node_modules', dashboardModule);
if (fs.existsSync(dashboard)) {
  linkModule(dashboardModule, dashboard);
  deps[dashboardModule] = `file:${dashboard}`;
} else {
  console.log(`npm start: ${dashboardModule} is not installed (npm install): the flows run without their dashboard`);
}
const userPkg = path.join(userDir, 'package.json');
let pkgJson = { name: 'node-red-project', private: true, dependencies: {} };
try {
  pkgJson = JSON.parse(fs.readFileSync(userPkg, 'utf8'));
} catch {
  // first start
}
pkgJson.dependencies = { ...pkgJson.dependencies, ...deps };
fs.writeFileSync(userPkg, JSON.stringify(pkgJson, null, 2) + '\n');

/** The flow loaded on first start. */
function startFlow() {
  const flowsDir = path.join(root, 'flows');
  const shipped = fs.existsSync(flowsDir) ? fs.readdirSync(flowsDir).filter((f) => f.endsWith('.json')).sort() : [];
  const analyst = shipped.find((f) => /analyst/i.test(f) && /dashboard2/.test(f) === (dashboardVersion === '2'));
  const file = analyst ? path.join(flowsDir, analyst) : path.join(root, 'examples', 'pcap-in.json');
  const flow = JSON.parse(fs.readFileSync(file, 'utf8'));
  // File-mode pcap-in nodes with a placeholder path read the bundled capture (shipped
  // flows take theirs from IPS_CAPTURE, set below); injects that lead to one fire once on deploy.
  const readers = new Set();
  for (const n of flow) {
    if (n.type === 'pcap-in' && n.source !== 'live') {
      if (!n.filename || n.filename.startsWith('/path/to/')) n.filename = demoCapture;
      readers.add(n.id);
    }
  }
  const byId = new Map(flow.map((n) => [n.id, n]));
  /** True when `node` reaches a file reader within `hops` wires (inject → function → pcap-in). */
  const leadsToReader = (node, hops) => (node.wires || []).some((out) => out.some((id) => {
    if (readers.has(id)) return true;
    const next = byId.get(id);
    return hops > 1 && next !== undefined && next.type !== 'pcap-in' && leadsToReader(next, hops - 1);
  }));
  for (const n of flow) {
    if (n.type === 'inject' && n.topic !== 'stop' && !n.repeat && !n.crontab && leadsToReader(n, 3)) {
      n.once = true;
      n.onceDelay = n.onceDelay || '1';
    }
  }
  // A flow file needs its nodes on a tab: put free-floating example nodes on one.
  if (!flow.some((n) => n.type === 'tab')) {
    const tab = { id: 'ips0start0tab00', type: 'tab', label: 'node-red-contrib-ips', disabled: false, info: `Loaded by npm start from ${path.relative(root, file)}` };
    for (const n of flow) if (!n.z && !/config|^ui[-_](base|tab|group|page|theme)$/.test(n.type)) n.z = tab.id;
    flow.unshift(tab);
  }
  return { flow, from: path.relative(root, file) };
}

const flowFile = path.join(userDir, 'flows.json');
if (!fs.existsSync(flowFile) || process.env.IPS_RESET_FLOW === '1') {
  const { flow, from } = startFlow();
  fs.writeFileSync(flowFile, JSON.stringify(flow, null, 2) + '\n');
  console.log(`npm start: wrote ${path.relative(root, flowFile)} from ${from} (reading ${path.relative(root, demoCapture)})`);
}

// Login: no default password (scripts/lib/auth.js keeps only a bcrypt hash).
const { loadCredentials } = require('./lib/auth');
let creds;
try {
  creds = loadCredentials(userDir);
} catch (err) {
  fail(err.message);
}

let tls = null;
if (httpsMode === 'on') {
  try {
    tls = require('./lib/tls').ensureCertificate(userDir, host);
  } catch (err) {
    fail(err.message);
  }
} else if (!loopback) {
  console.log('npm start: WARNING: plain HTTP beyond loopback (IPS_HTTPS=off): the login crosses the network in clear');
}
const httpsSettings = tls
  ? `  https: { cert: fs.readFileSync(${JSON.stringify(tls.certFile)}), key: fs.readFileSync(${JSON.stringify(tls.keyFile)}) },
  requireHttps: true,
`
  : '';

// Settings as a file Node-RED reads; the functions in it come from scripts/lib/auth.js.
const settingsFile = path.join(userDir, 'settings.js');
fs.writeFileSync(settingsFile, `// Written by scripts/start.js on every start: edit that script, not this file.
'use strict';
const fs = require('fs');
const { authSettings } = require(${JSON.stringify(path.join(__dirname, 'lib', 'auth.js'))});
module.exports = {
  uiHost: ${JSON.stringify(host)},
  uiPort: ${port},
${httpsSettings}  userDir: ${JSON.stringify(userDir)},
  flowFile: 'flows.json',
  flowFilePretty: true,
  httpAdminRoot: '/',
  httpNodeRoot: '/',
  externalModules: { autoInstall: false, palette: { allowInstall: true } },
  logging: { console: { level: process.env.IPS_LOG_LEVEL || 'info', metrics: false, audit: false } },
  editorTheme: { tours: false, projects: { enabled: false } },
  // An IPS box does not report home: no update check, and no consent prompt about it.
  telemetry: { enabled: false },
  ...authSettings({ user: ${JSON.stringify(creds.user)}, hash: ${JSON.stringify(creds.hash)} }),
};
`);

const shownHost = host === '0.0.0.0' || host === '::' ? 'this machine' : host.includes(':') ? `[${host}]` : host;
const scheme = tls ? 'https' : 'http';
console.log(`npm start: Node-RED on ${scheme}://${shownHost}:${port}/ (user dir ${path.relative(root, userDir) || '.'})`);
const uiPath = dashboardVersion === '1' ? '/ui/' : '/dashboard/';
console.log(`npm start: Dashboard ${dashboardVersion} on ${scheme}://${shownHost}:${port}${uiPath} (IPS_DASHBOARD=${dashboardVersion === '1' ? 2 : 1} IPS_RESET_FLOW=1 for the other)`);
if (tls) {
  console.log(`npm start: HTTPS with ${tls.generated ? 'a certificate made now' : 'the certificate'} ${path.relative(root, tls.certFile) || tls.certFile}`);
  console.log(`npm start: its SHA-256 fingerprint, to compare with what your browser shows: ${tls.fingerprint}`);
}
if (creds.generatedPassword) {
  console.log(`npm start: log in as "${creds.user}" with password ${creds.generatedPassword}`);
  console.log('npm start: (shown once; set IPS_ADMIN_PASSWORD to choose your own, or delete .node-red/ips-auth.json for a new one)');
} else {
  console.log(`npm start: log in as "${creds.user}" (password from IPS_ADMIN_PASSWORD or the one shown at first start)`);
}

// Shipped flows read their capture from IPS_CAPTURE; relative paths in flows (databases) land in the user dir.
const userNodeOptions = process.env.NODE_OPTIONS || '';
const nodeOptions = [userNodeOptions, ...analysisFlags(userNodeOptions)].join(' ').trim();
const childEnv = { ...process.env, IPS_CAPTURE: process.env.IPS_CAPTURE || demoCapture, NODE_OPTIONS: nodeOptions };
const child = spawn(process.execPath, [redJs, '--userDir', userDir, '--settings', settingsFile], { stdio: 'inherit', cwd: userDir, env: childEnv });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  process.exit(code === null ? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1) : code);
});
