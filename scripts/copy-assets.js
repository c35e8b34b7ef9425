#!/usr/bin/env node
// Build step after tsc: put each node's editor .html and the icons beside its
// built .js, where Node-RED's loader looks for them. Settings are declared
// once, in each node's schema in lib/: the `// @settings` line inside a
// node's registerType defaults becomes one entry per setting (value and
// validator), and the `<!-- @settings-table -->` line in its help becomes
// the settings table and the paragraph on bad settings (nodes/common/editor.ts
// renders them from nodes/common/node-types.ts). A `<!-- @include NAME -->`
// line becomes nodes/common/NAME.html (rows that several dialogs share),
// without that fragment's leading comment. Last, the
// command line (package.json `bin`) is made executable, as tsc writes 0644.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const nodesSrc = path.join(root, 'nodes');
const nodesOut = path.join(root, 'dist', 'nodes');
const icons = path.join(root, 'icons');
const { NODE_TYPES } = require(path.join(nodesOut, 'common', 'node-types.js'));
const { badConfigParagraph, editorDefaults, settingsTable } = require(path.join(nodesOut, 'common', 'editor.js'));
const { currentVersion, legacySettings } = require(path.join(nodesOut, 'common', 'migrations.js'));

const DEFAULTS_MARK = /^([ \t]*)\/\/ @settings[ \t]*$/m;
const TABLE_MARK = /^([ \t]*)<!-- @settings-table -->[ \t]*$/m;
const INCLUDE_MARK = /^([ \t]*)<!-- @include ([\w-]+) -->[ \t]*$/gm;

/** `html` with each include line replaced by its fragment, indented as the line was. */
function includeFragments(html) {
  return html.replace(INCLUDE_MARK, (_m, indent, name) => {
    const fragment = fs.readFileSync(path.join(nodesSrc, 'common', `${name}.html`), 'utf8').replace(/^<!--[\s\S]*?-->\n/, '');
    return fragment.trimEnd().split('\n').map((line) => (line ? indent + line : line)).join('\n');
  });
}

/** The node's .html with its schema filled in; throws when a node with a schema lacks a marker. */
function render(type, html) {
  const nodeType = NODE_TYPES[type];
  if (!nodeType) return html;
  const { schema, onBadConfig } = nodeType;
  if (!DEFAULTS_MARK.test(html)) throw new Error(`nodes/${type}/${type}.html: no '// @settings' line in its defaults`);
  if (!TABLE_MARK.test(html)) throw new Error(`nodes/${type}/${type}.html: no '<!-- @settings-table -->' line in its help`);
  return includeFragments(html)
    .replace(DEFAULTS_MARK, (_m, indent) => editorDefaults(schema, currentVersion(type), legacySettings(type), indent))
    .replace(TABLE_MARK, (_m, indent) => `${indent}${settingsTable(schema)}\n${indent}${badConfigParagraph(onBadConfig)}`);
}

for (const type of fs.readdirSync(nodesSrc)) {
  const srcDir = path.join(nodesSrc, type);
  if (!fs.statSync(srcDir).isDirectory() || type === 'common') continue;
  const outDir = path.join(nodesOut, type);
  fs.mkdirSync(outDir, { recursive: true });
  for (const file of fs.readdirSync(srcDir)) {
    if (!file.endsWith('.html')) continue;
    const html = fs.readFileSync(path.join(srcDir, file), 'utf8');
    fs.writeFileSync(path.join(outDir, file), file === `${type}.html` ? render(type, html) : html);
  }
  if (fs.existsSync(path.join(srcDir, `${type}.html`)) && fs.existsSync(icons)) {
    fs.cpSync(icons, path.join(outDir, 'icons'), { recursive: true });
  }
}

for (const bin of Object.values(require(path.join(root, 'package.json')).bin)) fs.chmodSync(path.join(root, bin), 0o755);
