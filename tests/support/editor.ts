/**
 * The editor's view of the built package: each node type's registerType
 * definition as the Node-RED editor gets it (the .html scripts run in order,
 * core RED.validators taken from Node-RED's own editor code).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { packageRoot } from './red-runtime';

interface PackageJson {
  name?: string;
  'node-red'?: { nodes?: Record<string, string> };
}

const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as PackageJson;

/** The built .html of a node type. */
export function builtHtml(type: string): string {
  const js = pkg['node-red']?.nodes?.[type];
  assert.ok(js, `package.json lists ${type}`);
  return fs.readFileSync(path.join(packageRoot, js).replace(/\.js$/, '.html'), 'utf8');
}

/** The object literal passed to registerType('<type>', {...}) in `html`, or null. */
export function registration(html: string, type: string): string | null {
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

export type Validator = (this: Record<string, unknown>, v: unknown) => unknown;
export interface EditorDefinition {
  defaults: Record<string, { value?: unknown; required?: boolean; validate?: Validator }>;
}

/** Core RED.validators, cut from Node-RED's editor bundle (the real code, not a stand-in). */
function coreValidatorsSource(): string {
  const bundle = fs.readFileSync(require.resolve('@node-red/editor-client/public/red/red.js'), 'utf8');
  const start = bundle.indexOf('RED.validators = {');
  const end = bundle.indexOf('\n};', start);
  assert.ok(start >= 0 && end > start, 'RED.validators found in the editor bundle');
  return bundle.slice(start, end + 3);
}

/**
 * Each node type's registerType definition as the editor gets it: the .html's
 * scripts run in order in one context, a <script src="resources/<module>/...">
 * loading the file from this package's resources/ as Node-RED serves it.
 */
export function editorDefinitions(): Map<string, EditorDefinition> {
  const defs = new Map<string, EditorDefinition>();
  const sandbox: Record<string, unknown> = {
    RED: { nodes: { registerType: (type: string, def: EditorDefinition) => defs.set(type, def) }, _: (key: string) => key },
  };
  sandbox.window = sandbox;
  const context = vm.createContext(sandbox);
  vm.runInContext(coreValidatorsSource(), context);
  for (const js of Object.values(pkg['node-red']?.nodes ?? {})) {
    const html = fs.readFileSync(path.join(packageRoot, js).replace(/\.js$/, '.html'), 'utf8');
    for (const m of html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
      const src = /\bsrc=(['"])([^'"]+)\1/.exec(m[1])?.[2];
      if (src) {
        const res = new RegExp(`^resources/${pkg.name}/(.+)$`).exec(src);
        assert.ok(res, `${src}: a resource of this module (resources/${pkg.name}/...)`);
        vm.runInContext(fs.readFileSync(path.join(packageRoot, 'resources', res[1]), 'utf8'), context);
      } else if (!/type=(['"])text\/html\1/.test(m[1])) {
        vm.runInContext(m[2], context);
      }
    }
  }
  return defs;
}

