import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DestinationPolicy, parsePolicy } from '../../../lib/net/destination-policy';
import type { FlowRecord } from '../../../lib/net/types';

const flow = (src: string, dst: string, dport = 443, device?: string): FlowRecord => ({
  proto: 'tcp', src, dst, sport: 40000, dport, origBytes: 0, origPackets: 0, replyBytes: 0, replyPackets: 0, start: 0, ...(device ? { device } : {}),
});

describe('destination policy', () => {
  const rules = [
    '# cameras may only reach the NVR and the vendor cloud',
    '*               = 192.168.4.1',
    '192.168.4.64/26 = 192.168.4.10, 203.0.113.0/24',
    'fd04::64        = 2001:db8::/32',
  ].join('\n');

  test('a covered device going elsewhere raises a policy alert naming device, destination and list', () => {
    const p = new DestinationPolicy({ rules, detector: 'ct' });
    const alerts = p.check([flow('192.168.4.70', '198.51.100.9', 8883)], 1000);
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.equal(a.rule, 'policy.destination');
    assert.equal(a.category, 'policy');
    assert.equal(a.src, '192.168.4.70');
    assert.equal(a.dst, '198.51.100.9');
    assert.equal(a.offender, '192.168.4.70', 'the device that broke its policy, not the destination');
    assert.equal(a.dport, 8883);
    assert.equal(a.detector, 'ct');
    assert.match(a.reason, /198\.51\.100\.9 port 8883\/tcp.*not in its allowlist \(192\.168\.4\.1\/32, 192\.168\.4\.10\/32, 203\.0\.113\.0\/24\)/);
  });

  test('allowed: the union of every rule covering the device; IPv6 rules', () => {
    const p = new DestinationPolicy({ rules });
    assert.deepEqual(p.check([flow('192.168.4.70', '203.0.113.5'), flow('192.168.4.70', '192.168.4.1'), flow('192.168.4.20', '192.168.4.1')]), []);
    assert.equal(p.check([flow('192.168.4.20', '203.0.113.5')]).length, 1, '* alone does not allow the camera cloud');
    assert.deepEqual(p.check([flow('fd04::64', '2001:db8:1::5')]), []);
    assert.equal(p.check([flow('fd04::64', '2001:db9::5')]).length, 1);
  });

  test('one alert per (device, destination) per cooldown, with the suppressed ones counted in the next', () => {
    const p = new DestinationPolicy({ rules, cooldownMs: 10_000 });
    assert.equal(p.check([flow('192.168.4.70', '198.51.100.9')], 0).length, 1);
    assert.equal(p.check([flow('192.168.4.70', '198.51.100.9'), flow('192.168.4.70', '198.51.100.9')], 1000).length, 0);
    assert.equal(p.check([flow('192.168.4.70', '198.51.100.10')], 1000).length, 1, 'another destination alerts');
    assert.equal(p.check([flow('192.168.4.71', '198.51.100.9')], 1000).length, 1, 'another device alerts');
    const later = p.check([flow('192.168.4.70', '198.51.100.9')], 20_000);
    assert.equal(later.length, 1);
    assert.equal(later[0].count, 3);
  });

  test('inbound (port-forwarded) flows check the remote peer', () => {
    const p = new DestinationPolicy({ rules });
    const a = p.check([flow('198.51.100.7', '10.0.0.2', 8080, '192.168.4.70')]);
    assert.equal(a.length, 1);
    assert.equal(a[0].src, '192.168.4.70');
    assert.equal(a[0].dst, '198.51.100.7');
    assert.match(a[0].reason, /accepted a connection from/);
  });

  test('no rules: nothing is checked; bad rules are refused with line numbers', () => {
    assert.deepEqual(new DestinationPolicy({ rules: '' }).check([flow('192.168.4.70', '198.51.100.9')]), []);
    assert.throws(() => parsePolicy('* = 10.0.0.0/8\n192.168.4.300 = 1.2.3.4\nnonsense'), /line 2: invalid CIDR '192\.168\.4\.300'.*line 3: expected 'DEVICE = DESTINATIONS'/);
    assert.throws(() => parsePolicy('* = 10.0.0.0/33'), /line 1: .*prefix length must be 0-32/);
  });
});
