/**
 * `ips analyze` and `ips replay` on captures made by real tools
 * (examples/captures/demo.pcap: tcpdump of ping, curl with attack payloads,
 * nmap and hping3 in network namespaces; tests/fixtures: tcpdump, editcap,
 * mergecap): the three formats say the same, a truncated, corrupt, missing
 * or foreign file among good ones is exit status 1 with the good ones still
 * analysed and the alerts before the damage printed, --config and --rules
 * change what is detected, each file starts with fresh detector state,
 * `npx ips` works from the repository and the npm package holds a working
 * `ips`. Runs the built dist/cli/ips.js.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../support/red-runtime';
import { IPS, jsonlAlerts, runIps, runProcess, summaries, type AlertLine } from '../support/ips-cli';
import { parseCsv } from '../support/csv';

const DEMO = path.join(packageRoot, 'examples', 'captures', 'demo.pcap');
const LAB_ETH = path.join(packageRoot, 'tests', 'fixtures', 'lab-eth.pcap');
const LAB_MULTI = path.join(packageRoot, 'tests', 'fixtures', 'lab-multi.pcapng');
const CSV_COLUMNS = ['file', 'ts', 'rule', 'sid', 'gid', 'rev', 'signature', 'classtype', 'references', 'category', 'severity', 'action', 'src', 'dst', 'offender', 'proto', 'sport', 'dport', 'srcMac', 'count', 'windowMs',
  'threshold', 'reason', 'evidence', 'detector', 'list', 'listCategory', 'listEntry', 'direction', 'device', 'deviceMac', 'deviceVendor', 'country', 'asn', 'asOrg', 'mlClass', 'probability'];

let dir = '';
let demo: AlertLine[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-cli-'));
  const r = await runIps(['analyze', DEMO, '--format', 'jsonl']);
  assert.equal(r.code, 0, r.stderr);
  demo = jsonlAlerts(r.stdout);
  // The demo capture has floods, scans and attack payloads: a test that finds nothing proves nothing.
  assert.deepEqual([...new Set(demo.map((a) => a.category))].sort(), ['flood', 'payload', 'scan']);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Alerts without the file they came from, in a stable order, for comparing runs. */
function comparable(alerts: readonly AlertLine[]): string[] {
  return alerts.map(({ file: _file, ...a }) => JSON.stringify(a, Object.keys(a).sort())).sort();
}

describe('ips analyze: the three formats', () => {
  it('jsonl: one Alert per line as the nodes send it, with the capture file; a summary line on stderr', async () => {
    for (const a of demo) {
      assert.equal(a.file, DEMO);
      for (const key of ['ts', 'rule', 'sid', 'signature', 'category', 'severity', 'action', 'src', 'dst', 'proto', 'count', 'windowMs', 'threshold', 'reason', 'detector']) {
        assert.ok(key in a, `${a.rule} lacks ${key}`);
      }
    }
    const r = await runIps(['analyze', DEMO, '--format', 'jsonl']);
    const [s] = summaries(r.stderr);
    assert.deepEqual({ ...s, packets: s.packets > 0 }, { file: DEMO, packets: true, alerts: demo.length });
  });

  it('csv: a header, then per alert the file and every Alert field, quoted where needed', async () => {
    const r = await runIps(['analyze', DEMO, '--format', 'csv']);
    assert.equal(r.code, 0);
    const [header, ...rows] = parseCsv(r.stdout);
    assert.deepEqual(header, CSV_COLUMNS);
    assert.equal(rows.length, demo.length);
    assert.ok(demo.some((a) => a.evidence?.includes(',')), 'some evidence holds commas, so quoting is exercised');
    rows.forEach((row, i) => {
      const a = demo[i] as unknown as Record<string, unknown>;
      assert.deepEqual(row, CSV_COLUMNS.map((c) => (a[c] === undefined ? '' : String(a[c]))));
    });
  });

  it('table: a header and one aligned line per alert in time order; a FILE column only for several files', async () => {
    const r = await runIps(['analyze', DEMO]);
    assert.equal(r.code, 0);
    const [header, ...lines] = r.stdout.trimEnd().split('\n');
    assert.match(header, /^TIME \(UTC\) +SEVERITY +RULE +SOURCE +DESTINATION +OFFENDER +PROTO +COUNT +REASON$/);
    assert.equal(lines.length, demo.length);
    const at = (title: string) => header.indexOf(title);
    const byTime = [...demo].sort((x, y) => x.ts - y.ts);
    lines.forEach((line, i) => {
      const a = byTime[i];
      assert.equal(line.slice(0, at('SEVERITY')).trim(), new Date(a.ts).toISOString());
      assert.equal(line.slice(at('SEVERITY'), at('RULE')).trim(), a.severity);
      assert.equal(line.slice(at('RULE'), at('SOURCE')).trim(), a.rule);
      assert.equal(line.slice(at('SOURCE'), at('DESTINATION')).trim(), a.src);
      assert.equal(line.slice(at('DESTINATION'), at('OFFENDER')).trim(), a.dst);
      assert.equal(line.slice(at('OFFENDER'), at('PROTO')).trim(), a.offender ?? '-');
      assert.equal(line.slice(at('COUNT'), at('REASON')).trim(), String(a.count));
      assert.equal(line.slice(at('REASON')), a.reason);
    });
    const two = await runIps(['analyze', LAB_ETH, DEMO]);
    const [header2, ...lines2] = two.stdout.trimEnd().split('\n');
    assert.match(header2, /^TIME \(UTC\) +FILE +SEVERITY /);
    assert.equal(lines2.filter((l) => l.slice(header2.indexOf('FILE')).startsWith(DEMO)).length, demo.length);
  });
});

describe('ips analyze: files that cannot be read', () => {
  /** Start offsets of demo.pcap's records (classic pcap: a 24-byte header, then a 16-byte header and the data per record). */
  function recordOffsets(buf: Buffer): number[] {
    assert.equal(buf.readUInt32LE(0), 0xa1b2c3d4, 'demo.pcap is little-endian microsecond pcap');
    const out: number[] = [];
    for (let at = 24; at < buf.length; at += 16 + buf.readUInt32LE(at + 8)) out.push(at);
    return out;
  }

  it('a truncated, a corrupt, a missing and a non-capture file among good ones: exit 1, each named with its byte offset, the rest analysed', async () => {
    const buf = fs.readFileSync(DEMO);
    const offsets = recordOffsets(buf);
    // Cut past the payload attacks and the port scan, inside a record.
    const cutRecord = offsets[Math.floor(offsets.length * 0.6)];
    const truncated = path.join(dir, 'truncated.pcap');
    fs.writeFileSync(truncated, buf.subarray(0, cutRecord + 20));
    // A captured length no capture has, in a record further on.
    const badRecord = offsets[Math.floor(offsets.length * 0.8)];
    const corrupt = path.join(dir, 'corrupt.pcap');
    const corruptBuf = Buffer.from(buf);
    corruptBuf.writeUInt32LE(0x7fffffff, badRecord + 8);
    fs.writeFileSync(corrupt, corruptBuf);
    const missing = path.join(dir, 'missing.pcap');
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'not a capture\n');

    const files = [LAB_ETH, truncated, missing, corrupt, text, LAB_MULTI];
    const r = await runIps(['analyze', ...files, '--format', 'jsonl']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^ips: ${truncated}: truncated pcap record at byte ${cutRecord} `, 'm'));
    assert.match(r.stderr, new RegExp(`^ips: ${corrupt}: corrupt pcap record at byte ${badRecord}: captured length 2147483647`, 'm'));
    assert.match(r.stderr, new RegExp(`^ips: ${missing}: capture file not found`, 'm'));
    assert.match(r.stderr, new RegExp(`^ips: ${text}: not a pcap or pcapng file .*at byte 0`, 'm'));
    assert.deepEqual(summaries(r.stderr).map((s) => s.file), files, 'a summary line per file, in order');
    const alerts = jsonlAlerts(r.stdout);
    const of = (f: string) => alerts.filter((a) => a.file === f);

    // The good files give what they give alone.
    for (const good of [LAB_ETH, LAB_MULTI]) {
      const alone = await runIps(['analyze', good, '--format', 'jsonl']);
      assert.equal(alone.code, 0);
      assert.ok(jsonlAlerts(alone.stdout).length > 0, `${good} has alerts`);
      assert.deepEqual(comparable(of(good)), comparable(jsonlAlerts(alone.stdout)));
    }
    // A damaged file gives the alerts of the packets before the damage: those of a good file ending there.
    for (const [damaged, at] of [[truncated, cutRecord], [corrupt, badRecord]] as const) {
      const before = path.join(dir, `before-${path.basename(damaged)}`);
      fs.writeFileSync(before, buf.subarray(0, at));
      const clean = await runIps(['analyze', before, '--format', 'jsonl']);
      assert.equal(clean.code, 0, clean.stderr);
      assert.ok(of(damaged).length > 0, `${damaged}: alerts before the damage are printed`);
      assert.deepEqual(comparable(of(damaged)), comparable(jsonlAlerts(clean.stdout)));
      assert.equal(summaries(r.stderr).find((s) => s.file === damaged)?.packets, summaries(clean.stderr)[0].packets);
    }
    assert.deepEqual(of(missing), []);
    assert.deepEqual(of(text), []);
  });
});

describe('ips analyze: settings, rules and per-file state', () => {
  it('--config changes what the detectors report, as the same keys do on the nodes', async () => {
    const cfg = path.join(dir, 'settings.json');
    fs.writeFileSync(cfg, JSON.stringify({ 'flood-detect': { icmpSrc: 0, icmpDst: '0' }, 'scan-detect': { allowlist: '10.77.0.66/32' }, 'payload-match': { includeDefaults: false } }));
    const r = await runIps(['analyze', DEMO, '--config', cfg, '--format', 'jsonl']);
    assert.equal(r.code, 0, r.stderr);
    const expected = demo.filter((a) => !a.rule.startsWith('flood.icmp.') && a.category !== 'scan' && a.category !== 'payload');
    assert.ok(expected.length > 0 && expected.length < demo.length);
    assert.deepEqual(comparable(jsonlAlerts(r.stdout)), comparable(expected));
  });

  it('--rules adds a rules file to the shipped rules; with includeDefaults false only its rules match', async () => {
    const rules = path.join(dir, 'greeting-rules.json');
    // The demo's web server answers "hello <n>".
    fs.writeFileSync(rules, JSON.stringify([{ id: 'local.greeting', sid: 9100001, name: 'demo server greeting', pattern: 'hello ', severity: 'low' }]));
    const withDefaults = jsonlAlerts((await runIps(['analyze', DEMO, '--rules', rules, '--format', 'jsonl'])).stdout);
    const greeting = withDefaults.filter((a) => a.rule === 'local.greeting');
    assert.ok(greeting.length > 0);
    assert.ok(greeting.every((a) => a.src === '10.77.0.1' && a.sid === 9100001 && a.severity === 'low'));
    assert.deepEqual(comparable(withDefaults.filter((a) => a.rule !== 'local.greeting')), comparable(demo));

    const cfg = path.join(dir, 'own-rules-only.json');
    fs.writeFileSync(cfg, JSON.stringify({ 'payload-match': { includeDefaults: false } }));
    const only = jsonlAlerts((await runIps(['analyze', DEMO, '--rules', rules, '--config', cfg, '--format', 'jsonl'])).stdout);
    assert.deepEqual(only.filter((a) => a.category === 'payload').map((a) => a.rule), greeting.map((a) => a.rule));
  });

  it('--rules takes a Snort/Suricata rules file: its alerts carry gid, sid, rev, msg, classtype and references; stderr reports the load', async () => {
    const rules = path.join(dir, 'local.rules');
    fs.writeFileSync(rules, [
      '# curl with a UNION in the URI, and any request curl sends',
      'alert http $EXTERNAL_NET any -> $HOME_NET $HTTP_PORTS (msg:"LOCAL SQLi UNION in URI"; flow:established,to_server; \\',
      '  http.uri; content:"UNION"; nocase; content:"SELECT"; nocase; distance:1; classtype:web-application-attack; reference:url,example.org/sqli; sid:9200001; rev:3;)',
      'alert tcp any any -> any 80 (msg:"LOCAL curl user agent"; content:"curl/"; http_user_agent; classtype:misc-activity; sid:9200002;)',
      'alert tcp any any -> any 80 (msg:"LOCAL byte_test"; content:"GET"; byte_test:1,=,1,0; sid:9200003;)',
    ].join('\n'));
    const cfg = path.join(dir, 'sig-rules-only.json');
    // The demo's addresses are in 10.77.0.0/24: the attacker is outside this $HOME_NET only when it names the server alone.
    fs.writeFileSync(cfg, JSON.stringify({ 'payload-match': { includeDefaults: false, homeNet: '10.77.0.1/32', cooldownS: 0 } }));
    const r = await runIps(['analyze', DEMO, '--rules', rules, '--config', cfg, '--format', 'jsonl']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^payload-match: loaded 2 of 3 rules; skipped 1: 1 × unsupported option 'byte_test' \(sid 9200003\)$/m);
    const alerts = jsonlAlerts(r.stdout).filter((a) => a.category !== 'flood' && a.category !== 'scan');
    const union = alerts.filter((a) => a.sid === 9200001);
    assert.equal(union.length, 1, JSON.stringify(alerts.map((a) => a.rule)));
    assert.deepEqual(
      [union[0].rule, union[0].gid, union[0].rev, union[0].signature, union[0].classtype, union[0].references, union[0].severity, union[0].src, union[0].offender, union[0].dport],
      ['sig:1:9200001', 1, 3, 'LOCAL SQLi UNION in URI', 'web-application-attack', ['url,example.org/sqli'], 'high', '10.77.0.66', '10.77.0.66', 80],
    );
    assert.match(union[0].evidence ?? '', /^matched "UNION SELECT" in http\.uri at bytes 13-25 /);
    const agents = alerts.filter((a) => a.sid === 9200002);
    // One per curl request (7 in the demo), low severity from misc-activity.
    assert.equal(agents.length, 7);
    assert.ok(agents.every((a) => a.severity === 'low' && a.src === '10.77.0.66'));
  });

  it('each file starts with fresh windows and cooldowns: the same capture twice gives the same alerts twice', async () => {
    const r = await runIps(['analyze', DEMO, DEMO, '--format', 'jsonl']);
    assert.equal(r.code, 0);
    const alerts = jsonlAlerts(r.stdout);
    assert.equal(alerts.length, 2 * demo.length);
    assert.deepEqual(comparable(alerts.slice(demo.length)), comparable(demo));
    assert.deepEqual(summaries(r.stderr).map((s) => s.alerts), [demo.length, demo.length]);
  });
});

describe('ips replay', () => {
  it('plays the capture through the same chain: the same rules for the same addresses as analyze', async () => {
    const r = await runIps(['replay', DEMO, '--speed', '50', '--format', 'jsonl']);
    assert.equal(r.code, 0, r.stderr);
    const key = (a: AlertLine) => `${a.rule} ${a.src} ${a.dst}`;
    assert.deepEqual([...new Set(jsonlAlerts(r.stdout).map(key))].sort(), [...new Set(demo.map(key))].sort());
    assert.equal(summaries(r.stderr)[0].alerts, jsonlAlerts(r.stdout).length);
  });

  it('Ctrl-C stops it: the summary says stopped and the exit status is 130', async () => {
    const child = spawn(IPS, ['replay', DEMO, '--speed', '0.001'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // The table's header is printed before the first packet is played.
      await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('\n')) resolve();
      }));
      child.kill('SIGINT');
      assert.equal(await exited, 130);
    } finally {
      child.kill('SIGKILL');
    }
    assert.match(stdout, /^TIME \(UTC\) +SEVERITY +RULE/);
    assert.match(stderr, new RegExp(`^${DEMO}: \\d+ packets, 0 alerts, \\d+\\.\\d\\d s \\(stopped\\)$`, 'm'));
  });
});

describe('ips as shipped', () => {
  it('runs the built command line from the repository (package.json bin), no install', async (t) => {
    const which = await runProcess('sh', ['-c', 'command -v npx']);
    if (which.code !== 0) return t.skip('npx not on PATH');
    // --no: fail rather than fetch a package of that name from a registry.
    const r = await runProcess('npx', ['--no', '--', 'ips', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, (await runIps(['--help'])).stdout);
    const analyzed = await runProcess('npx', ['--no', '--', 'ips', 'analyze', path.relative(packageRoot, DEMO), '--format', 'jsonl']);
    assert.equal(analyzed.code, 0, analyzed.stderr);
    assert.deepEqual(comparable(jsonlAlerts(analyzed.stdout)), comparable(demo));
  });

  it('the npm package (npm pack) holds a working ips: `bin` names an executable file, and the packed files alone analyse a capture', async () => {
    const packed = await runProcess('npm', ['pack', '--pack-destination', dir, '--json']);
    assert.equal(packed.code, 0, packed.stderr);
    const [{ filename }] = JSON.parse(packed.stdout) as { filename: string }[];
    const unpacked = path.join(dir, 'unpacked');
    fs.mkdirSync(unpacked);
    const tar = await runProcess('tar', ['-xzf', path.join(dir, filename), '-C', unpacked]);
    assert.equal(tar.code, 0, tar.stderr);
    const pkg = JSON.parse(fs.readFileSync(path.join(unpacked, 'package', 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const bin = path.join(unpacked, 'package', pkg.bin.ips);
    assert.equal(fs.statSync(bin).mode & 0o111, 0o111, 'executable');
    // No node_modules beside it: the command line needs none of the package's dependencies.
    const r = await runProcess(bin, ['analyze', DEMO, '--format', 'jsonl'], { cwd: unpacked });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(comparable(jsonlAlerts(r.stdout)), comparable(demo));
  });
});
