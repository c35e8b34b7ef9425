/**
 * The palette experience, as a user meets it: the package as npm publishes
 * it (`npm pack`), installed into a fresh Node-RED user directory the way the
 * palette manager installs (`npm install --omit=dev --engine-strict <tgz>`),
 * its native builds approved and built as the README says, and the two
 * dashboard packages its flows use installed beside it. Then that Node-RED
 * starts: every node type of the pack registers (none with an error), Import
 * › Examples lists every flow under examples/, each imports and deploys with
 * no unknown type, and the dashboards answer. npm reads packages from its
 * cache first (`--prefer-offline`), the registry only for what is missing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { packageRoot } from '../support/red-runtime';
import { freePort } from '../support/ports';

const NATIVE = ['sqlite3', 're2', 'cap', 'nfqueue'];
const DASHBOARDS = ['node-red-dashboard', '@flowfuse/node-red-dashboard'];

function npm(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('npm', [...args, '--no-audit', '--no-fund', '--no-update-notifier'], { cwd, timeout: 15 * 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`npm ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The version of a package as installed in `dir` (its package.json), or null. */
function installedVersion(dir: string, name: string): string | null {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

/** Whether this npm has `npm install-scripts` (11.18 and later). */
function npmHasInstallScripts(version: string): boolean {
  const [major, minor] = version.trim().split('.').map(Number);
  return major > 11 || (major === 11 && minor >= 18);
}

interface NodeSet { module: string; types: string[]; enabled: boolean; err?: string }

describe('palette install of the packed module', () => {
  it('installs like the palette manager does, registers every node, and every example imports and deploys', { timeout: 30 * 60_000 }, async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-palette-'));
    const userDir = path.join(work, 'user');
    let red: ChildProcess | null = null;
    try {
      const pack = JSON.parse(await npm(['pack', '--json', '--pack-destination', work], packageRoot)) as { filename: string; files: { path: string }[] }[];
      const tgz = path.join(work, pack[0].filename);
      const packed = new Set(pack[0].files.map((f) => f.path));
      const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> }; version: string };
      for (const js of Object.values(pkg['node-red'].nodes)) {
        assert.ok(packed.has(js) && packed.has(js.replace(/\.js$/, '.html')), `${js} and its .html are in the package`);
      }

      // A fresh user directory, as Node-RED makes it, then the palette manager's install.
      fs.mkdirSync(userDir);
      fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', description: 'A Node-RED Project', version: '0.0.1', private: true }, null, 2));
      await npm(['install', '--prefer-offline', '--save', '--save-prefix=~', '--omit=dev', '--engine-strict', tgz], userDir);
      assert.equal(installedVersion(userDir, 'node-red-contrib-ips'), pkg.version);
      // The README's next step: approve and build the native parts. npm has
      // the approval command from 11.18 (npm 12 blocks unapproved scripts);
      // an older npm ran the scripts at install, so there is nothing to approve.
      if (npmHasInstallScripts(await npm(['--version'], userDir))) {
        await npm(['install-scripts', 'approve', ...NATIVE], userDir);
        const approved = (JSON.parse(fs.readFileSync(path.join(userDir, 'package.json'), 'utf8')) as { allowScripts?: Record<string, unknown> }).allowScripts ?? {};
        for (const m of NATIVE) assert.ok(Object.keys(approved).some((k) => k === m || k.startsWith(`${m}@`)), `${m} approved in allowScripts`);
      }
      await npm(['rebuild', ...NATIVE], userDir);
      for (const m of NATIVE) {
        const built = await new Promise<string>((resolve) => {
          execFile(process.execPath, ['-e', `require(${JSON.stringify(m)})`], { cwd: userDir }, (err, _o, stderr) => resolve(err ? stderr : 'ok'));
        });
        assert.equal(built, 'ok', `${m} loads after the approved rebuild`);
      }
      // The dashboards the shipped flows use, from the palette as well.
      await npm(['install', '--prefer-offline', '--save', '--save-prefix=~', '--omit=dev', ...DASHBOARDS], userDir);

      // That Node-RED, on loopback.
      const port = await freePort();
      const settings = path.join(userDir, 'settings.js');
      fs.writeFileSync(settings, `module.exports = { uiHost: '127.0.0.1', uiPort: ${port}, userDir: ${JSON.stringify(userDir)}, flowFile: 'flows.json', telemetry: { enabled: false }, editorTheme: { tours: false } };\n`);
      const redJs = require.resolve('node-red/red.js', { paths: [packageRoot] });
      red = spawn(process.execPath, [redJs, '--userDir', userDir, '--settings', settings], { cwd: userDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, IPS_CAPTURE: path.join(userDir, 'node_modules', 'node-red-contrib-ips', 'examples', 'captures', 'demo.pcap') } });
      let log = '';
      red.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
      red.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
      const deadline = Date.now() + 120_000;
      while (!log.includes('Server now running')) {
        if (red.exitCode !== null || Date.now() > deadline) throw new Error(`Node-RED did not start:\n${log}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const base = `http://127.0.0.1:${port}`;
      const get = async (p: string): Promise<Response> => fetch(`${base}${p}`, { headers: { accept: 'application/json' } });

      const sets = (await (await get('/nodes')).json()) as NodeSet[];
      const ours = sets.filter((s) => s.module === 'node-red-contrib-ips');
      for (const s of ours) assert.equal(s.err, undefined, `${s.types.join(',')}: ${s.err}`);
      const registered = new Set(sets.filter((s) => s.enabled && !s.err).flatMap((s) => s.types));
      for (const type of Object.keys(pkg['node-red'].nodes)) assert.ok(registered.has(type), `${type} registered`);

      // Import › Examples › node-red-contrib-ips: every flow of examples/, folders included.
      const names: string[] = [];
      const listDir = async (rel: string): Promise<void> => {
        // The editor's listing: a folder is its name, a flow is { fn: name }.
        const listed = (await (await get(`/library/examples/flows/node-red-contrib-ips/${rel.split('/').map(encodeURIComponent).join('/')}`)).json()) as (string | { fn: string })[];
        for (const e of listed) {
          if (typeof e === 'string') await listDir(`${rel}${e}/`);
          else names.push(`${rel}${e.fn}`);
        }
      };
      await listDir('');
      names.sort();
      const shipped: string[] = [];
      const walk = (dir: string, rel: string): void => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
          if (e.isDirectory()) walk(path.join(dir, e.name), `${rel}${e.name}/`);
          else if (e.name.endsWith('.json')) shipped.push(`${rel}${e.name.replace(/\.json$/, '')}`);
        }
      };
      walk(path.join(packageRoot, 'examples'), '');
      assert.deepEqual(names, shipped.sort());
      const core = new Set(['tab', 'group', 'subflow', 'comment', 'junction']);
      for (const name of names) {
        const flow = (await (await get(`/library/examples/flows/node-red-contrib-ips/${name.split('/').map(encodeURIComponent).join('/')}`)).json()) as { type: string; z?: string }[];
        const unknown = [...new Set(flow.map((n) => n.type))].filter((t) => !registered.has(t) && !core.has(t) && !t.startsWith('subflow:'));
        assert.deepEqual(unknown, [], `${name}: unknown types`);
        // Deploy it alone, as a user would after importing it.
        log = '';
        const res = await fetch(`${base}/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'node-red-deployment-type': 'full' }, body: JSON.stringify(flow) });
        assert.ok(res.status === 200 || res.status === 204, `${name}: deploy (HTTP ${res.status})`);
        await new Promise((r) => setTimeout(r, 500));
        assert.doesNotMatch(log, /missing types|Waiting for missing/i, `${name}: deployed with every type known`);
      }

      // The dashboards answer once a flow with them is deployed.
      const withDashboards = names.filter((n) => /router|analyst/.test(n));
      assert.ok(withDashboards.length > 0, 'the shipped flows are among the examples');
      for (const name of withDashboards) {
        const flow = (await (await get(`/library/examples/flows/node-red-contrib-ips/${name.split('/').map(encodeURIComponent).join('/')}`)).json()) as { type: string }[];
        await fetch(`${base}/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'node-red-deployment-type': 'full' }, body: JSON.stringify(flow) });
        const uiPath = flow.some((n) => n.type.startsWith('ui-')) ? '/dashboard/' : '/ui/';
        let status = 0;
        for (let i = 0; i < 50 && status !== 200; i++) {
          status = (await fetch(`${base}${uiPath}`)).status;
          if (status !== 200) await new Promise((r) => setTimeout(r, 200));
        }
        assert.equal(status, 200, `${name}: ${uiPath} answers`);
      }
    } finally {
      if (red && red.exitCode === null) {
        const exited = new Promise((r) => red!.once('exit', r));
        red.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
