/**
 * The shape docs/architecture.md promises, checked on the sources: lib/ in
 * layers whose imports only point down, no Node-RED below nodes/, thin node
 * files on the one scaffold, and no reader sent outside the repository.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { packageRoot } from './support/red-runtime';

/** lib/ layers, bottom first: a file may import its own layer or those before it. */
const LAYERS = ['base', 'packet', 'capture', 'detect', 'net', 'store', 'fleet'];

/** Node files are wrappers: what they do beyond mapping messages belongs in lib/. */
const MAX_NODE_LINES = 100;

function sources(dir: string, ext = '.ts'): string[] {
  const root = path.join(packageRoot, dir);
  if (!fs.existsSync(root)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(root, { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel, ext));
    else if (e.name.endsWith(ext)) out.push(rel);
  }
  return out;
}

/** Module specifiers a TypeScript file imports (import/export from, require). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(packageRoot, file), 'utf8');
  return [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

const layerOf = (rel: string): number => LAYERS.indexOf(rel.split(path.sep)[1]);

describe('architecture', () => {
  it('lib/ has exactly the documented layers', () => {
    const dirs = fs.readdirSync(path.join(packageRoot, 'lib'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    assert.deepEqual(dirs, [...LAYERS].sort());
  });

  it('lib/ imports only point down (or within a layer), never to nodes/ or Node-RED', () => {
    const wrong: string[] = [];
    for (const file of sources('lib')) {
      const own = layerOf(file);
      for (const spec of importsOf(file)) {
        if (/^(node-red|@node-red\/)/.test(spec)) wrong.push(`${file} imports ${spec}`);
        if (!spec.startsWith('.')) continue;
        const target = path.relative(packageRoot, path.resolve(path.dirname(path.join(packageRoot, file)), spec));
        if (!target.startsWith(`lib${path.sep}`)) {
          wrong.push(`${file} imports ${spec} (outside lib/)`);
          continue;
        }
        const layer = layerOf(target);
        if (layer > own) wrong.push(`${file} (${LAYERS[own]}) imports ${target} (${LAYERS[layer]}, a higher layer)`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('the command line uses lib/ only: no Node-RED, no node wrappers', () => {
    const wrong = sources('cli').flatMap((file) => importsOf(file).filter((s) => /^(node-red|@node-red\/)/.test(s) || /(^|\/)nodes\//.test(s)).map((s) => `${file} imports ${s}`));
    assert.deepEqual(wrong, []);
  });

  it('every node is a thin wrapper registered on the scaffold', () => {
    const nodeFiles = sources('nodes').filter((f) => !f.startsWith(path.join('nodes', 'common')));
    assert.ok(nodeFiles.length >= 10, 'ten node files');
    for (const file of nodeFiles) {
      const text = fs.readFileSync(path.join(packageRoot, file), 'utf8');
      const lines = text.split('\n').length;
      assert.ok(lines <= MAX_NODE_LINES, `${file} has ${lines} lines (at most ${MAX_NODE_LINES}: move logic into lib/)`);
      assert.match(text, /register(Ips|Detector)Node\(/, `${file} registers through nodes/common/ips-node.ts`);
      assert.doesNotMatch(text, /RED\.nodes\.registerType\(/, `${file} registers its type through the scaffold, not by hand`);
    }
  });

  it('the node table every node loads pulls in no npm package: a broken native binding stops only its own node', () => {
    // A fresh process, so this test's own imports do not count.
    const script = `require(${JSON.stringify(path.join(packageRoot, 'dist', 'nodes', 'common', 'node-types.js'))});
      console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.includes('node_modules'))));`;
    const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[];
    assert.deepEqual(loaded, []);
  });

  it('no file sends a reader outside the repository (DESIGN.md, ../shared)', () => {
    const files = [...sources('lib'), ...sources('nodes'), ...sources('nodes', '.html'), ...sources('cli'), ...sources('docs', '.md'), 'README.md', 'CONTRIBUTING.md'];
    const wrong = files.filter((f) => fs.existsSync(path.join(packageRoot, f)) && /DESIGN\.md|\.\.\/shared\//.test(fs.readFileSync(path.join(packageRoot, f), 'utf8')));
    assert.deepEqual(wrong, []);
  });
});
