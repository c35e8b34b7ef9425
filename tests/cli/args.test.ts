/**
 * `ips` arguments: --help documents the commands, options, exit status and
 * every detector setting (from the schemas); a bad argument, --config or
 * --rules is exit status 2 with an error that names it, and no capture is
 * read. Runs the built dist/cli/ips.js as a process.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FieldSpec } from '../../lib/base/settings';
import { ANALYST_CHAIN } from '../../lib/detect/chain';
import { packageRoot } from '../support/red-runtime';
import { runIps, type Ran } from '../support/ips-cli';

const DEMO = path.join(packageRoot, 'examples', 'captures', 'demo.pcap');

let dir = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-cli-args-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

/** Exit 2, nothing on stdout, no capture read (no summary line), and every pattern in the error. */
function refused(r: Ran, ...patterns: RegExp[]): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.doesNotMatch(r.stderr, /packets, \d+ alerts/);
  assert.match(r.stderr, /ips --help/);
  for (const p of patterns) assert.match(r.stderr, p);
}

describe('ips --help', () => {
  let help = '';
  before(async () => {
    const r = await runIps(['--help']);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    help = r.stdout;
  });

  it('documents the commands, every option, the formats, per-file state and the exit status', () => {
    for (const text of ['ips analyze FILE...', 'ips replay FILE', '--config', '--rules', '--format', '--speed', 'table', 'jsonl', 'csv',
      'Each file is an\n                   analysis of its own', 'Exit status:', '  0    every file', '  1    a file could not be read', '  2    bad arguments', '  130  replay stopped with Ctrl-C']) {
      assert.ok(help.includes(text), `help lacks ${JSON.stringify(text)}`);
    }
  });

  it('lists every setting of every detector with its label, default and help line, from the schemas', () => {
    for (const stage of ANALYST_CHAIN) {
      const section = help.slice(help.indexOf(`\n  ${stage.type}\n`));
      assert.ok(section.length < help.length, `no section for ${stage.type}`);
      for (const [key, spec] of Object.entries(stage.schema) as [string, FieldSpec][]) {
        const m = new RegExp(`^    ${key} +(.*)\\n +(.*)$`, 'm').exec(section);
        assert.ok(m, `${stage.type}.${key} missing`);
        const def = Array.isArray(spec.default) ? spec.default.join(', ') : String(spec.default);
        assert.ok(m[1].startsWith(`${spec.label}, default ${def === '' ? 'none' : def}`), `${stage.type}.${key}: ${m[1]}`);
        assert.equal(m[2], spec.help);
      }
    }
  });

  it('is the same for `ips analyze --help`, `ips replay -h` and `ips help`', async () => {
    for (const args of [['analyze', '--help'], ['replay', DEMO, '-h'], ['help']]) {
      const r = await runIps(args);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, help, args.join(' '));
    }
  });
});

describe('ips: bad arguments are exit status 2, nothing read', () => {
  it('no command, an unknown command, an unknown option', async () => {
    refused(await runIps([]), /no command given/);
    refused(await runIps(['analyse', DEMO]), /unknown command 'analyse' \(commands: analyze, replay, flows\)/);
    refused(await runIps(['analyze', DEMO, '--verbose']), /--verbose/);
  });

  it('no file, two files to replay, an empty file name', async () => {
    refused(await runIps(['analyze']), /analyze needs a capture file/);
    refused(await runIps(['replay', DEMO, DEMO]), /replay plays one capture file, got 2/);
    refused(await runIps(['analyze', '']), /file name is empty/);
  });

  it('--format other than table, jsonl, csv, eve; --speed on analyze or out of range', async () => {
    refused(await runIps(['analyze', DEMO, '--format', 'xml']), /--format must be one of table, jsonl, csv, eve, got 'xml'/);
    refused(await runIps(['analyze', DEMO, '--speed', '2']), /--speed is for replay only/);
    for (const speed of ['0', '-1', 'fast', '1e9', '']) refused(await runIps(['replay', DEMO, `--speed=${speed}`]), /--speed must be a number above 0/);
  });

  it('--config that cannot be read, is not JSON, or is not an object keyed by node type', async () => {
    refused(await runIps(['analyze', DEMO, '--config', path.join(dir, 'none.json')]), /--config .*none\.json: cannot read: ENOENT/);
    refused(await runIps(['analyze', DEMO, '--config', file('broken.json', '{"flood-detect": {')]), /--config .*broken\.json is not valid JSON/);
    refused(await runIps(['analyze', DEMO, '--config', file('list.json', '[]')]), /settings must be an object keyed by node type/);
  });

  it('--config names every unknown node type, unknown key and bad value, with its file and node type', async () => {
    const cfg = file('bad.json', JSON.stringify({ flood: { synSrc: 1 }, 'flood-detect': { synsrc: 50, icmpSrc: -1 }, 'scan-detect': { allowlist: '10.0.0.300/8' } }));
    refused(await runIps(['analyze', DEMO, '--config', cfg]),
      /ips: --config .*bad\.json: unknown node type 'flood' \(known: flood-detect, scan-detect, payload-match, lan-watch\)/,
      /ips: --config .*bad\.json: flood-detect: unknown setting 'synsrc'/,
      /ips: --config .*bad\.json: flood-detect: icmpSrc must be >= 0, got -1/,
      /ips: --config .*bad\.json: scan-detect: allowlist: .*10\.0\.0\.300/);
  });

  it('--rules (or rules in --config) that cannot be used names the file and the rule', async () => {
    refused(await runIps(['analyze', DEMO, '--rules', path.join(dir, 'missing-rules.json')]), /payload-match: rules file .*missing-rules\.json: cannot read: ENOENT/);
    const rules = file('rules.json', JSON.stringify([{ id: 'local.bad', sid: 9000001, name: 'bad', pattern: '(', regex: true }]));
    refused(await runIps(['analyze', DEMO, '--rules', rules]), /payload-match: rules file .*rules\.json: rule 'local\.bad'.*not a valid regular expression/);
    const cfg = file('rules-in-config.json', JSON.stringify({ 'payload-match': { rules: [{ id: 'local.x', sid: 9000002, name: 'x' }] } }));
    refused(await runIps(['analyze', DEMO, '--config', cfg]), /payload-match: .*local\.x.*pattern/);
  });
});
