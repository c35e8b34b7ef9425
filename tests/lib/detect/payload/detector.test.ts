import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Packet } from '../../../../lib/packet/types';
import { PayloadDetector } from '../../../../lib/detect/payload/detector';

let clock = 1_700_000_000_000;
function pkt(text: string, o: Partial<Packet> = {}): Packet {
  const payload = Buffer.from(text, 'latin1');
  clock += 10;
  return { ts: clock, len: payload.length + 54, caplen: payload.length + 54, ip: 4, src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', sport: 43512, dport: 80, payload, ...o };
}
const get = (q: string): string => `GET /p?${q} HTTP/1.1\r\nHost: x\r\n\r\n`;

describe('PayloadDetector', () => {
  it('raises an alert with rule, sid, signature, source, reason and evidence', () => {
    const det = new PayloadDetector('web ips');
    const [a, ...rest] = det.process([pkt(get('id=1%20UNION%20SELECT%201'), { srcMac: '02:00:00:00:00:02' })]);
    assert.equal(rest.length, 0);
    assert.equal(a.rule, 'payload.sqli.union');
    assert.equal(a.sid, 3000001);
    assert.equal(a.category, 'payload');
    assert.equal(a.severity, 'high');
    assert.equal(a.action, 'alert');
    assert.deepEqual([a.src, a.sport, a.dst, a.dport, a.proto, a.srcMac, a.count, a.detector], ['10.0.0.2', 43512, '10.0.0.1', 80, 'tcp', '02:00:00:00:00:02', 1, 'web ips']);
    assert.match(a.reason, /^HTTP uri from 10\.0\.0\.2:43512 to 10\.0\.0\.1:80 matched rule payload\.sqli\.union \(sid 3000001\): "UNION SELECT"/);
    assert.match(a.evidence ?? '', /^matched "UNION SELECT" in http\.uri at bytes 8-20 of 22\n0000 {2}2f 70 3f 69 64 3d 31 20/);
  });

  it('counts repeated hits of one rule and source into one alert per cooldown', () => {
    const det = new PayloadDetector('pm', { cooldownS: 60 });
    const batch = Array.from({ length: 5 }, () => pkt(get('q=<script>')));
    assert.equal(det.process(batch).length, 1);
    const other = det.process([pkt(get('q=<script>'), { src: '10.0.0.3' })]);
    assert.deepEqual(other.map((a) => a.src), ['10.0.0.3']);
    assert.equal(det.stats.suppressed, 4);
    // Past the cooldown the next hit carries the suppressed ones.
    const later = det.process([pkt(get('q=<script>'), { ts: clock + 61_000 })]);
    assert.ok(later.some((a) => a.src === '10.0.0.2' && a.count >= 4), JSON.stringify(later.map((a) => [a.src, a.count])));
  });

  it('in inline mode drops only packets matching rules whose action is drop', () => {
    const det = new PayloadDetector('pm', { action: 'drop' });
    const sqli = pkt(get('id=1 union select 1'));
    const xss = pkt(get('q=<script>'), { src: '10.0.0.7' });
    const ok = pkt(get('q=shoes'));
    const alerts = det.process([sqli, xss, ok]);
    assert.equal(sqli.verdict, 'drop');
    assert.equal(xss.verdict, undefined);
    assert.equal(ok.verdict, undefined);
    assert.deepEqual(alerts.map((a) => [a.rule, a.action]).sort(), [['payload.sqli.union', 'drop'], ['payload.xss.script', 'alert']]);
    assert.equal(det.stats.dropped, 1);
    assert.equal(det.stats.packets, 3);
  });

  it('never drops in detect mode, even for drop rules', () => {
    const det = new PayloadDetector('pm', { action: 'alert' });
    const p = pkt(get('id=1 union select 1'));
    const [a] = det.process([p]);
    assert.equal(p.verdict, undefined);
    assert.equal(a.action, 'alert');
  });

  it('ignores allowlisted sources', () => {
    const det = new PayloadDetector('pm', { allowlist: '10.0.0.0/29', action: 'drop' });
    const p = pkt(get('id=1 union select 1'));
    assert.equal(det.process([p]).length, 0);
    assert.equal(p.verdict, undefined);
  });

  it('takes rules from the editor field and refuses a bad one at runtime, keeping the old rules', () => {
    const det = new PayloadDetector('pm', { includeDefaults: false, rules: JSON.stringify([{ id: 'local.a', sid: 9000001, name: 'A', pattern: 'alpha' }]), cooldownS: 0 });
    assert.deepEqual(det.process([pkt('an alpha here')]).map((a) => a.rule), ['local.a']);
    assert.throws(() => det.configure({ rules: [{ id: 'local.b', sid: 9000002, name: 'B', pattern: 'beta(', regex: true }] }), /rule 'local\.b': pattern is not a valid regular expression/);
    assert.throws(() => det.configure({ rules: '[]', cooldownS: -1 }), /cooldownS must be >= 0/);
    assert.deepEqual(det.process([pkt('an alpha here')]).map((a) => a.rule), ['local.a']);
    assert.equal(det.settings.cooldownS, 0);
    det.configure({ rules: [{ id: 'local.b', sid: 9000002, name: 'B', pattern: 'beta' }], includeDefaults: true });
    assert.deepEqual(det.process([pkt(get('q=beta <script>'))]).map((a) => a.rule).sort(), ['local.b', 'payload.xss.script']);
    assert.throws(() => det.configure({ includeDefaults: 'yes' }), /includeDefaults must be true or false/);
    assert.throws(() => det.configure({ rules: 42 }), /rules must be JSON text, an array of rule objects/);
    det.configure({ rules: { rules: [{ id: 'local.c', sid: 9000003, name: 'C', pattern: 'gamma' }] }, includeDefaults: false });
    assert.deepEqual(det.process([pkt('gamma beta')]).map((a) => a.rule), ['local.c']);
  });

  it('refuses an invalid editor config with the reason', () => {
    assert.throws(() => new PayloadDetector('pm', { rules: '[{"id":"x.y","sid":1,"name":"n","pattern":"[","regex":true}]' }), /editor rules: rule 'x\.y': pattern is not a valid regular expression/);
    assert.throws(() => new PayloadDetector('pm', { action: 'block' }), /action must be one of alert, drop/);
  });

  it('handles packets without ports or payload', () => {
    const det = new PayloadDetector('pm');
    const arp: Packet = { ts: 1, len: 42, caplen: 42, ip: 0, src: '10.0.0.1', dst: '10.0.0.2', proto: 'arp', payload: Buffer.alloc(0) };
    assert.deepEqual(det.process([arp, pkt('')]), []);
  });
});
