/**
 * Every user regex runs in RE2 (linear time): a catastrophic pattern on a
 * 100 KB payload finishes, and the chain goes on matching the next packets.
 * (Through V8's backtracking engine `(a+)+$` on 100 KB of 'a' then '!'
 * would not finish in our lifetime, so this test would hang instead of fail.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Packet } from '../../../../lib/packet/types';
import { chainSettings, DetectorChain } from '../../../../lib/detect/chain';
import { compileRules } from '../../../../lib/detect/payload/rules';
import { compileUserRegex } from '../../../../lib/detect/payload/user-regex';

function pkt(payload: string, ts: number, sport = 43512): Packet {
  const b = Buffer.from(payload, 'latin1');
  return { ts, len: b.length + 54, caplen: b.length + 54, ip: 4, src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', sport, dport: 80, flags: 'PA', payload: b };
}

describe('user regexes in RE2', () => {
  it('a catastrophic pattern on a 100 KB payload: the chain finishes and keeps matching', () => {
    const chain = new DetectorChain(chainSettings({
      'payload-match': {
        cooldownS: 0,
        rules: JSON.stringify([{ id: 'local.redos', sid: 9000001, name: 'nested quantifier', pattern: '(a+)+$', regex: true, nocase: false }]),
        signatures: 'alert tcp any any -> any any (msg:"pcre redos"; pcre:"/^(a|aa)+$/"; sid:9100001;)',
      },
    }));
    const evil = pkt(`${'a'.repeat(100_000)}!`, 1_700_000_000_000);
    const after = pkt('xaaaa', 1_700_000_000_010, 43513);
    const plain = pkt('aaaa', 1_700_000_000_020, 43514);
    const alerts = chain.process([evil, after, plain]);
    const got = alerts.filter((a) => a.sid >= 9000000).map((a) => `${a.rule} ${a.sport}`).sort();
    assert.deepEqual(got, ['local.redos 43513', 'local.redos 43514', 'sig:1:9100001 43514']);
  });

  it('refuses constructs RE2 cannot run, with the reason, in JSON rules as in pcre', () => {
    const rule = (pattern: string): unknown => [{ id: 'local.x', sid: 9000001, name: 'x', pattern, regex: true }];
    assert.throws(() => compileRules(rule('(ab)\\1')), /rule 'local\.x': pattern is not a valid regular expression: backreferences \(\\1\) are not supported: user regexes run in RE2/);
    assert.throws(() => compileRules(rule('(?<!x)y')), /lookbehind \(\?<! is not supported/);
    assert.throws(() => compileRules(rule('a(?!b)')), /lookahead \(\?! is not supported/);
    assert.throws(() => compileRules(rule('a++')), /possessive quantifiers/);
    // Inside a character class these are ordinary characters.
    assert.doesNotThrow(() => compileRules(rule('[(?=]x')));
  });

  it('maps the flags: i, s, m', () => {
    assert.ok(compileUserRegex('^b.c$', 'sm').test('a\nb\nc'));
    assert.ok(!compileUserRegex('^b.c$', 'm').test('a\nb\nc'));
    assert.ok(compileUserRegex('ABC', 'i').test('xabcx'));
    // Bytes above 0x7f, as latin1 text.
    assert.ok(compileUserRegex('\\xff\\x00').test('a\xff\x00b'));
  });
});
