#!/usr/bin/env node
// Build step after tsc: put each node's editor .html and the icons beside its
// built .js, where Node-RED's loader looks for them.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const nodesSrc = path.join(root, 'nodes');
const nodesOut = path.join(root, 'dist', 'nodes');
const icons = path.join(root, 'icons');

for (const type of fs.readdirSync(nodesSrc)) {
  const srcDir = path.join(nodesSrc, type);
  if (!fs.statSync(srcDir).isDirectory()) continue;
  const outDir = path.join(nodesOut, type);
  fs.mkdirSync(outDir, { recursive: true });
  for (const file of fs.readdirSync(srcDir)) {
    if (file.endsWith('.html')) fs.copyFileSync(path.join(srcDir, file), path.join(outDir, file));
  }
  if (fs.existsSync(path.join(srcDir, `${type}.html`)) && fs.existsSync(icons)) {
    fs.cpSync(icons, path.join(outDir, 'icons'), { recursive: true });
  }
}
