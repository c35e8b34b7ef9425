import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isValidIp, normalizeIp, parseCidr, parseCidrList, cidrContains, CidrSet, ipFamily } from '../../../lib/base/cidr';

describe('cidr', () => {
  it('accepts IPv4 and IPv6 addresses and refuses look-alikes', () => {
    for (const ok of ['0.0.0.0', '192.168.1.10', '255.255.255.255', '::', '::1', 'fe80::1%eth0', '2001:db8::8:800:200c:417a', '::ffff:10.0.0.1']) {
      assert.ok(isValidIp(ok), ok);
    }
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', ':::', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '10.0.0.1; rm -rf /', '-j ACCEPT']) {
      assert.ok(!isValidIp(bad), bad);
    }
    assert.equal(ipFamily('10.1.2.3'), 4);
    assert.equal(ipFamily('fd00::1'), 6);
  });

  it('prints IPv6 in RFC 5952 canonical form', () => {
    assert.equal(normalizeIp('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    assert.equal(normalizeIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(normalizeIp('0:0:0:0:0:0:0:0'), '::');
    assert.equal(normalizeIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
    assert.throws(() => normalizeIp('nope'), /invalid IP address 'nope'/);
  });

  it('parses CIDRs, clears host bits and names the fault', () => {
    assert.equal(parseCidr('192.168.1.77/24').text, '192.168.1.0/24');
    assert.equal(parseCidr('10.0.0.1').text, '10.0.0.1/32');
    assert.equal(parseCidr('fd00:1::5/32').text, 'fd00:1::/32');
    assert.throws(() => parseCidr('10.0.0.0/33'), /prefix length must be 0-32/);
    assert.throws(() => parseCidr('fd00::/129'), /prefix length must be 0-128/);
    assert.throws(() => parseCidr('10.0.0/8'), /not an IPv4 or IPv6 address/);
    assert.throws(() => parseCidrList('10.0.0.0/8, bogus, 1.2.3.4/40'), /bogus.*prefix length/);
    assert.equal(parseCidrList('10.0.0.0/8,\n fd00::/8  192.168.0.0/16').length, 3);
  });

  it('matches members of IPv4 and IPv6 ranges', () => {
    const c = parseCidr('172.16.0.0/12');
    assert.ok(cidrContains(c, '172.31.255.1'));
    assert.ok(!cidrContains(c, '172.32.0.1'));
    assert.ok(!cidrContains(c, 'fd00::1'));
    const set = new CidrSet('10.0.0.0/8, 192.168.1.5, fd00::/8, 0.0.0.0/32');
    assert.ok(set.has('10.200.3.4'));
    assert.ok(set.has('192.168.1.5'));
    assert.ok(!set.has('192.168.1.6'));
    assert.ok(set.has('fd12:3456::1'));
    assert.ok(!set.has('fe80::1'));
    assert.ok(!set.has('not-an-ip'));
    assert.ok(!new CidrSet([]).has('10.0.0.1'));
    assert.ok(new CidrSet(['0.0.0.0/0']).has('203.0.113.9'));
  });
});
