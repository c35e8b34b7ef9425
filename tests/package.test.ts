/**
 * What Node-RED's package validator (and the palette manager) checks, on the
 * built package: every registered node type has its built .js with an editor
 * .html beside it (literal registerType, inline defaults, help text), an icon,
 * and appears in an example flow; package.json has the fields the flow
 * library needs. Fails until every node of the pack is built: it guards the
 * release. Run after `npm run build`.
 * And what the editor checks on import: every node of the shipped flows and
 * examples passes its type's validators (no red triangle), with the .html
 * scripts run as the editor runs them, core RED.validators taken from
 * Node-RED's own editor code.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from './support/red-runtime';
import { editorDefinitions, registration } from './support/editor';
import { flowFiles } from './support/flow-files';

interface PackageJson {
  name?: string;
  version?: string;
  engines?: { node?: string };
  bugs?: { url?: string } | string;
  dependencies?: Record<string, string>;
  keywords?: string[];
  license?: string;
  repository?: { type?: string; url?: string } | string;
  files?: string[];
  'node-red'?: { version?: string; nodes?: Record<string, string> };
}

const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as PackageJson;
const nodes = pkg['node-red']?.nodes ?? {};

/** Every node type used in the example flows. */
function exampleTypes(): Set<string> {
  const dir = path.join(packageRoot, 'examples');
  const used = new Set<string>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const flow = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { type?: string }[];
    assert.ok(Array.isArray(flow), `examples/${file} is a flow (an array of nodes)`);
    for (const n of flow) if (typeof n.type === 'string') used.add(n.type);
  }
  return used;
}

/**
 * The Flow Library's scorecard (`node-red-dev validate`), the checks that
 * need no network: P01 licence, P03 repository or bugs, P04 naming, P05 the
 * node-red keyword, P06 the Node-RED versions declared cover the ones CI
 * runs (4.1 and 5.0: the installed node-red and the second leg's), P07 the
 * declared Node.js range admits the oldest Node that Node-RED needs, D01 at
 * most six dependencies, D02 no known-bad
 * package (agent-base < 6) in the installed dependency tree. Not run here,
 * because they ask the network: P02 (clones the repository), P08 and N01
 * (compare names with the Flow Library catalogue) and D03 (asks the registry
 * for the latest versions). N02 (an example for every node) is the
 * 'examples/ uses every non-config node type' test below.
 */
describe('package: the Flow Library scorecard, offline checks', () => {
  const semverAtLeast = (version: string, min: string): boolean => {
    const a = version.split('.').map(Number);
    const b = min.split('.').map(Number);
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
    return true;
  };
  /** The lower bound of a '>=x.y[.z]' range (the only form this package declares). */
  const lowerBound = (range: string | undefined): string => {
    const m = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(range ?? '');
    assert.ok(m, `range ${range} is of the form >=x.y`);
    return m[1];
  };
  const nodeRed = JSON.parse(fs.readFileSync(require.resolve('node-red/package.json', { paths: [packageRoot] }), 'utf8')) as PackageJson;

  it('P01 licence, P03 repository and bugs, P04 node-red-contrib- name, P05 keyword', () => {
    assert.ok(pkg.license);
    assert.ok(pkg.repository && pkg.bugs);
    assert.match(pkg.name ?? '', /^node-red-contrib-[a-z0-9-]+$/);
    assert.ok(pkg.keywords?.includes('node-red'));
  });

  it('P06 node-red.version admits Node-RED 4.1 and 5.0, the installed one included; P07 engines.node admits what Node-RED needs', () => {
    const min = lowerBound(pkg['node-red']?.version);
    for (const v of ['4.1.0', '5.0.0', nodeRed.version ?? '']) assert.ok(semverAtLeast(v, min), `Node-RED ${v} satisfies >=${min}`);
    assert.ok(semverAtLeast(lowerBound(nodeRed.engines?.node), lowerBound(pkg.engines?.node)), `Node-RED ${nodeRed.version} needs Node ${nodeRed.engines?.node}: within engines.node ${pkg.engines?.node}`);
  });

  it('D01 at most six dependencies; D02 no agent-base < 6 in the installed tree', () => {
    const deps = Object.keys(pkg.dependencies ?? {});
    assert.ok(deps.length <= 6, `${deps.length} dependencies: ${deps.join(', ')}`);
    // npm's own view of the production tree: every agent-base any dependency pulls in, at any depth.
    // (npm ls exits 1 on any tree problem, such as an extraneous dev package; its JSON is still the tree.)
    const out = spawnSync('npm', ['ls', 'agent-base', '--all', '--omit=dev', '--json'], { cwd: packageRoot, encoding: 'utf8' }).stdout;
    interface Tree { version?: string; dependencies?: Record<string, Tree> }
    const bad: string[] = [];
    const visit = (name: string, t: Tree): void => {
      if (name === 'agent-base' && !semverAtLeast(t.version ?? '0', '6.0.0')) bad.push(`agent-base@${t.version}`);
      for (const [n, sub] of Object.entries(t.dependencies ?? {})) visit(n, sub);
    };
    visit('', JSON.parse(out) as Tree);
    assert.deepEqual(bad, []);
  });
});

describe('package: what Node-RED\'s validator checks', () => {
  it('package.json: name, keywords with node-red, license, repository, node-red version >=3.1, node types', () => {
    assert.match(pkg.name ?? '', /^node-red-contrib-/);
    assert.ok(pkg.keywords?.includes('node-red'), 'keywords include node-red (the flow library lists only those)');
    assert.ok(pkg.license, 'license');
    const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    assert.ok(repo, 'repository');
    assert.equal(pkg['node-red']?.version, '>=3.1');
    assert.ok(Object.keys(nodes).length > 0, 'node-red.nodes lists the node types');
  });

  for (const [type, js] of Object.entries(nodes)) {
    it(`${type}: built .js, .html beside it with registerType, inline defaults, help, and its icon`, () => {
      const jsPath = path.join(packageRoot, js);
      assert.ok(fs.existsSync(jsPath), `${js} exists (npm run build)`);
      const htmlPath = jsPath.replace(/\.js$/, '.html');
      assert.ok(fs.existsSync(htmlPath), `${path.relative(packageRoot, htmlPath)} exists beside it`);
      const html = fs.readFileSync(htmlPath, 'utf8');
      const reg = registration(html, type);
      assert.ok(reg, `literal RED.nodes.registerType('${type}', {...})`);
      assert.match(reg, /\bdefaults\s*:\s*\{/, 'inline defaults object');
      assert.match(reg, /\bcategory\s*:\s*['"]ips['"]/, "category 'ips'");
      const help = new RegExp(`<script[^>]+data-help-name=(['"])${type}\\1[^>]*>([\\s\\S]*?)</script>`).exec(html);
      assert.ok(help, `help text (data-help-name="${type}")`);
      assert.ok(help[2].replace(/<[^>]+>/g, '').trim().length > 40, 'help has text');
      assert.ok(new RegExp(`data-template-name=(['"])${type}\\1`).test(html), 'edit template');
      const icon = /\bicon\s*:\s*['"]([^'"]+)['"]/.exec(reg);
      assert.ok(icon, 'icon set');
      const iconFile = icon[1];
      const shipped = [path.join(path.dirname(jsPath), 'icons', iconFile), path.join(packageRoot, 'icons', iconFile)];
      assert.ok(shipped.some((p) => fs.existsSync(p)), `icon ${iconFile} present`);
    });
  }

  it('examples/ uses every non-config node type', () => {
    const used = exampleTypes();
    const missing = Object.keys(nodes).filter((type) => {
      const jsPath = path.join(packageRoot, nodes[type]);
      const html = fs.existsSync(jsPath.replace(/\.js$/, '.html')) ? fs.readFileSync(jsPath.replace(/\.js$/, '.html'), 'utf8') : '';
      const isConfig = /\bcategory\s*:\s*['"]config['"]/.test(registration(html, type) ?? '');
      return !isConfig && !used.has(type);
    });
    assert.deepEqual(missing, [], `node types without an example: ${missing.join(', ')}`);
  });

  describe('in the editor', () => {
    const defs = editorDefinitions();

    it('every node of the shipped flows and examples passes its validators, ${NAME} references included', () => {
      const invalid: string[] = [];
      let checked = 0;
      for (const [file, flow] of flowFiles()) {
        for (const n of flow) {
          const def = defs.get(String(n.type));
          if (!def) continue;
          for (const [prop, spec] of Object.entries(def.defaults)) {
            // as the editor validates flows it loads: a property missing from the flow is undefined, and
            // a `${NAME}` value goes to the validator too (Node-RED 4 skips those, older editors do not)
            const value = n[prop];
            if (spec.required && (value === undefined || value === '')) invalid.push(`${file} ${String(n.id)} ${prop}: required`);
            if (!spec.validate) continue;
            checked++;
            const ok = spec.validate.call(n, value);
            if (ok !== true) invalid.push(`${file} ${String(n.id)} ${prop} = ${JSON.stringify(value)}: ${String(ok)}`);
          }
        }
      }
      assert.ok(checked > 100, `validated ${checked} properties`);
      assert.deepEqual(invalid, []);
    });

    it('numeric fields take a number in range or a ${NAME} reference, nothing else', () => {
      const queue = defs.get('nfqueue-in')!.defaults.queue.validate!;
      const node = {};
      for (const ok of ['0', '65535', 12, '${NFQUEUE_NUM}', '${IPS_NFQUEUE}']) assert.equal(queue.call(node, ok), true, JSON.stringify(ok));
      for (const bad of ['', '65536', '-1', '1.5', 'abc', '0x10', '${}', '${A', '$NFQUEUE', 'x${A}']) assert.equal(queue.call(node, bad), false, JSON.stringify(bad));
      // a blank-allowed field (flood-detect falls back to its default)
      const windowMs = defs.get('flood-detect')!.defaults.windowMs.validate!;
      for (const ok of ['', '1000', '${WINDOW}']) assert.equal(windowMs.call(node, ok), true, JSON.stringify(ok));
      for (const bad of ['99', '1000.5', 'fast']) assert.equal(windowMs.call(node, bad), false, JSON.stringify(bad));
      // a field checked against another (pcap-in's interface, only for live capture)
      const iface = defs.get('pcap-in')!.defaults.iface.validate!;
      assert.equal(iface.call({ source: 'live' }, '${CAPTURE_IFACE}'), true);
      assert.equal(iface.call({ source: 'live' }, 'not an interface'), false);
    });
  });
});
