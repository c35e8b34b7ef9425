import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Packet } from '../../../../lib/packet/types';
import { defaultRules } from '../../../../lib/detect/payload/detector';
import { PayloadMatcher, ruleApplies, hitEvidence } from '../../../../lib/detect/payload/matcher';
import { compileRules } from '../../../../lib/detect/payload/rules';
import { PAYLOAD_CASES as CASES, httpGet as get, httpPost as post } from '../../../support/payload-samples';

function pkt(payload: string | Buffer, o: Partial<Packet> = {}): Packet {
  const buf = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  return { ts: 1_700_000_000_000, len: buf.length + 54, caplen: buf.length + 54, ip: 4, src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', sport: 43512, dport: 80, payload: buf, ...o };
}

const matcher = new PayloadMatcher(defaultRules());
const ruleIds = (p: Packet): string[] => matcher.match(p).map((h) => h.rule.id).sort();

describe('default payload rules', () => {
  it('has a positive case for every default rule', () => {
    assert.deepEqual(Object.keys(CASES).sort(), defaultRules().map((r) => r.id).sort());
  });
  for (const [id, { hit, miss }] of Object.entries(CASES)) {
    describe(id, () => {
      for (const text of hit) {
        it(`matches ${JSON.stringify(text.split('\r\n')[0].slice(0, 70))}`, () => {
          assert.ok(ruleIds(pkt(text)).includes(id), `expected ${id} in [${ruleIds(pkt(text)).join(', ')}]`);
        });
      }
      for (const text of miss) {
        it(`does not match ${JSON.stringify(text.split('\r\n').find((l) => l.includes('?') || l.includes('=') ) ?? text.slice(0, 60))}`, () => {
          assert.ok(!ruleIds(pkt(text)).includes(id), `unexpected ${id}`);
        });
      }
    });
  }
});

describe('default rule anchors', () => {
  it('every text a default rule\'s regex matches holds one of its anchors (20,000 random texts from the rules\' own pieces)', () => {
    const pieces = [';', '&', '|', ' ', '  ', '\t', '\xa0', '$(', '`', 'cat', 'id', 'bash', 'sh', 'ncat', 'nc', 'python3', 'python', 'uname', 'x', '=', '<', '/', 'CAT', 'Id'];
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >> 8) % n;
    };
    for (const rule of defaultRules().filter((r) => r.id.startsWith('payload.cmdi.'))) {
      const re = new RegExp(rule.pattern, 'i');
      const anchors = (rule.anchors ?? []).map((a) => a.toLowerCase());
      let matched = 0;
      for (let n = 0; n < 20_000; n++) {
        let text = '';
        for (let k = 1 + rnd(6); k > 0; k--) text += pieces[rnd(pieces.length)];
        if (!re.test(text)) continue;
        matched++;
        assert.ok(anchors.some((a) => text.toLowerCase().includes(a)), `${rule.id} matches ${JSON.stringify(text)} but no anchor occurs in it`);
      }
      assert.ok(matched > 100, `${rule.id}: only ${matched} random texts matched`);
    }
  });
});

describe('benign traffic', () => {
  const benign = [
    get('/'),
    get('/index.html'),
    get('/static/css/site.min.css?v=3.2.1'),
    get('/api/v1/items?limit=20&offset=40&sort=-created&q=red+shoes'),
    get("/api/users?name=O'Brien&city=St.+John%27s"),
    post('{"user":"ann","items":[1,2,3],"note":"ship before friday; thanks","price":12.5}', 'application/json'),
    post('username=ann&password=s3cr%21t&remember=on'),
    `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><head><script src="/app.js"></script></head><body onload="init()"><a href="../index.html">up</a></body></html>`,
  ];
  for (const text of benign) {
    it(`no hit on ${JSON.stringify(text.split('\r\n')[0].slice(0, 60))}`, () => {
      // The response above comes from the server (sport 80), as a browser would receive it.
      const p = text.startsWith('HTTP/') ? pkt(text, { sport: 80, dport: 43512 }) : pkt(text);
      assert.deepEqual(ruleIds(p), []);
    });
  }

  it('no hit on 2000 pseudo-random binary payloads (encrypted-looking traffic)', () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed >> 16;
    };
    let hits = 0;
    for (let n = 0; n < 2000; n++) {
      const b = Buffer.alloc(1400);
      for (let i = 0; i < b.length; i++) b[i] = rnd() & 0xff;
      hits += matcher.match(pkt(b, { dport: 443 })).length;
    }
    assert.equal(hits, 0);
  });
});

describe('PayloadMatcher', () => {
  it('gives one hit per rule when one payload matches several rules', () => {
    const p = pkt(get("/i?id=1' AND 1=1 UNION SELECT sleep(5),2 FROM information_schema.tables;DROP TABLE x--<script>"));
    assert.deepEqual(ruleIds(p), ['payload.sqli.drop_table', 'payload.sqli.information_schema', 'payload.sqli.sleep', 'payload.sqli.stacked', 'payload.sqli.tautology', 'payload.sqli.union', 'payload.xss.script']);
  });

  it('finds rules that start at the same position as another rule', () => {
    const rules = compileRules([
      { id: 't.a', sid: 1, name: 'a', pattern: 'abc' },
      { id: 't.b', sid: 2, name: 'b', pattern: 'abcdef' },
      { id: 't.c', sid: 3, name: 'c', pattern: 'ab[c-d]', regex: true, nocase: false },
      { id: 't.d', sid: 4, name: 'd', pattern: 'DEF', nocase: false },
    ]);
    const m = new PayloadMatcher(rules);
    assert.deepEqual(m.match(pkt('xxabcdefxx')).map((h) => h.rule.id).sort(), ['t.a', 't.b', 't.c']);
    assert.deepEqual(m.match(pkt('xxABCDEFxx')).map((h) => h.rule.id).sort(), ['t.a', 't.b', 't.d']);
  });

  it('keeps backreferences and named groups of each shipped rule working (shipped rules run in V8)', () => {
    const rules = compileRules([
      { id: 't.pair', sid: 1, name: 'pair', pattern: '(\\w)(\\w)\\2\\1', regex: true },
      { id: 't.named', sid: 2, name: 'named', pattern: '(?<q>[\'"])x\\k<q>', regex: true },
      { id: 't.also', sid: 3, name: 'also named', pattern: '(?<q>[<])y\\k<q>', regex: true },
    ], 'shipped', true);
    const m = new PayloadMatcher(rules);
    assert.deepEqual(m.match(pkt('..abba..')).map((h) => h.rule.id), ['t.pair']);
    assert.deepEqual(m.match(pkt('..abcd..')).map((h) => h.rule.id), []);
    assert.deepEqual(m.match(pkt(`.."x".."x'.<y<`)).map((h) => h.rule.id).sort(), ['t.also', 't.named']);
  });

  it('applies protocol, port and direction constraints', () => {
    const rules = compileRules([
      { id: 't.web', sid: 1, name: 'web', pattern: 'evil', proto: 'tcp', ports: '80,8000-8100', direction: 'to-server' },
      { id: 't.resp', sid: 2, name: 'resp', pattern: 'evil', proto: 'tcp', ports: 80, direction: 'to-client' },
      { id: 't.dns', sid: 3, name: 'dns', pattern: 'evil', proto: 'udp', dport: 53 },
      { id: 't.any', sid: 4, name: 'any', pattern: 'evil', sport: '1000-2000' },
    ]);
    const m = new PayloadMatcher(rules);
    const ids = (o: Partial<Packet>): string[] => m.match(pkt('an evil payload', o)).map((h) => h.rule.id).sort();
    assert.deepEqual(ids({ sport: 40000, dport: 8080 }), ['t.web']);
    assert.deepEqual(ids({ sport: 80, dport: 40000 }), ['t.resp']);
    assert.deepEqual(ids({ proto: 'udp', sport: 1500, dport: 53 }), ['t.any', 't.dns']);
    assert.deepEqual(ids({ proto: 'udp', sport: 5353, dport: 5353 }), []);
    assert.equal(ruleApplies(rules[0], pkt('', { sport: 80, dport: 40000 })), false);
  });

  it('applies to-server without ports by the lower port being the service', () => {
    const web = defaultRules().find((r) => r.id === 'payload.xss.script');
    assert.ok(web);
    assert.equal(ruleApplies(web, pkt('', { sport: 50000, dport: 8080 })), true);
    assert.equal(ruleApplies(web, pkt('', { sport: 8080, dport: 50000 })), false);
  });

  it('skips empty payloads and non-TCP/UDP packets without scanning', () => {
    assert.equal(matcher.match(pkt('')).length, 0);
    assert.equal(matcher.match(pkt(get('/?q=<script>'), { proto: 'icmp', sport: undefined, dport: undefined })).length, 0);
  });

  it('reports where the match is in the buffer it read: the normalised URI for the shipped rules', () => {
    const text = get('/s?q=%3Cscript%3E');
    const [hit] = matcher.match(pkt(text));
    assert.equal(hit.rule.id, 'payload.xss.script');
    assert.equal(hit.buffer, 'http.uri');
    assert.equal(hit.decoded, 0);
    assert.equal(Buffer.from(hit.bytes).toString('latin1'), '/s?q=<script>');
    assert.match(hitEvidence(hit), /^matched "<script" in http\.uri at bytes 5-12 of 13\n0000 {2}2f 73 3f 71/);
  });

  it('maps matches in URL-decoded forms of the raw payload back to its bytes', () => {
    const raw = new PayloadMatcher(compileRules([{ id: 't.raw', sid: 9100010, name: 'raw script', pattern: '<script' }], 'test'));
    const text = get('/s?q=%3Cscript%3E');
    const [hit] = raw.match(pkt(text));
    assert.equal(hit.buffer, 'stream');
    assert.equal(hit.decoded, 1);
    assert.equal(text.slice(hit.start, hit.end), '%3Cscript');
    const ev = hitEvidence(hit);
    assert.match(ev, /^matched "<script" \(after URL-decoding\) in stream at bytes 9-18 of \d+\n/);
    assert.match(ev, /^0000 {2}47 45 54 20 2f 73 3f 71 {2}3d 25 33 43 73 63 72 69 {2}\|GET \/s\?q=%3Cscri\|$/m);
  });

  it('maps double-decoded matches back to the raw bytes of the URI as sent', () => {
    const text = get('/f?p=%252e%252e%252fx');
    const hit = matcher.match(pkt(text)).find((h) => h.rule.id === 'payload.traversal.dotdot');
    assert.ok(hit);
    assert.equal(hit.buffer, 'http.uri.raw');
    assert.equal(hit.decoded, 2);
    assert.equal(Buffer.from(hit.bytes).toString('latin1', hit.start, hit.end), '=%252e%252e%252f');
  });

  it('matches binary payloads byte for byte, and reads HTTP fields only from HTTP', () => {
    const b = Buffer.concat([Buffer.from([0x00, 0xff, 0xc0, 0x01]), Buffer.from('GET /f?p=/etc/passwd', 'latin1'), Buffer.from([0x80, 0x00])]);
    assert.deepEqual(matcher.match(pkt(b)), [], 'not an HTTP message: no URI to read');
    const raw = new PayloadMatcher(compileRules([{ id: 't.bin', sid: 9100011, name: 'bytes', pattern: '\\xc0\\x01GET', regex: true, nocase: false }], 'test'));
    const hits = raw.match(pkt(b));
    assert.deepEqual(hits.map((h) => [h.rule.id, h.start, h.end]), [['t.bin', 2, 7]]);
  });

  it('still finds every rule on a payload with thousands of match positions', () => {
    const text = get(`/f?p=${'../'.repeat(4000)}etc/passwd&x=<script>`);
    assert.deepEqual(ruleIds(pkt(text)), ['payload.traversal.dotdot', 'payload.traversal.sensitive_file', 'payload.xss.script']);
  });
});

describe('PayloadMatcher scans with the anchors of the rules that apply', () => {
  it('finds each rule only on the packets its constraints admit, whatever packets came before', () => {
    const rules = compileRules([
      { id: 'u.tcp', sid: 9100001, name: 'tcp word', pattern: 'alpha', proto: 'tcp' },
      { id: 'u.udp', sid: 9100002, name: 'udp word', pattern: 'bravo', proto: 'udp' },
      { id: 'u.any', sid: 9100003, name: 'any word', pattern: 'charlie', proto: 'any' },
      { id: 'u.dns', sid: 9100004, name: 'dns word', pattern: 'delta', proto: 'udp', dport: 53 },
    ], 'test rules');
    const m = new PayloadMatcher(rules);
    const text = 'xx alpha bravo charlie delta xx';
    const ids = (p: Packet): string[] => m.match(p).map((h) => h.rule.id).sort();
    // Alternate packet kinds so each set of applicable rules is met again after another.
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(ids(pkt(text, { proto: 'tcp' })), ['u.any', 'u.tcp']);
      assert.deepEqual(ids(pkt(text, { proto: 'udp', sport: 40000, dport: 53 })), ['u.any', 'u.dns', 'u.udp']);
      assert.deepEqual(ids(pkt(text, { proto: 'udp', sport: 40000, dport: 123 })), ['u.any', 'u.udp']);
      assert.deepEqual(ids(pkt(text, { proto: 'icmp', sport: undefined, dport: undefined })), ['u.any']);
      assert.deepEqual(ids(pkt('aaaaaaaaaaaaaaaaaaaa', { proto: 'udp', sport: 40000, dport: 53 })), []);
    }
  });
});
