/**
 * What Node-RED's package validator (and the palette manager) checks, on the
 * built package: every registered node type has its built .js with an editor
 * .html beside it (literal registerType, inline defaults, help text), an icon,
 * and appears in an example flow; package.json has the fields the flow
 * library needs. Fails until every node of the pack is built: it guards the
 * release. Run after `npm run build`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from './support/runtime';

interface PackageJson {
  name?: string;
  keywords?: string[];
  license?: string;
  repository?: { type?: string; url?: string } | string;
  files?: string[];
  'node-red'?: { version?: string; nodes?: Record<string, string> };
}

const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as PackageJson;
const nodes = pkg['node-red']?.nodes ?? {};

/** The object literal passed to registerType('<type>', {...}) in `html`, or null. */
function registration(html: string, type: string): string | null {
  const escaped = type.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  const m = new RegExp(`RED\\.nodes\\.registerType\\(\\s*(['"])${escaped}\\1\\s*,\\s*\\{`).exec(html);
  if (!m) return null;
  // Take the braces-balanced object that follows (the validator reads it as text, so must we).
  let depth = 0;
  const start = m.index + m[0].length - 1;
  for (let i = start; i < html.length; i++) {
    if (html[i] === '{') depth++;
    else if (html[i] === '}' && --depth === 0) return html.slice(start, i + 1);
  }
  return null;
}

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
});
