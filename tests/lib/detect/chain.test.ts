/**
 * The detector chain of the shipped flows (lib/detect/chain.ts): settings
 * keyed by node type, checked by each node's schema; the three detectors in
 * series; reset between analyses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANALYST_CHAIN, chainSettings, DetectorChain, DETECTOR_CHAIN } from '../../../lib/detect/chain';
import { arpPacket } from '../../support/lan-frames';
import { SettingsError } from '../../../lib/base/settings';
import { floodSchema } from '../../../lib/detect/flood';
import { echoPkt, tcpPkt } from '../../support/packets';

const ATK = '10.9.0.66';
const VIC = '10.9.0.1';

test('the chain is flood-detect, scan-detect, payload-match, in that order; the analyst chain adds lan-watch', () => {
  assert.deepEqual(DETECTOR_CHAIN.map((s) => s.type), ['flood-detect', 'scan-detect', 'payload-match']);
  assert.deepEqual(ANALYST_CHAIN.map((s) => s.type), ['flood-detect', 'scan-detect', 'payload-match', 'lan-watch']);
});

test('the chain reports ARP spoofing in a capture: two MACs claiming the gateway address', () => {
  const chain = new DetectorChain(chainSettings({ 'lan-watch': { gateways: '10.9.0.1' } }));
  const gw = '02:00:00:00:00:01';
  const liar = '02:00:00:00:00:66';
  const alerts = chain.process([arpPacket(1000, 1, '02:00:00:00:00:20', '10.9.0.20', '', VIC), arpPacket(1001, 2, gw, VIC, '02:00:00:00:00:20', '10.9.0.20'),
    arpPacket(2000, 2, liar, VIC, '02:00:00:00:00:20', '10.9.0.20')]);
  assert.deepEqual(alerts.map((a) => [a.rule, a.detector, a.offender]), [['lan.spoof.gateway', 'lan-watch', liar]]);
});

test('chainSettings: every node type gets its schema defaults, with the given keys over them', () => {
  const s = chainSettings({ 'flood-detect': { icmpSrc: '7', allowlist: '10.0.0.0/8' } });
  assert.deepEqual(Object.keys(s), ['flood-detect', 'scan-detect', 'payload-match', 'lan-watch']);
  assert.equal((s['flood-detect'] as { icmpSrc: number }).icmpSrc, 7);
  assert.deepEqual((s['flood-detect'] as { allowlist: string[] }).allowlist, ['10.0.0.0/8']);
  assert.equal((s['flood-detect'] as { synSrc: number }).synSrc, floodSchema.synSrc.default);
  assert.equal((s['payload-match'] as { maxTracked: number }).maxTracked, 50_000);
});

test('chainSettings names every unknown node type, unknown key and bad value at once', () => {
  assert.throws(
    () => chainSettings({ flood: {}, 'flood-detect': { synsrc: 1, icmpSrc: -1 }, 'scan-detect': { oddFlags: 'yes' } }),
    (err: unknown) => {
      assert.ok(err instanceof SettingsError);
      const text = err.reasons.join('\n');
      assert.match(text, /unknown node type 'flood'/);
      assert.match(text, /^flood-detect: unknown setting 'synsrc'/m);
      assert.match(text, /^flood-detect: icmpSrc must be >= 0, got -1/m);
      assert.match(text, /^scan-detect: oddFlags must be true or false/m);
      return true;
    },
  );
  assert.throws(() => chainSettings([]), SettingsError);
  assert.throws(() => chainSettings({ 'scan-detect': 5 }), /scan-detect: settings must be an object/);
});

test('a payload-match rule that cannot be used fails the chain with the node type named', () => {
  const settings = chainSettings({ 'payload-match': { rules: [{ id: 'x', sid: 1, name: 'x', pattern: '(', regex: true }] } });
  assert.throws(() => new DetectorChain(settings), /RuleError: payload-match: .*not a valid regular expression/);
});

test('process runs every detector on the batch; reset forgets windows and cooldowns, as before each file of the analyst flow', () => {
  const chain = new DetectorChain();
  // An ICMP flood (flood-detect) and XMAS-flagged packets (scan-detect) in one batch.
  const batch = [
    ...Array.from({ length: 120 }, (_, i) => echoPkt(1000 + i, ATK, VIC)),
    tcpPkt(1200, ATK, VIC, 40000, 21, 'FPU'),
  ];
  const rules = (alerts: { rule: string }[]) => alerts.map((a) => a.rule).sort();
  const first = chain.process(batch);
  assert.deepEqual(rules(first), ['flood.icmp.dst', 'flood.icmp.src', 'scan.xmas']);
  assert.deepEqual(chain.process(batch.map((p) => ({ ...p }))), [], 'the same packets again fall in the cooldowns');
  chain.reset();
  assert.deepEqual(rules(chain.process(batch.map((p) => ({ ...p })))), rules(first));
});
