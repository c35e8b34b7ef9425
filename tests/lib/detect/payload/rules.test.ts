import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Packet } from '../../../../lib/packet/types';
import { compileRules, parsePorts, parseRulesJson, loadRulesFile, mergeRules, RuleError } from '../../../../lib/detect/payload/rules';
import { PayloadDetector, defaultRules } from '../../../../lib/detect/payload/detector';
import { urlDecodeOnce, urlDecodings, looksLikeHttpRequest } from '../../../../lib/detect/payload/urldecode';
import { hexExcerpt, printable } from '../../../../lib/detect/payload/evidence';

function pkt(text: string, o: Partial<Packet> = {}): Packet {
  const payload = Buffer.from(text, 'latin1');
  return { ts: 1_700_000_000_000, len: payload.length + 54, caplen: payload.length + 54, ip: 4, src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', sport: 43512, dport: 80, payload, ...o };
}

const rule = (o: Record<string, unknown> = {}): Record<string, unknown> => ({ id: 'local.test', sid: 9000001, name: 'test rule', pattern: 'evil', ...o });

function refused(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof RuleError, `expected RuleError, got ${err.name}: ${err.message}`);
    assert.match(err.message, re);
    return true;
  });
}

describe('rule validation', () => {
  it('fills defaults for optional fields', () => {
    const [r] = compileRules([rule()]);
    assert.deepEqual({ severity: r.severity, category: r.category, regex: r.regex, nocase: r.nocase, proto: r.proto, direction: r.direction, action: r.action, decode: r.decode, ports: r.ports }, { severity: 'medium', category: 'payload', regex: false, nocase: true, proto: 'any', direction: 'any', action: 'alert', decode: true, ports: null });
  });

  it('treats a literal pattern literally', () => {
    const [r] = compileRules([rule({ pattern: 'a.b(c)*' })]);
    assert.ok(new RegExp(r.source).test('xa.b(c)*y'));
    assert.ok(!new RegExp(r.source).test('axbcc'));
  });

  it('refuses an invalid regex naming the rule and the problem', () => {
    refused(() => compileRules([rule({ id: 'local.bad', pattern: 'union(select', regex: true })]), /rule 'local\.bad': pattern is not a valid regular expression: .*(Unterminated group|unterminated|missing \))/i);
  });

  it('refuses patterns that match empty text, bad backreferences, bad fields', () => {
    refused(() => compileRules([rule({ pattern: 'a*', regex: true })]), /'local\.test': pattern matches empty text/);
    refused(() => compileRules([rule({ pattern: 'x', regex: true, anchors: ['x', ''] })]), /'local\.test': anchors must be a list of up to 256 non-empty strings/);
    refused(() => compileRules([rule({ severity: 'critical' })]), /'local\.test': severity must be one of high, medium, low/);
    refused(() => compileRules([rule({ sid: 0 })]), /sid must be a positive integer/);
    refused(() => compileRules([rule({ id: 'bad id!' })]), /id must be text/);
    refused(() => compileRules([rule({ patern: 'x' })]), /unknown field "patern"/);
    refused(() => compileRules([rule({ dport: '80-70' })]), /'local\.test': dport: port range "80-70" is reversed/);
    refused(() => compileRules([rule({ ports: 'http' })]), /ports: port "http" is not a port/);
    refused(() => compileRules([rule(), rule({ sid: 2 })]), /id used twice/);
    refused(() => compileRules([rule(), rule({ id: 'other' })]), /sid 9000001 already used by 'local\.test'/);
    refused(() => compileRules([{ sid: 1 }]), /rule #1: id must be text/);
    refused(() => compileRules({ nope: 1 }), /expected a JSON array of rules/);
    refused(() => parseRulesJson('[{"id": ', 'editor rules'), /editor rules: not valid JSON/);
  });

  it('matches literal patterns as UTF-8 bytes and refuses non-latin1 characters in regexes', () => {
    const det = new PayloadDetector('pm', { includeDefaults: false, rules: [rule({ pattern: 'пароль' })] });
    const payload = Buffer.from('POST / HTTP/1.1\r\n\r\nq=пароль', 'utf8');
    assert.deepEqual(det.process([{ ...pkt(''), payload }]).map((a) => a.rule), ['local.test']);
    refused(() => compileRules([rule({ pattern: 'пар.ль', regex: true })]), /beyond latin1; payloads are bytes, so write them as \\xNN/);
  });

  it('parses port lists and ranges', () => {
    assert.deepEqual(parsePorts('80, 443,8000-8100'), [[80, 80], [443, 443], [8000, 8100]]);
    assert.deepEqual(parsePorts([22, '2222']), [[22, 22], [2222, 2222]]);
    assert.equal(parsePorts('any'), null);
    assert.throws(() => parsePorts('70000'), /above 65535/);
  });

  it('lets a user rule replace a default rule by id, and skips disabled rules', () => {
    const user = compileRules([{ id: 'payload.xss.script', sid: 3000101, name: 'mine', pattern: '<script', action: 'drop' }, rule({ enabled: false })]);
    const merged = mergeRules(defaultRules(), user);
    assert.equal(merged.length, defaultRules().length);
    assert.equal(merged.find((r) => r.id === 'payload.xss.script')?.name, 'mine');
    refused(() => mergeRules(defaultRules(), compileRules([rule({ sid: 3000001 })])), /sid 3000001 already used by 'payload\.sqli\.union'/);
  });
});

describe('rules file', () => {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-rules-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads rules from a JSON file ({ "rules": [...] } or a bare array)', () => {
    const file = path.join(dir, 'rules.json');
    fs.writeFileSync(file, JSON.stringify({ rules: [rule({ pattern: 'secret-token', action: 'drop' })] }));
    const rules = loadRulesFile(file);
    assert.equal(rules.length, 1);
    assert.equal(rules[0].action, 'drop');
    const det = new PayloadDetector('pm', { includeDefaults: false, rulesFile: file });
    const alerts = det.process([pkt('POST / HTTP/1.1\r\n\r\nsecret-token=1')]);
    assert.deepEqual(alerts.map((a) => a.rule), ['local.test']);
  });

  it('names the file and the problem when it is missing or broken', () => {
    refused(() => loadRulesFile(path.join(dir, 'missing.json')), /rules file .*missing\.json: cannot read: ENOENT/);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify([rule({ pattern: '[a-', regex: true })]));
    refused(() => loadRulesFile(bad), /rules file .*bad\.json: rule 'local\.test': pattern is not a valid regular expression/);
    assert.throws(() => new PayloadDetector('pm', { rulesFile: bad }), /bad\.json: rule 'local\.test'/);
  });

  it('reloads the file when a config message names it again, keeping the old rules if the new file is bad', () => {
    const file = path.join(dir, 'reload.json');
    fs.writeFileSync(file, JSON.stringify([rule({ pattern: 'first' })]));
    const det = new PayloadDetector('pm', { includeDefaults: false, rulesFile: file, cooldownS: 0 });
    assert.equal(det.process([pkt('x first x')]).length, 1);
    fs.writeFileSync(file, JSON.stringify([rule({ pattern: 'second' })]));
    det.configure({ rulesFile: file });
    assert.equal(det.process([pkt('x first x')]).length, 0);
    assert.equal(det.process([pkt('x second x')]).length, 1);
    fs.writeFileSync(file, '[{"id": "local.test", "sid": 1, "name": "x", "pattern": "(", "regex": true}]');
    assert.throws(() => det.configure({ rulesFile: file }), /pattern is not a valid regular expression/);
    assert.equal(det.process([pkt('x second x')]).length, 1, 'old rules still active');
  });

  it('resolves a relative path from the base directory', () => {
    fs.writeFileSync(path.join(dir, 'rel.json'), JSON.stringify([rule()]));
    const det = new PayloadDetector('pm', { includeDefaults: false, rulesFile: 'rel.json' }, dir);
    assert.equal(det.rules.length, 1);
  });
});

describe('URL decoding', () => {
  it('decodes %XX and + once and leaves bad escapes alone', () => {
    assert.equal(urlDecodeOnce(Buffer.from('a%20b+c%2'))?.bytes.toString('latin1'), 'a b c%2');
    assert.equal(urlDecodeOnce(Buffer.from('%zz%4')), null);
    assert.equal(urlDecodeOnce(Buffer.from('%c0%af'))?.bytes.toString('latin1'), '\xc0\xaf');
  });

  it('decodes a second time only when escapes remain, with offsets into the raw bytes', () => {
    const forms = urlDecodings(Buffer.from('x=%252e%252E%252f'), true);
    assert.deepEqual(forms.map((f) => f.bytes.toString('latin1')), ['x=%2e%2E%2f', 'x=../']);
    assert.deepEqual([...(forms[1].map as Int32Array)], [0, 1, 2, 7, 12]);
    assert.equal(urlDecodings(Buffer.from('a+b')).length, 1);
    assert.equal(urlDecodings(Buffer.from('plain')).length, 0);
  });

  it('recognises HTTP request lines', () => {
    assert.ok(looksLikeHttpRequest(Buffer.from('GET / HTTP/1.1')));
    assert.ok(looksLikeHttpRequest(Buffer.from('OPTIONS * HTTP/1.1')));
    assert.ok(!looksLikeHttpRequest(Buffer.from('HTTP/1.1 200 OK')));
    assert.ok(!looksLikeHttpRequest(Buffer.from('GE')));
  });
});

describe('evidence', () => {
  it('makes matched text printable and bounded', () => {
    assert.equal(printable('a\x00b\r\n\\'), 'a\\x00b\\r\\n\\\\');
    assert.equal(printable('x'.repeat(300), 10), `${'x'.repeat(10)}…`);
  });

  it('dumps 16-byte lines around the match', () => {
    const buf = Buffer.alloc(200, 0x41);
    buf.write('<script>', 100, 'latin1');
    const lines = hexExcerpt(buf, 100, 108, 32).split('\n');
    assert.equal(lines[0].slice(0, 6), '0040  ');
    assert.equal(lines.length, 5);
    assert.match(lines[2], /^0060 {2}41 41 41 41 3c 73 63 72 {2}69 70 74 3e 41 41 41 41 {2}\|AAAA<script>AAAA\|$/);
    const short = hexExcerpt(Buffer.from('ab'), 0, 2).split('\n');
    assert.equal(short.length, 1);
    assert.match(short[0], /^0000 {2}61 62 +\|ab\|$/);
  });
});
