import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSignature, parseSignatures } from '../../../../../lib/detect/payload/signature/parse';
import { ruleVars } from '../../../../../lib/detect/payload/signature/vars';
import { defaultSources, loadRuleSet, reportText } from '../../../../../lib/detect/payload/rule-sources';
import { RuleError } from '../../../../../lib/detect/payload/rules';

const VARS = ruleVars({ homeNet: ['192.168.0.0/16'], externalNet: '!$HOME_NET', httpPorts: [80] });

describe('rule-language parser', () => {
  it('reads the rule metadata: gid, sid, rev, msg, classtype → priority and severity, references, metadata, action', () => {
    const s = parseSignature('drop http $EXTERNAL_NET any -> $HOME_NET $HTTP_PORTS (msg:"ET WEB_SERVER SQL; injection"; flow:established,to_server; http.uri; content:"UNION"; nocase; content:"SELECT"; nocase; distance:0; reference:cve,2021-0001; reference:url,example.org/x; classtype:web-application-attack; metadata:created_at 2024_01_01; gid:1; sid:2000001; rev:7;)', VARS);
    assert.deepEqual([s.gid, s.sid, s.rev, s.msg, s.action, s.proto], [1, 2000001, 7, 'ET WEB_SERVER SQL; injection', 'drop', 'http']);
    assert.deepEqual([s.classtype, s.priority, s.severity, s.category], ['web-application-attack', 1, 'high', 'payload']);
    assert.deepEqual(s.references, ['cve,2021-0001', 'url,example.org/x']);
    assert.deepEqual(s.metadata, ['created_at 2024_01_01']);
    assert.deepEqual([s.toServer, s.established], [true, true]);
    assert.deepEqual(s.chains.map((c) => [c.buffer, c.items.length]), [['http.uri', 2]]);
    // The longest content is the fast pattern.
    assert.deepEqual(s.fast, { buffer: 'http.uri', text: 'SELECT' });
  });

  it('priority overrides the class; no classtype is priority 3 (low); policy classes are category policy', () => {
    const base = 'alert tcp any any -> any any (msg:"m"; content:"x";';
    assert.deepEqual(((s) => [s.priority, s.severity])(parseSignature(`${base} classtype:attempted-recon; sid:1;)`, VARS)), [2, 'medium']);
    assert.deepEqual(((s) => [s.priority, s.severity])(parseSignature(`${base} classtype:attempted-recon; priority:1; sid:1;)`, VARS)), [1, 'high']);
    assert.deepEqual(((s) => [s.priority, s.severity])(parseSignature(`${base} sid:1;)`, VARS)), [3, 'low']);
    assert.equal(parseSignature(`${base} classtype:policy-violation; sid:1;)`, VARS).category, 'policy');
  });

  it('skips each rule it cannot run whole, with its sid and the reason; the others load', () => {
    const rules = [
      'alert tcp any any -> any any (msg:"ok"; content:"a"; sid:1;)',
      'alert tcp any any -> any any (msg:"byte_test"; content:"a"; byte_test:4,>,1000,0; sid:2;)',
      'alert tls any any -> any any (msg:"tls"; content:"a"; sid:3;)',
      'pass tcp any any -> any any (msg:"pass"; content:"a"; sid:4;)',
      'alert tcp $NOPE any -> any any (msg:"var"; content:"a"; sid:5;)',
      'alert tcp any any -> any any (msg:"backref"; pcre:"/(a)\\1/"; sid:6;)',
      'alert tcp any any -> any any (msg:"lookahead"; pcre:"/a(?=b)/"; sid:7;)',
      'alert tcp any any -> any any (msg:"class"; content:"a"; classtype:no-such-class; sid:8;)',
      'alert tcp any any -> any any (msg:"hex"; content:"|0g|"; sid:9;)',
      'alert tcp any any -> any any (msg:"nocase first"; nocase; content:"a"; sid:10;)',
      'alert tcp any any -> any any (msg:"no sid"; content:"a";)',
      'alert tcp any any -> any any (msg:"unterminated; content:"a"; sid:12;)',
      'alert tcp any any -> any any (msg:"mixed"; content:"a"; content:"b"; distance:0; depth:4; sid:13;)',
      'alert tcp any any -> any any (msg:"flow"; flow:only_stream; content:"a"; sid:14;)',
      'alert tcp any any -> any any (msg:"pcre flag"; pcre:"/a/Z"; sid:15;)',
      'alert tcp any any -> any any (msg:"byte_test again"; byte_test:1,=,1,0; sid:16;)',
    ].join('\n');
    const parsed = parseSignatures(rules, VARS);
    assert.deepEqual(parsed.signatures.map((s) => s.sid), [1]);
    assert.equal(parsed.total, 16);
    const bySid = Object.fromEntries(parsed.skipped.map((s) => [s.sid ?? `line ${s.line}`, s.reason]));
    assert.deepEqual(bySid, {
      2: "unsupported option 'byte_test'",
      3: "unsupported protocol 'tls'",
      4: "unsupported action 'pass'",
      5: 'unknown address variable $NOPE',
      6: 'pcre: backreferences (\\1) are not supported: user regexes run in RE2, a linear-time engine, which cannot match them',
      7: 'pcre: lookahead (?= is not supported: user regexes run in RE2, a linear-time engine, which cannot match it',
      8: 'unknown classtype',
      9: 'content has bad hex bytes between | |',
      10: "'nocase' without a content before it",
      'line 11': 'no sid',
      12: 'unterminated quoted string',
      13: 'content mixes offset/depth with distance/within',
      14: "unsupported flow option 'only_stream'",
      15: "pcre flag 'Z' not supported",
      16: "unsupported option 'byte_test'",
    });
  });

  it('the load report says loaded N of M rules and counts the reasons, naming sids', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sig-'));
    try {
      const file = path.join(dir, 'local.rules');
      fs.writeFileSync(file, [
        'alert tcp any any -> any any (msg:"ok"; content:"a"; sid:1;)',
        'alert tcp any any -> any any (msg:"x"; byte_test:1,=,1,0; sid:2;)',
        'alert tcp any any -> any any (msg:"y"; byte_jump:1,0; sid:3;)',
        'alert tcp any any -> any any (msg:"z"; byte_test:1,=,1,0; sid:4;)',
      ].join('\n'));
      const set = loadRuleSet({ ...defaultSources, includeDefaults: false, rulesFile: file, signatures: 'alert udp any any -> any 53 (msg:"dns"; content:"|00 01|"; sid:1;)' });
      assert.deepEqual(set.signatures.map((s) => s.sid), [1]);
      assert.deepEqual([set.report.loaded, set.report.total], [1, 5]);
      assert.equal(reportText(set.report), "loaded 1 of 5 rules; skipped 4: 2 × unsupported option 'byte_test' (sid 2, sid 4); 1 × unsupported option 'byte_jump' (sid 3); 1 × duplicate gid:sid (sid 1)");
      // The shipped JSON rules count too.
      const withDefaults = loadRuleSet({ ...defaultSources, rulesFile: file });
      assert.equal(withDefaults.report.loaded, withDefaults.json.length + 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells a rules file format by extension, else by content', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sig-'));
    try {
      const lang = path.join(dir, 'mine.txt');
      fs.writeFileSync(lang, '# local\nalert tcp any any -> any any (msg:"a"; content:"a"; sid:9;)\n');
      const json = path.join(dir, 'mine.conf');
      fs.writeFileSync(json, JSON.stringify([{ id: 'local.a', sid: 9000001, name: 'a', pattern: 'a' }]));
      assert.deepEqual(loadRuleSet({ ...defaultSources, includeDefaults: false, rulesFile: lang }).signatures.map((s) => s.sid), [9]);
      assert.deepEqual(loadRuleSet({ ...defaultSources, includeDefaults: false, rulesFile: json }).json.map((r) => r.id), ['local.a']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad $EXTERNAL_NET setting with the reason', () => {
    assert.throws(() => loadRuleSet({ ...defaultSources, externalNet: '[10.0.0.0/8' }), (err: unknown) => err instanceof RuleError && /externalNet: address list .* has no closing \]/.test(err.message));
  });
});
