/**
 * Threat-list reading and the range sets: each list format as the
 * publishers write it, the most specific entry of nested networks, the same
 * membership as the simple CidrSet on random data, and what is left for the
 * kernel once the allowlist is cut out.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet } from '../../../lib/base/cidr';
import { IpRangeSetBuilder, intervalToCidrs, mergeIntervals, subtractIntervals } from '../../../lib/base/ip-ranges';
import { parseList } from '../../../lib/net/reputation/parse';
import { parseSources } from '../../../lib/net/reputation/list';

const entriesOf = (text: string, format?: Parameters<typeof parseList>[1]): string[] => [...parseList(text, format).builder.build().entries()];

describe('list formats', () => {
  it('reads FireHOL netsets, ET and CINS lists: addresses and CIDRs, # and ; comments, blank lines', () => {
    const firehol = '#\n# firehol_level1\n#\n# Maintainer      : FireHOL\n0.0.0.0/8\n1.10.16.0/20\n\n5.188.10.179\n';
    assert.deepEqual(entriesOf(firehol), ['0.0.0.0/8', '1.10.16.0/20', '5.188.10.179/32']);
    assert.deepEqual(entriesOf('; CINS army\n185.220.101.4\n2001:db8:0:0::7\n', 'plain'), ['185.220.101.4/32', '2001:db8::7/128']);
  });

  it('reads Spamhaus DROP as text and as JSON lines, skipping the metadata line', () => {
    const text = '; Spamhaus DROP List 2024/01/01\n; Last-Modified: Mon, 01 Jan 2024\n1.10.16.0/20 ; SBL256894\n1.19.0.0/16 ; SBL434604\n';
    assert.deepEqual(entriesOf(text, 'spamhaus-drop'), ['1.10.16.0/20', '1.19.0.0/16']);
    const json = '{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}\n{"cidr":"2a06:e480::/29","sblid":"SBL301771","rir":"ripencc"}\n{"type":"metadata","timestamp":1704067200,"size":2,"records":2}\n';
    const parsed = parseList(json, 'spamhaus-json');
    assert.equal(parsed.bad, 0);
    assert.deepEqual([...parsed.builder.build().entries()], ['1.10.16.0/20', '2a06:e480::/29']);
  });

  it('reads Feodo Tracker text and CSV (the address is the second quoted field)', () => {
    const text = '################\n# abuse.ch Feodo Tracker Botnet C2 IP Blocklist #\n################\n51.178.161.32\n162.243.103.246\n# END 2 entries\n';
    assert.deepEqual(entriesOf(text, 'feodo'), ['51.178.161.32/32', '162.243.103.246/32']);
    const csv = '################\n# "first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"\n"2021-01-17 07:44:46","51.178.161.32","4643","online","2024-01-01","Dridex"\n"2021-02-01 10:00:00","162.243.103.246","8080","offline","2023-12-31","Emotet"\n';
    const parsed = parseList(csv, 'feodo-csv');
    assert.equal(parsed.bad, 0);
    assert.deepEqual([...parsed.builder.build().entries()], ['51.178.161.32/32', '162.243.103.246/32']);
    assert.deepEqual(entriesOf(csv), ['51.178.161.32/32', '162.243.103.246/32'], 'auto reads the CSV too');
  });

  it('counts lines that are not entries, with samples: an HTML error page is nothing but bad lines', () => {
    const parsed = parseList('<html>\n<body>Service unavailable</body>\n</html>\n1.2.3.4/33\n01.2.3.4\n');
    assert.equal(parsed.entries, 0);
    assert.equal(parsed.bad, 5);
    assert.deepEqual(parsed.badSamples, ['<html>', '<body>Service unavailable</body>', '</html>']);
  });

  it('a sources setting with mistakes is refused naming each', () => {
    assert.throws(() => parseSources('[{"name":"a b","url":"https://x/y"},{"name":"ok","url":"ftp://x"},{"name":"t","url":"/l","severity":"huge"},{"name":"r","url":"/l","refreshS":5}]'),
      /source 1: name must be.*ok: url must be.*t: severity must be.*r: refreshS must be/);
    assert.deepEqual(parseSources('[{"name":"feodo","url":"/var/lib/feodo.txt"}]'), [{ name: 'feodo', url: '/var/lib/feodo.txt', format: 'auto', category: 'custom', severity: 'high', refreshS: 86_400 }]);
  });
});

describe('IpRangeSet', () => {
  it('finds the most specific of nested networks, and the enclosing one around a hole', () => {
    const b = new IpRangeSetBuilder();
    for (const c of ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '10.2.0.0/16', '0.0.0.0/0', '2001:db8::/32', '2001:db8:1::/48']) assert.ok(b.add(c));
    assert.equal(b.add('10.0.0.0/40'), false);
    assert.equal(b.add('not-an-ip'), false);
    const s = b.build();
    const at = (ip: string): string => s.entryText(s.find(ip));
    assert.equal(at('10.1.2.3'), '10.1.2.3/32');
    assert.equal(at('10.1.2.4'), '10.1.0.0/16');
    assert.equal(at('10.3.0.1'), '10.0.0.0/8');
    // Past 10.2.0.0/16 (the last start below it), the walk goes up to 10/8.
    assert.equal(at('10.200.0.1'), '10.0.0.0/8');
    assert.equal(at('11.0.0.1'), '0.0.0.0/0');
    assert.equal(at('2001:db8:1:2::1'), '2001:db8:1::/48');
    assert.equal(at('2001:db8:2::1'), '2001:db8::/32');
    assert.equal(s.find('2001:db9::1'), -1);
    assert.equal(s.find4((10 << 24) | 1), s.find('10.0.0.1'), 'numeric lookup as the decoder gives src4 (signed)');
    assert.equal(s.find4(-1062731775 /* 192.168.0.1 as a signed int */), s.find('192.168.0.1'));
  });

  it('agrees with CidrSet on 20,000 random addresses against 3,000 random nested IPv4 and IPv6 networks', () => {
    // mulberry32: a seeded generator, so a failure can be replayed.
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
    };
    const cidrs: string[] = [];
    for (let i = 0; i < 2500; i++) cidrs.push(`${10 + rnd(4)}.${rnd(256)}.${rnd(256)}.${rnd(256)}/${18 + rnd(15)}`);
    for (let i = 0; i < 500; i++) cidrs.push(`2001:db8:${rnd(4).toString(16)}:${rnd(65536).toString(16)}::/${48 + rnd(81)}`);
    const simple = new CidrSet(cidrs);
    const b = new IpRangeSetBuilder();
    for (const c of cidrs) b.add(c);
    const fast = b.build();
    let hits = 0;
    for (let i = 0; i < 20_000; i++) {
      const ip = i % 5 === 0 ? `2001:db8:${rnd(4).toString(16)}:${rnd(65536).toString(16)}::${rnd(65536).toString(16)}` : `${10 + rnd(4)}.${rnd(256)}.${rnd(256)}.${rnd(256)}`;
      const expected = simple.has(ip);
      assert.equal(fast.has(ip), expected, ip);
      if (expected) {
        hits++;
        // The entry given contains the address.
        assert.ok(new CidrSet([fast.entryText(fast.find(ip))]).has(ip), `${ip} in ${fast.entryText(fast.find(ip))}`);
      }
    }
    assert.ok(hits > 1000 && hits < 19_000, `a test that can tell hits from misses (${hits} hits)`);
  });
});

describe('IPv6 text in lookups', () => {
  it('reads every form of an address as cidr.ts does, and refuses what it refuses', () => {
    const b = new IpRangeSetBuilder();
    for (const c of ['2001:db8::/32', '::/127', '::ffff:0:0/96', 'fe80::/10', '2001:db8:0:0:1:0:0:1/128']) b.add(c);
    const s = b.build();
    const same = ['2001:db8::1', '2001:DB8:0:0:0:0:0:1', '2001:db8:0:0:1:0:0:1', '2001:db8:0:0:1::1', '::', '::1', '::2', '::ffff:192.0.2.1', '::ffff:c000:201',
      'fe80::1%eth0', '2001:db9::', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:192.0.2.1', '::1.2.3.4'];
    for (const ip of same) assert.equal(s.has(ip), new CidrSet(['2001:db8::/32', '::/127', '::ffff:0:0/96', 'fe80::/10', '2001:db8:0:0:1:0:0:1/128']).has(ip), ip);
    const bad = ['', ':', ':::', '1:::2', '2001:db8::1::1', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::1', '2001:db8:', ':2001:db8::1', '::ffff:192.0.2', '::ffff:1.2.3.04', '1:2:3:4:5:6:7:1.2.3.4'];
    const everything = new IpRangeSetBuilder();
    everything.add('::/0');
    const all = everything.build();
    for (const ip of bad) assert.equal(all.has(ip), false, `'${ip}' is not an address`);
    assert.ok(all.has('::'));
  });
});

describe('kernel set contents', () => {
  const v4 = (s: string): bigint => BigInt(s.split('.').reduce((n, o) => n * 256 + Number(o), 0));

  it('a network minus an allowlisted address is the fewest CIDRs around it', () => {
    const cut = subtractIntervals(mergeIntervals([[v4('203.0.113.0'), v4('203.0.113.255')]]), [[v4('203.0.113.7'), v4('203.0.113.7')]]);
    const cidrs = cut.flatMap(([s, e]) => intervalToCidrs(s, e, 32));
    assert.deepEqual(cidrs, ['203.0.113.0/30', '203.0.113.4/31', '203.0.113.6/32', '203.0.113.8/29', '203.0.113.16/28', '203.0.113.32/27', '203.0.113.64/26', '203.0.113.128/25']);
    const left = new CidrSet(cidrs);
    assert.equal(left.has('203.0.113.7'), false);
    for (const ip of ['203.0.113.0', '203.0.113.6', '203.0.113.8', '203.0.113.255']) assert.ok(left.has(ip), ip);
  });

  it('overlapping and adjacent networks merge', () => {
    const merged = mergeIntervals([[v4('10.0.1.0'), v4('10.0.1.255')], [v4('10.0.0.0'), v4('10.0.0.255')], [v4('10.0.0.128'), v4('10.0.0.130')]]);
    assert.deepEqual(merged.flatMap(([s, e]) => intervalToCidrs(s, e, 32)), ['10.0.0.0/23']);
  });
});
