import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

describe('missing binding', () => {
  test("names the npm package and the Debian package when 'nfqueue' cannot be loaded", () => {
    // The built lib copied where no node_modules can be found: a real failed require, as on a box without the optional dependency.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-nobinding-'));
    try {
      fs.cpSync(path.join(__dirname, '..', '..', '..', 'lib'), path.join(dir, 'lib'), { recursive: true });
      const script = `try { require(${JSON.stringify(path.join(dir, 'lib', 'capture', 'nfqueue-binding.js'))}).loadNfqueueBinding(); console.log('loaded'); } catch (e) { console.log(e.message); }`;
      const out = execFileSync(process.execPath, ['-e', script], { cwd: dir, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
      assert.match(out, /optional npm package 'nfqueue'/);
      assert.match(out, /libnetfilter-queue-dev/);
      assert.match(out, /npm install nfqueue/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
