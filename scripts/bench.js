#!/usr/bin/env node
// Runs every benchmark (dist/bench/*.bench.js) one after another, each in its
// own process so memory figures do not mix. Arguments filter by name.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const dir = path.resolve(__dirname, '..', 'dist', 'bench');
const filters = process.argv.slice(2);
const files = fs.readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
const cpu = os.cpus()[0] ? os.cpus()[0].model : 'unknown cpu';
console.log(`# node-red-contrib-ips benchmarks — ${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, NODE_OPTIONS ${process.env.NODE_OPTIONS ? `'${process.env.NODE_OPTIONS}'` : 'unset (Node defaults)'}`);
let failed = 0;
for (const f of files) {
  console.log(`\n## ${f.replace(/\.bench\.js$/, '')}`);
  const res = spawnSync(process.execPath, ['--expose-gc', path.join(dir, f)], { stdio: 'inherit' });
  if (res.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
