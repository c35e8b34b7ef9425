/** payload-match over reassembled streams and HTTP fields: what a user sees in alerts and verdicts. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PayloadDetector } from '../../../../lib/detect/payload/detector';
import type { Alert } from '../../../../lib/detect/alert';
import { CLIENT, TcpPair } from '../../../support/tcp-packets';

const SQLI = 'GET /item?id=1%20UNION%20SELECT%20user,password%20FROM%20users-- HTTP/1.1\r\nHost: shop.lan\r\nUser-Agent: curl/8\r\n\r\n';

function rules(alerts: Alert[]): string[] {
  return alerts.map((a) => a.rule);
}

describe('payload-match on TCP streams', () => {
  it('finds an injection split across tiny segments once, on the packet that completes it, with the joined text as evidence', () => {
    const det = new PayloadDetector('pm', { cooldownS: 0, action: 'drop' });
    const t = new TcpPair();
    const segs = t.segments(SQLI, 7);
    const alerts = det.process([...t.handshake(), ...segs]);
    assert.deepEqual(rules(alerts), ['payload.sqli.union']);
    const a = alerts[0];
    assert.equal(a.src, CLIENT);
    assert.equal(a.offender, CLIENT);
    assert.match(a.evidence ?? '', /^matched "UNION SELECT" in http\.uri/);
    // The URI is complete when the header block ends: that packet is dropped, and every later one of the connection.
    const last = segs[segs.length - 1];
    assert.equal(last.verdict, 'drop');
    assert.ok(segs.slice(0, -1).every((p) => p.verdict === undefined));
    const retransmit = t.c(SQLI.length - 7, SQLI.slice(-7));
    const later = t.c(SQLI.length, 'GET / HTTP/1.1\r\n\r\n');
    assert.deepEqual(det.process([retransmit, later]), []);
    assert.equal(retransmit.verdict, 'drop');
    assert.equal(later.verdict, 'drop');
  });

  it('matches raw rules across segment boundaries once, evidence showing the joined bytes', () => {
    const det = new PayloadDetector('pm', { includeDefaults: false, cooldownS: 0, rules: [{ id: 'local.split', sid: 9300001, name: 'split word', pattern: 'needle-in-stream' }] });
    const t = new TcpPair(40000, 9999);
    const alerts = det.process([...t.handshake(), t.c(0, 'xx needle-'), t.c(10, 'in-str'), t.c(16, 'eam yy'), t.c(22, ' needle-in-stream')]);
    assert.equal(alerts.length, 2, 'the split match once, then the second occurrence (new bytes) once');
    assert.match(alerts[0].evidence ?? '', /matched "needle-in-stream" in stream at bytes 3-19 of/);
    assert.match(alerts[0].evidence ?? '', /\|xx needle-in-str\|/);
  });

  it('matches a Snort/Suricata rule on http.uri and on the raw stream across two segments, once, and drops the connection inline', () => {
    const signatures = [
      'drop http any any -> $HOME_NET any (msg:"LOCAL SQLi UNION in URI"; flow:established,to_server; http.uri; content:"UNION SELECT"; nocase; classtype:web-application-attack; sid:9200001; rev:2;)',
      'alert tcp any any -> any any (msg:"LOCAL UNION in stream"; flow:to_server; content:"UNION%20SELECT"; sid:9200002; rev:1;)',
    ].join('\n');
    const det = new PayloadDetector('pm', { includeDefaults: false, cooldownS: 0, action: 'drop', signatures, homeNet: '10.0.0.0/8' });
    assert.equal(det.loadSummary, 'loaded 2 of 2 rules');
    const t = new TcpPair();
    // The cut falls inside "UNION": neither segment holds the pattern alone.
    const cut = SQLI.indexOf('UNION') + 3;
    const first = t.c(0, SQLI.slice(0, cut));
    const second = t.c(cut, SQLI.slice(cut));
    const alerts = det.process([...t.handshake(), first, second]);
    assert.deepEqual(rules(alerts).sort(), ['sig:1:9200001', 'sig:1:9200002']);
    for (const a of alerts) assert.equal(a.offender, CLIENT);
    const uri = alerts.find((a) => a.rule === 'sig:1:9200001');
    assert.match(uri?.evidence ?? '', /matched "UNION SELECT" in http\.uri/);
    assert.match(alerts.find((a) => a.rule === 'sig:1:9200002')?.evidence ?? '', /matched "UNION%20SELECT" in stream/);
    assert.equal(first.verdict, undefined);
    assert.equal(second.verdict, 'drop');
    // The same bytes again as context of the next segment raise nothing; the connection stays dropped.
    const later = t.c(SQLI.length, 'GET / HTTP/1.1\r\nHost: shop.lan\r\n\r\n');
    assert.deepEqual(det.process([later]), []);
    assert.equal(later.verdict, 'drop');
  });

  it('reassembles out-of-order and overlapping segments before matching (first bytes win)', () => {
    const det = new PayloadDetector('pm', { cooldownS: 0 });
    const t = new TcpPair();
    const req = "GET /p?q=<script>alert(1)</script> HTTP/1.1\r\nHost: x\r\n\r\n";
    // Segments in the order 3, 1, 2 (with 2 overlapping 1 and 3 by a few bytes carrying decoy bytes).
    const p3 = t.c(20, req.slice(20));
    const p1 = t.c(0, req.slice(0, 12));
    const p2 = t.c(8, `XXXX${req.slice(12, 20)}YYYY`);
    const alerts = det.process([...t.handshake(), p3, p1, p2]);
    assert.deepEqual(rules(alerts), ['payload.xss.script']);
    assert.match(alerts[0].evidence ?? '', /in http\.uri/);
    assert.equal(det.streamStats.gaps, 0);
  });

  it('finds injections in a chunked and in a gzip-compressed POST body', () => {
    const det = new PayloadDetector('pm', { cooldownS: 0 });
    const t = new TcpPair();
    const chunked = "POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nuser=adm\r\n10\r\nin' or '1'='1&p=\r\n1\r\nx\r\n0\r\n\r\n";
    const a1 = det.process([...t.handshake(), ...t.segments(chunked, 9)]);
    assert.deepEqual(rules(a1), ['payload.sqli.tautology']);
    assert.match(a1[0].reason, /^HTTP request_body from/);
    const u = new TcpPair(40001);
    const gz = zlib.gzipSync(Buffer.from('comment=nice<script>alert(1)</script>'));
    const head = `POST /comment HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`;
    const a2 = det.process([...u.handshake(), u.c(0, head), u.c(head.length, gz.subarray(0, 10)), u.c(head.length + 10, gz.subarray(10))]);
    assert.deepEqual(rules(a2), ['payload.xss.script']);
  });

  it('does not raise injection rules on headers, cookies or prose bodies', () => {
    const det = new PayloadDetector('pm', { cooldownS: 0 });
    const t = new TcpPair();
    const body = 'message=I will drop the table off on Friday; select a time that suits you and let me know. Union rules apply.';
    const req = `POST /contact HTTP/1.1\r\nHost: x\r\nCookie: pref=select; last=union\r\nReferer: http://x/?a=1 or 1=1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const res = 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 58\r\n\r\n<html><script src="/app.js"></script><body>ok</body></html>';
    assert.deepEqual(rules(det.process([...t.handshake(), ...t.segments(req, 50), t.s(0, res)])), []);
  });

  it('targets a field with the JSON rule "field"', () => {
    const det = new PayloadDetector('pm', {
      includeDefaults: false, cooldownS: 0,
      rules: [
        { id: 'local.ua', sid: 9300002, name: 'scanner UA', pattern: 'sqlmap', field: 'user_agent' },
        { id: 'local.cookie', sid: 9300003, name: 'admin cookie', pattern: 'role=admin', field: 'cookie' },
        { id: 'local.method', sid: 9300004, name: 'TRACE', pattern: '^TRACE$', regex: true, field: 'method' },
      ],
    });
    const t = new TcpPair();
    const req = 'TRACE /sqlmap HTTP/1.1\r\nHost: x\r\nUser-Agent: sqlmap/1.7\r\nCookie: role=admin\r\n\r\n';
    assert.deepEqual(rules(det.process([...t.handshake(), t.c(0, req)])).sort(), ['local.cookie', 'local.method', 'local.ua']);
    assert.throws(() => new PayloadDetector('pm', { rules: [{ id: 'x.y', sid: 9300005, name: 'n', pattern: 'p', field: 'url' }] }), /field must be one of raw, uri, uri_raw/);
  });

  it('matches a rule on the URI and the body once per request, when its body completes in a later segment or reaches the body cap', () => {
    const signatures = 'drop http any any -> any any (msg:"LOCAL login with passwd"; flow:to_server; content:"login"; http_uri; content:"passwd="; http_client_body; sid:9200010; rev:1;)';
    const json = [{ id: 'local.login-uri', sid: 9300010, name: 'login URI', pattern: '/login', field: 'uri' }];
    const det = new PayloadDetector('pm', { includeDefaults: false, cooldownS: 0, action: 'drop', signatures, rules: json, httpBodyKB: 1 });
    const t = new TcpPair();
    const body = 'user=ann&passwd=x';
    const head = `POST /login HTTP/1.1\r\nHost: shop.lan\r\nContent-Length: ${body.length}\r\n\r\n`;
    const [h, b1, b2] = [t.c(0, head), t.c(head.length, body.slice(0, 10)), t.c(head.length + 10, body.slice(10))];
    const alerts = det.process([...t.handshake(), h, b1, b2]);
    // The JSON rule on the URI with the headers; the rule on both with the body's last segment, the client as offender; neither twice.
    assert.deepEqual(rules(alerts), ['local.login-uri', 'sig:1:9200010']);
    assert.equal(alerts[1].offender, CLIENT);
    assert.deepEqual([h.verdict, b1.verdict, b2.verdict], [undefined, undefined, 'drop']);
    // An upload longer than the body cap (1 KB) whose end never comes: matched when the cap is reached.
    const u = new TcpPair(40002);
    const big = `user=ann&passwd=x&file=${'A'.repeat(1100)}`;
    const uhead = `POST /login HTTP/1.1\r\nHost: shop.lan\r\nContent-Length: 10000000\r\n\r\n`;
    const segs = u.segments(big, 300, uhead.length);
    const a2 = det.process([...u.handshake(), u.c(0, uhead), ...segs]);
    assert.deepEqual(rules(a2), ['local.login-uri', 'sig:1:9200010']);
    assert.deepEqual(segs.map((p) => p.verdict), [undefined, undefined, undefined, 'drop']);
  });

  it('keeps no view of the bytes it inspected: open connections do not hold on to their capture chunks', async () => {
    // A full collection on demand, so that what is still referenced is all that is left.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const det = new PayloadDetector('pm', { includeDefaults: true });
    // As from a capture file: each request a view into a 256 KiB read chunk of its own, its connection left open.
    const CHUNK = 256 * 1024;
    const CONNECTIONS = 200;
    gc();
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < CONNECTIONS; i++) {
      const t = new TcpPair(40000 + i);
      const request = `GET /page?id=${i} HTTP/1.1\r\nHost: shop.lan\r\n\r\n`;
      const chunk = Buffer.alloc(CHUNK);
      chunk.write(request, 1000, 'latin1');
      det.process([...t.handshake(), t.c(0, chunk.subarray(1000, 1000 + request.length))]);
    }
    // Freed array buffers are released by a sweeper after the collection: a second one, a turn later, has them gone.
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const kept = process.memoryUsage().arrayBuffers - before;
    assert.ok(kept < 4 * CHUNK, `${(kept / CHUNK).toFixed(0)} chunks of 256 KiB kept alive by ${CONNECTIONS} open connections`);
  });

  it('takes stream settings from the config and at runtime, refusing bad values', () => {
    const det = new PayloadDetector('pm', { streamConnections: 500 });
    assert.equal(det.settings.streamConnections, 500);
    det.configure({ streamMemcapMB: 8 });
    assert.equal(det.settings.streamMemcapMB, 8);
    assert.throws(() => det.configure({ streamIdleS: 0 }), /streamIdleS must be >= 1/);
  });
});
