/**
 * One pass for many rules: 5,000 generated rules cost per packet little more
 * than 50 do, counted as the rules the engine looks at (prefilter candidates
 * and rules verified), not as time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Packet } from '../../../../../lib/packet/types';
import { SignatureEngine } from '../../../../../lib/detect/payload/signature/engine';
import { StreamInspector, streamSchema, streamSettings } from '../../../../../lib/detect/stream/inspector';
import { defaultsOf } from '../../../../../lib/base/settings';
import { parseSignatures } from '../../../../../lib/detect/payload/signature/parse';
import { ruleVars } from '../../../../../lib/detect/payload/signature/vars';
import { generatedRules } from '../../../../support/generated-rules';

const VARS = ruleVars({ homeNet: ['10.0.0.0/8'], externalNet: '!$HOME_NET', httpPorts: [80, 8080] });
function traffic(): Packet[] {
  const out: Packet[] = [];
  const mk = (i: number, text: string, o: Partial<Packet> = {}): Packet => {
    const payload = Buffer.from(text, 'latin1');
    return { ts: 1_700_000_000_000 + i, len: payload.length + 54, caplen: payload.length + 54, ip: 4, src: '198.51.100.7', dst: '10.0.9.1', proto: 'tcp', sport: 40000 + i, dport: 80, flags: 'PA', payload, ...o };
  };
  for (let i = 0; i < 400; i++) {
    out.push(mk(i, `GET /static/app.${i}.js?v=${i} HTTP/1.1\r\nHost: shop.lan\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n`));
    out.push(mk(i, `HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n<html>${i}</html>`, { src: '10.0.9.1', dst: '198.51.100.7', sport: 80, dport: 40000 + i }));
  }
  // Attacks on three of the first 50 rules' patterns.
  out.push(mk(900, 'GET /app8/admin.php?id=1 HTTP/1.1\r\nHost: a\r\n\r\n'));
  out.push(mk(901, 'POST /x HTTP/1.1\r\nHost: a\r\n\r\nPROBE-1-X77'));
  out.push(mk(902, 'junk\x00\x01q3z', { proto: 'udp', dport: 53, flags: undefined }));
  return out;
}

function run(count: number): { work: number; hits: string[] } {
  const parsed = parseSignatures(generatedRules(count), VARS);
  assert.equal(parsed.signatures.length, count, JSON.stringify(parsed.skipped.slice(0, 3)));
  const engine = new SignatureEngine(parsed.signatures);
  const streams = new StreamInspector(streamSettings(defaultsOf(streamSchema)));
  const hits: string[] = [];
  for (const p of traffic()) for (const u of streams.inspect(p)) for (const h of engine.match(u)) hits.push(`${h.sig.sid}`);
  return { work: engine.counters.candidates + engine.counters.verified, hits: hits.sort() };
}

describe('rule-language prefilter', () => {
  it('5,000 rules cost per packet far less than 100 × what 50 rules cost', () => {
    const small = run(50);
    const large = run(5000);
    assert.deepEqual(small.hits, ['5000001', '5000003', '5000008']);
    assert.deepEqual(large.hits, small.hits);
    // Without the prefilter every rule whose header applies is verified on every packet: about 800 × 5,000 × ¾.
    assert.ok(large.work < small.work * 3, `work with 5,000 rules ${large.work}, with 50 ${small.work}`);
    assert.ok(large.work < 100, `work with 5,000 rules ${large.work}`);
    console.log(`rules looked at over ${traffic().length} packets: 50 rules ${small.work}, 5,000 rules ${large.work}`);
  });
});
