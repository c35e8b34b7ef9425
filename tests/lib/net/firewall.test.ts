/**
 * The firewall layer without root: command building and validation through
 * the dry-run runner (the exact command lines a real start would run),
 * parsers fed with the tools' own output formats, the blocklist's duration
 * rules on a controlled clock, and the error for a missing tool (a real
 * ENOENT from execFile with an empty PATH).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Blocklist,
  BlockRefused,
  createBackend,
  DryRunRunner,
  ExecRunner,
  NetnsRunner,
  formatCommand,
  type BackendSettings,
} from '../../../lib/net/firewall';
import { decodeNote, encodeNote, validateBlockTarget, validateChainName, validateHostIp, validateMac, validateNftName, validateSetName } from '../../../lib/net/firewall/names';
import { parseIpsetSave } from '../../../lib/net/firewall/ipset';
import { parseNftSetJson } from '../../../lib/net/firewall/nftables';
import { parseChainRules } from '../../../lib/net/firewall/iptables-rules';
import { parseGatewayMacs, parseGateways, parseOwnAddresses, parseOwnMacs } from '../../../lib/net/firewall/protected';
import { blockActionsOf } from '../../../lib/net/firewall/messages';
import { Blocker, blockSchema, type BlockerHost, type BlocklistReport } from '../../../lib/net/firewall/blocker';
import { defaultsOf } from '../../../lib/base/settings';
import { toolMissing } from '../../support/netns';
import { until } from '../../support/wait';

const SETTINGS: BackendSettings = { backend: 'ipset', chain: 'IPS-BLOCK', setName: 'ips-block', table: 'ips', maxElem: 200000 };

function dry(kind: BackendSettings['backend'], extra: Partial<BackendSettings> = {}) {
  const runner = new DryRunRunner();
  return { runner, backend: createBackend(runner, { ...SETTINGS, backend: kind, ...extra }) };
}

/** A clock the test moves by hand. */
function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('firewall names and addresses', () => {
  it('refuses chain, set and table names that are not safe on a command line', () => {
    for (const bad of ['', 'INPUT', 'forward', 'DROP', 'a b', 'x;rm -rf /', '-j', 'A'.repeat(29), '1abc', 'ips$(id)']) {
      assert.throws(() => validateChainName(bad), /invalid chain name/, bad);
    }
    assert.equal(validateChainName('IPS-BLOCK'), 'IPS-BLOCK');
    assert.throws(() => validateSetName('bad name'), /invalid set name/);
    assert.throws(() => validateSetName('a'.repeat(29)), /invalid set name/);
    assert.throws(() => validateNftName('ips-x'), /invalid nftables table name/);
    assert.throws(() => createBackend(new DryRunRunner(), { ...SETTINGS, maxElem: 0 }), /invalid set size \(maxelem\) '0'/);
    assert.throws(() => createBackend(new DryRunRunner(), { ...SETTINGS, backend: 'pf' as never }), /unknown firewall backend 'pf'/);
  });

  it('takes single host addresses in canonical form and says why it refuses others', () => {
    assert.deepEqual(validateHostIp(' 10.0.0.5 '), { ip: '10.0.0.5', family: 4 });
    assert.deepEqual(validateHostIp('2001:DB8:0:0::1'), { ip: '2001:db8::1', family: 6 });
    assert.deepEqual(validateHostIp('::ffff:10.1.2.3'), { ip: '10.1.2.3', family: 4 });
    assert.deepEqual(validateHostIp('10.0.0.5/32'), { ip: '10.0.0.5', family: 4 });
    const refusals: [unknown, RegExp][] = [
      ['10.0.0.0/8', /single addresses, not networks/],
      ['0.0.0.0', /unspecified/],
      ['255.255.255.255', /broadcast/],
      ['224.0.0.1', /multicast/],
      ['ff02::1', /multicast/],
      ['10.0.0.1; iptables -F', /expected an IPv4 or IPv6 address/],
      ['-j ACCEPT', /expected an IPv4 or IPv6 address/],
      ['fe80::1%eth0', /zone/],
      [42, /invalid IP address '42'/],
    ];
    for (const [input, why] of refusals) assert.throws(() => validateHostIp(input), why, String(input));
  });

  it('takes unicast MACs in lowercase and refuses broadcast, multicast, zero and other spellings', () => {
    assert.deepEqual(validateBlockTarget(' 02:AB:cd:00:00:07 '), { ip: '02:ab:cd:00:00:07', family: 'mac' });
    assert.deepEqual(validateBlockTarget('10.0.0.5'), { ip: '10.0.0.5', family: 4 });
    const refusals: [unknown, RegExp][] = [
      ['ff:ff:ff:ff:ff:ff', /broadcast/],
      ['01:00:5e:00:00:01', /multicast/],
      ['33:33:00:00:00:01', /multicast/],
      ['00:00:00:00:00:00', /zero address/],
      ['02-ab-cd-00-00-07', /expected an IPv4 or IPv6 address or a MAC address \(aa:bb:cc:dd:ee:ff\)/],
      ['02ab.cd00.0007', /or a MAC address/],
      ['02:ab:cd:00:00', /or a MAC address/],
    ];
    for (const [input, why] of refusals) assert.throws(() => validateBlockTarget(input), why, String(input));
    assert.throws(() => validateMac('02:ab:cd:00:00:07; x'), /six colon-separated hex pairs/);
  });

  it('stores why and since when in a kernel comment that survives the tools', () => {
    const note = { since: 1_700_000_123_456, rule: 'flood.syn', reason: 'SYN flood: 900 "half-open" in 1 s\n\\ `x`' };
    const text = encodeNote(note);
    assert.ok(!/["\\`\n]/.test(text), text);
    assert.ok(text.length <= 120);
    assert.deepEqual(decodeNote(text), { since: 1_700_000_123_000, rule: 'flood.syn', reason: 'SYN flood: 900 half-open in 1 s x' });
    assert.equal(decodeNote(encodeNote({ ...note, rule: 'bad rule id' }))?.rule, 'manual');
    assert.equal(decodeNote(encodeNote({ ...note, expires: 1_700_000_999_000 }))?.expires, 1_700_000_999_000);
    assert.equal(decodeNote('somebody else'), null);
  });
});

describe('dry-run command lines', () => {
  it('ipset backend: address sets and a MAC set with timeouts, DROP rules, hooks first in INPUT and FORWARD for both families', async () => {
    const { runner, backend } = dry('ipset');
    await backend.setup();
    const lines = runner.take();
    assert.deepEqual(lines, [
      'ipset create ips-block-v4 hash:ip family inet timeout 0 maxelem 200000 comment',
      'ipset create ips-block-v6 hash:ip family inet6 timeout 0 maxelem 200000 comment',
      'ipset create ips-block-hw hash:mac timeout 0 maxelem 200000 comment',
      'iptables -w 10 -N IPS-BLOCK',
      'iptables -w 10 -A IPS-BLOCK -m set --match-set ips-block-v4 src -j DROP',
      'iptables -w 10 -A IPS-BLOCK -m set --match-set ips-block-hw src -j DROP',
      'iptables -w 10 -I INPUT 1 -j IPS-BLOCK',
      'iptables -w 10 -I FORWARD 1 -j IPS-BLOCK',
      'ip6tables -w 10 -N IPS-BLOCK',
      'ip6tables -w 10 -A IPS-BLOCK -m set --match-set ips-block-v6 src -j DROP',
      'ip6tables -w 10 -A IPS-BLOCK -m set --match-set ips-block-hw src -j DROP',
      'ip6tables -w 10 -I INPUT 1 -j IPS-BLOCK',
      'ip6tables -w 10 -I FORWARD 1 -j IPS-BLOCK',
    ]);
    await backend.add('fd00::7', 6, 90, 'ips s=1 r=manual x');
    await backend.add('02:00:00:00:00:07', 'mac', 60, 'ips s=1 r=lan.spoof.many x');
    await backend.remove('10.0.0.9', 4);
    await backend.remove('02:00:00:00:00:07', 'mac');
    await backend.teardown();
    assert.deepEqual(runner.take(), [
      "ipset add ips-block-v6 fd00::7 timeout 90 comment 'ips s=1 r=manual x' -exist",
      "ipset add ips-block-hw 02:00:00:00:00:07 timeout 60 comment 'ips s=1 r=lan.spoof.many x' -exist",
      'ipset del ips-block-v4 10.0.0.9 -exist',
      'ipset del ips-block-hw 02:00:00:00:00:07 -exist',
      'iptables -w 10 -D INPUT -j IPS-BLOCK',
      'iptables -w 10 -D FORWARD -j IPS-BLOCK',
      'iptables -w 10 -F IPS-BLOCK',
      'iptables -w 10 -X IPS-BLOCK',
      'ip6tables -w 10 -D INPUT -j IPS-BLOCK',
      'ip6tables -w 10 -D FORWARD -j IPS-BLOCK',
      'ip6tables -w 10 -F IPS-BLOCK',
      'ip6tables -w 10 -X IPS-BLOCK',
      'ipset destroy ips-block-v4',
      'ipset destroy ips-block-v6',
      'ipset destroy ips-block-hw',
    ]);
  });

  it('nftables backend: one table with timeout sets; a re-block replaces the element in one transaction', async () => {
    const { runner, backend } = dry('nftables', { table: 'guard' });
    await backend.setup();
    await backend.add('10.0.0.9', 4, 30, 'ips s=1 r=scan.vertical ports');
    const [setup, add] = runner.commands;
    assert.deepEqual([setup.cmd, ...setup.args], ['nft', '-f', '-']);
    assert.match(setup.input ?? '', /^add table inet guard$/m);
    assert.match(setup.input ?? '', /^add set inet guard block4 \{ type ipv4_addr; flags timeout; size 200000; \}$/m);
    assert.match(setup.input ?? '', /^add chain inet guard forward \{ type filter hook forward priority filter - 10; policy accept; \}$/m);
    assert.match(setup.input ?? '', /^add rule inet guard input ip6 saddr @block6 drop$/m);
    assert.match(setup.input ?? '', /^add set inet guard blockmac \{ type ether_addr; flags timeout; size 200000; \}$/m);
    assert.match(setup.input ?? '', /^add rule inet guard forward ether saddr @blockmac drop$/m);
    assert.deepEqual(add.input?.trim().split('\n'), [
      'add element inet guard block4 { 10.0.0.9 }',
      'delete element inet guard block4 { 10.0.0.9 }',
      'add element inet guard block4 { 10.0.0.9 timeout 30s comment "ips s=1 r=scan.vertical ports" }',
    ]);
  });

  it('plain iptables backend: per-address DROP rules with the expiry in the comment', async () => {
    const { runner, backend } = dry('iptables');
    await backend.setup();
    runner.take();
    await backend.add('10.0.0.9', 4, 30, 'ips s=1 e=31 r=manual x');
    assert.deepEqual(runner.take(), ["iptables -w 10 -A IPS-BLOCK -s 10.0.0.9/32 -m comment --comment 'ips s=1 e=31 r=manual x' -j DROP"]);
    // A MAC: one rule in each family's chain, so the device loses IPv4 and IPv6.
    await backend.add('02:00:00:00:00:07', 'mac', 30, 'ips s=1 e=31 r=lan.spoof.many x');
    await backend.remove('02:00:00:00:00:07', 'mac');
    assert.deepEqual(runner.take(), [
      "iptables -w 10 -A IPS-BLOCK -m mac --mac-source 02:00:00:00:00:07 -m comment --comment 'ips s=1 e=31 r=lan.spoof.many x' -j DROP",
      "ip6tables -w 10 -A IPS-BLOCK -m mac --mac-source 02:00:00:00:00:07 -m comment --comment 'ips s=1 e=31 r=lan.spoof.many x' -j DROP",
      'iptables -w 10 -D IPS-BLOCK -m mac --mac-source 02:00:00:00:00:07 -j DROP',
      'ip6tables -w 10 -D IPS-BLOCK -m mac --mac-source 02:00:00:00:00:07 -j DROP',
    ]);
  });

  it('runs inside a named namespace only when the name is safe', async () => {
    const inner = new DryRunRunner();
    await new NetnsRunner(inner, 'ips-vic-1').run({ cmd: 'ipset', args: ['list', '-n'] });
    assert.deepEqual(inner.take(), ['ip netns exec ips-vic-1 ipset list -n']);
    for (const bad of ['', '..', 'a/b', 'x y', '-all', 'a'.repeat(65)]) assert.throws(() => new NetnsRunner(inner, bad), /invalid network namespace name/, bad);
  });

  it('formats stdin batches for the log', () => {
    assert.equal(formatCommand({ cmd: 'nft', args: ['-f', '-'], input: 'add table inet ips\n' }), 'nft -f - <<EOF\nadd table inet ips\nEOF');
  });
});

describe('parsers of the tools output', () => {
  it('reads ipset save lines with time left and comment', () => {
    const text = [
      'create ips-block-v4 hash:ip family inet hashsize 1024 maxelem 200000 timeout 0 comment bucketsize 12 initval 0x6b6b84e3',
      'add ips-block-v4 10.1.1.1 timeout 57 comment "ips s=1700000000 r=flood.syn SYN flood"',
      'add ips-block-v4 10.1.1.2 timeout 0',
      'add other 10.9.9.9 timeout 5',
    ].join('\n');
    assert.deepEqual(parseIpsetSave(text, 'ips-block-v4', 4), [
      { ip: '10.1.1.1', family: 4, remainingS: 57, comment: 'ips s=1700000000 r=flood.syn SYN flood' },
      { ip: '10.1.1.2', family: 4, remainingS: 0 },
    ]);
  });

  it('reads nft -j set listings', () => {
    const text = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { set: { family: 'inet', name: 'block4', table: 'ips', type: 'ipv4_addr', flags: ['timeout'], elem: [
          { elem: { val: '10.2.2.2', timeout: 60, expires: 42, comment: 'ips s=1 r=x y' } },
          { elem: { val: '10.2.2.3', comment: 'perm' } },
          '10.2.2.4',
        ] } },
      ],
    });
    assert.deepEqual(parseNftSetJson(text, 4), [
      { ip: '10.2.2.2', family: 4, remainingS: 42, comment: 'ips s=1 r=x y' },
      { ip: '10.2.2.3', family: 4, remainingS: 0, comment: 'perm' },
      { ip: '10.2.2.4', family: 4, remainingS: 0 },
    ]);
  });

  it('reads its own chain rules with their positions and ignores other rules', () => {
    const lines = [
      '-A IPS-BLOCK -m set --match-set ips-block-v6 src -j DROP',
      '-A IPS-BLOCK -s fd00::5/128 -m comment --comment "ips s=1 e=0 r=manual by hand" -j DROP',
      '-A IPS-BLOCK -s 10.0.0.1/32 -m comment --comment ips -j DROP',
      '-A IPS-BLOCK -m mac --mac-source 02:AB:00:00:00:07 -m comment --comment "ips s=1 r=lan.spoof.many x" -j DROP',
    ];
    assert.deepEqual(parseChainRules(lines, 'IPS-BLOCK'), [
      { ip: 'fd00::5', family: 6, num: 2, comment: 'ips s=1 e=0 r=manual by hand' },
      { ip: '10.0.0.1', family: 4, num: 3, comment: 'ips' },
      { ip: '02:ab:00:00:00:07', family: 'mac', num: 4, comment: 'ips s=1 r=lan.spoof.many x' },
    ]);
  });

  it('reads own addresses and gateways from ip -j', () => {
    const addr = JSON.stringify([
      { ifname: 'lo', addr_info: [{ local: '127.0.0.1' }, { local: '::1' }] },
      { ifname: 'eth0', addr_info: [{ local: '192.168.1.2' }, { local: 'fe80::1' }] },
    ]);
    assert.deepEqual([...parseOwnAddresses(addr).keys()], ['127.0.0.1', '::1', '192.168.1.2', 'fe80::1']);
    const routes = JSON.stringify([{ dst: 'default', gateway: '192.168.1.1', dev: 'eth0' }, { dst: 'default', via: { family: 'inet6', host: 'FE80::1' }, dev: 'eth0' }]);
    assert.deepEqual([...parseGateways(routes).entries()], [
      ['192.168.1.1', 'it is the default gateway (via eth0)'],
      ['fe80::1', 'it is the default gateway (via eth0)'],
    ]);
    const links = JSON.stringify([{ ifname: 'lo', address: '00:00:00:00:00:00' }, { ifname: 'eth0', address: '02:AB:00:00:00:02' }, { ifname: 'wg0', link_type: 'none' }]);
    assert.deepEqual([...parseOwnMacs(links).keys()], ['02:ab:00:00:00:02']);
    const neigh = JSON.stringify([{ dst: '192.168.1.1', dev: 'eth0', lladdr: '02:AB:00:00:00:01', state: ['REACHABLE'] }, { dst: '192.168.1.7', dev: 'eth0', lladdr: '02:ab:00:00:00:07' }, { dst: '192.168.1.9', dev: 'eth0', state: ['FAILED'] }]);
    assert.deepEqual([...parseGatewayMacs(neigh, parseGateways(routes)).entries()], [['02:ab:00:00:00:01', 'it is the MAC of the default gateway 192.168.1.1 (on eth0)']]);
  });
});

describe('blocklist rules', () => {
  it('re-blocking extends and never shortens; permanent stays permanent', async () => {
    const c = clock();
    const { backend } = dry('ipset');
    const bl = new Blocklist({ backend, defaultDurationS: 60, now: c.now });
    await bl.start();
    const first = await bl.block({ ip: '10.0.0.9', reason: 'scan', rule: 'scan.vertical' });
    assert.equal(first.entry.expires, c.now() + 60_000);
    c.advance(10_000);
    const shorter = await bl.block({ ip: '10.0.0.9', durationS: 5 });
    assert.equal(shorter.extended, true);
    assert.equal(shorter.entry.expires, first.entry.expires, 'a shorter re-block keeps the longer expiry');
    assert.equal(shorter.entry.since, first.entry.since);
    const longer = await bl.block({ ip: '10.0.0.9', durationS: 600 });
    assert.equal(longer.entry.expires, c.now() + 600_000);
    await bl.block({ ip: '10.0.0.9', durationS: 0 });
    const after = await bl.block({ ip: '10.0.0.9', durationS: 5 });
    assert.equal(after.entry.expires, 0);
    assert.deepEqual(bl.list().blocked.map((e) => [e.ip, e.expires]), [['10.0.0.9', 0]]);
  });

  it('escalates repeat offenders within the window, capped, and starts over after it', async () => {
    const c = clock();
    const { backend } = dry('nftables');
    const bl = new Blocklist({ backend, defaultDurationS: 60, escalation: { factor: 3, windowS: 3600, maxDurationS: 1000 }, now: c.now });
    const durations: number[] = [];
    for (let i = 0; i < 4; i++) {
      durations.push((await bl.block({ ip: '10.0.0.9' })).durationS);
      c.advance(60_000);
    }
    assert.deepEqual(durations, [60, 180, 540, 1000]);
    c.advance(3601_000);
    assert.equal((await bl.block({ ip: '10.0.0.9' })).durationS, 60);
    await bl.unblock('10.0.0.9');
    assert.equal((await bl.block({ ip: '10.0.0.9' })).offences, 1, 'an unblock forgives');
    assert.throws(() => new Blocklist({ backend, defaultDurationS: 60, escalation: { factor: 0.5, windowS: 60, maxDurationS: 60 } }), /escalation factor/);
  });

  it('refuses the allowlist, invalid input and out-of-range durations with the reason, changing nothing', async () => {
    const { runner, backend } = dry('ipset');
    const bl = new Blocklist({ backend, defaultDurationS: 60, allowlist: '192.168.1.0/24, fd00:1::/32' });
    await bl.start();
    runner.take();
    await assert.rejects(bl.block({ ip: '192.168.1.77' }), (e: Error) => e instanceof BlockRefused && /allowlist \(192\.168\.1\.0\/24\)/.test(e.message));
    await assert.rejects(bl.block({ ip: 'fd00:1::9' }), /allowlist \(fd00:1::\/32\)/);
    await assert.rejects(bl.block({ ip: 'not-an-ip' }), /invalid IP address 'not-an-ip'/);
    await assert.rejects(bl.block({ ip: '10.0.0.1', durationS: -1 }), /invalid duration \(s\) '-1'/);
    await assert.rejects(bl.block({ ip: '10.0.0.1', durationS: 3_000_000 }), /from 0 to 2147483/);
    assert.deepEqual(runner.take(), []);
    assert.deepEqual(bl.list().blocked, []);
    assert.throws(() => new Blocklist({ backend, defaultDurationS: 60, allowlist: '10.0.0.0/33' }), /prefix length must be 0-32/);
  });

  it('plain rules expire by the timer: the rule is deleted when the time is up', async () => {
    const c = clock();
    const { runner, backend } = dry('iptables');
    const bl = new Blocklist({ backend, defaultDurationS: 2, now: c.now });
    await bl.start();
    await bl.block({ ip: '10.0.0.9' });
    runner.take();
    assert.deepEqual(await bl.expireDue(), []);
    c.advance(2_000);
    assert.deepEqual(bl.list().blocked, []);
    assert.deepEqual(await bl.expireDue(), ['10.0.0.9']);
    assert.deepEqual(runner.take(), ['iptables -w 10 -D IPS-BLOCK -s 10.0.0.9/32 -j DROP']);
  });
});

describe('messages to iptables-block', () => {
  it('maps alerts, commands, arrays and topics; refuses anything else', () => {
    const alert = { rule: 'flood.syn.src', src: '10.0.0.66', dst: '10.0.0.1', offender: '10.0.0.66', reason: '900 SYN/s' };
    assert.deepEqual(blockActionsOf({ payload: alert, durationS: 30 }), [{ kind: 'block', req: { ip: '10.0.0.66', durationS: 30, reason: '900 SYN/s', rule: 'flood.syn.src' } }]);
    assert.deepEqual(blockActionsOf({ payload: [{ ip: '10.0.0.1', action: 'unblock' }, { ip: '10.0.0.2', action: 'block', durationS: 0 }] }), [
      { kind: 'unblock', ip: '10.0.0.1' },
      { kind: 'block', req: { ip: '10.0.0.2', durationS: 0, reason: undefined, rule: 'manual' } },
    ]);
    assert.deepEqual(blockActionsOf({ topic: 'unblock', payload: '10.0.0.3' }), [{ kind: 'unblock', ip: '10.0.0.3' }]);
    assert.deepEqual(blockActionsOf({ topic: 'list' }), [{ kind: 'list' }]);
    assert.deepEqual(blockActionsOf({ topic: 'clear', payload: true }), [{ kind: 'clear' }]);
    assert.throws(() => blockActionsOf({ payload: 'hello' }), /expected an Alert/);
  });

  it('an alert blocks its offender, never its src or dst as such; one without an offender is refused with the reason', () => {
    // scan.failures: the answers go to the prober, so the offender is what the alert gives, whatever the packet said
    const failures = { rule: 'scan.failures', src: '10.0.0.5', dst: '10.0.0.1', offender: '10.0.0.77', reason: '30 RST answers' };
    assert.deepEqual(blockActionsOf({ payload: failures }), [{ kind: 'block', req: { ip: '10.0.0.77', durationS: undefined, reason: '30 RST answers', rule: 'scan.failures' } }]);
    const flood = { rule: 'flood.syn.dst', src: '203.0.113.7', dst: '10.0.0.1', reason: '900 SYN/s to 10.0.0.1' };
    const [refused, blocked] = blockActionsOf({ payload: [flood, failures] });
    assert.equal(refused.kind, 'refuse');
    assert.match(refused.kind === 'refuse' ? refused.reason : '', /^alert flood\.syn\.dst names no offender: no single address is the attacker .*neither its src 203\.0\.113\.7 nor its dst 10\.0\.0\.1$/);
    assert.deepEqual(blocked, { kind: 'block', req: { ip: '10.0.0.77', durationS: undefined, reason: '30 RST answers', rule: 'scan.failures' } }, 'the other items of the message still count, and block the offender, not the src');
    const [bad] = blockActionsOf({ payload: { ...failures, offender: ['10.0.0.77'] } });
    assert.deepEqual(bad, { kind: 'refuse', reason: 'alert scan.failures: offender must be an address, got ["10.0.0.77"]' });
  });
});

describe('the iptables-block engine (Blocker), dry-run', () => {
  const settings = { ...defaultsOf(blockSchema), dryRun: true };

  function host() {
    const sent: BlocklistReport[] = [];
    const logged: string[] = [];
    const h: BlockerHost = { send: (r) => sent.push(r), log: (l) => logged.push(l), warn: (t) => logged.push(`warn: ${t}`), error: (t) => logged.push(`error: ${t}`) };
    return { h, sent, logged };
  }

  it('starts with the commands a fresh box needs, blocks offenders, refuses the rest and reports the commands of each message', async () => {
    const { h, logged } = host();
    const b = new Blocker({ ...settings, durationS: 30 }, h, { addressReader: null });
    await b.start();
    assert.ok(logged.includes('dry-run: ipset create ips-block-v4 hash:ip family inet timeout 0 maxelem 65536 comment'), logged.join('\n'));
    const alert = { rule: 'scan.vertical', src: '10.0.0.66', dst: '10.0.0.1', offender: '10.0.0.66', reason: 'ports' };
    const flood = { rule: 'flood.icmp.dst', src: '10.0.0.5', dst: '10.0.0.1', reason: 'pings' };
    const r = await b.handle({ payload: [alert, flood] });
    assert.deepEqual(r.report?.payload.blocked.map((e) => [e.ip, e.expires - e.since]), [['10.0.0.66', 30_000]]);
    assert.deepEqual(r.report?.results, [{ action: 'block', ip: '10.0.0.66', durationS: 30, extended: false, offences: 1 }]);
    assert.equal(r.report?.commands?.length, 1);
    assert.match(r.refusals.join(), /flood\.icmp\.dst names no offender/);
    assert.deepEqual(await b.handle({ payload: flood }), { report: null, refusals: [r.refusals[0]] }, 'a refusal alone changes and sends nothing');
    await b.close();
  });

  it('reports blocks that ran out, by itself', async () => {
    const c = clock();
    const { h, sent } = host();
    const b = new Blocker({ ...settings, durationS: 2 }, h, { addressReader: null, now: c.now, expiryCheckMs: 5 });
    await b.handle({ payload: { ip: '10.0.0.9', action: 'block' } });
    c.advance(2_000);
    await until(() => sent.length > 0, 'the expiry report');
    assert.deepEqual(sent[0].expired, ['10.0.0.9']);
    assert.deepEqual(sent[0].payload.blocked, []);
    await b.close();
  });

  it('new settings apply to the next message and keep the list; settings a backend refuses change nothing', async () => {
    const { h } = host();
    const b = new Blocker(settings, h, { addressReader: null });
    await b.handle({ payload: { ip: '10.0.0.66', action: 'block' } });
    const change = b.reconfigure({ ...settings, durationS: 60, allowlist: ['10.0.0.0/30'] });
    const refused = b.handle({ payload: { ip: '10.0.0.2', action: 'block' } });
    await change;
    assert.match((await refused).refusals.join(), /10\.0\.0\.2: it is in the allowlist/, 'the message after the change sees it');
    await assert.rejects(b.reconfigure({ ...settings, chain: 'FORWARD' }), /invalid chain name 'FORWARD': that is a built-in chain/);
    const r = await b.handle({ payload: { ip: '10.0.0.9', action: 'block' } });
    assert.deepEqual(r.report?.payload.blocked.map((e) => [e.ip, e.expires - e.since]), [['10.0.0.66', 3_600_000], ['10.0.0.9', 60_000]]);
    await b.close();
  });

  it('closes leaving the blocks, or removing everything with clearOnClose', async () => {
    const { h, logged } = host();
    const b = new Blocker({ ...settings, clearOnClose: true }, h, { addressReader: null });
    await b.start();
    logged.length = 0;
    await b.close();
    assert.ok(logged.includes('dry-run: ipset destroy ips-block-v4'), logged.join('\n'));
    const kept = host();
    const k = new Blocker(settings, kept.h, { addressReader: null });
    await k.start();
    kept.logged.length = 0;
    await k.close();
    assert.deepEqual(kept.logged, []);
  });
});

describe('the iptables-block engine moving to other kernel objects, dry-run', () => {
  const settings = { ...defaultsOf(blockSchema), dryRun: true, durationS: 300 };

  it('a new backend takes each block with its time left, reason and rule, then the old sets and chains are removed', async () => {
    const c = clock();
    const logged: string[] = [];
    const h: BlockerHost = { send: () => undefined, log: (l) => logged.push(l), warn: (t) => logged.push(`warn: ${t}`), error: (t) => logged.push(`error: ${t}`) };
    const b = new Blocker(settings, h, { addressReader: null, now: c.now });
    await b.handle({ payload: { rule: 'scan.vertical', src: '10.0.0.66', dst: '10.0.0.1', offender: '10.0.0.66', reason: 'ports' } });
    c.advance(100_000);
    logged.length = 0;
    await b.reconfigure({ ...settings, backend: 'nftables' });
    const add = logged.findIndex((l) => /^dry-run: nft -f - .*add element inet ips block4 \{ 10\.0\.0\.66 timeout 200s comment "[^"]*" \}/s.test(l));
    assert.ok(add >= 0, `the new set gets the block with the 200 s left:\n${logged.join('\n')}`);
    const removed = logged.slice(add + 1);
    for (const line of ['dry-run: iptables -w 10 -D INPUT -j IPS-BLOCK', 'dry-run: iptables -w 10 -X IPS-BLOCK', 'dry-run: ipset destroy ips-block-v4', 'dry-run: ipset destroy ips-block-v6']) {
      assert.ok(removed.includes(line), `after it, the old kernel objects go: ${line}\n${logged.join('\n')}`);
    }
    const r = await b.handle({ topic: 'list' });
    assert.deepEqual(r.report?.payload.blocked.map((e) => [e.ip, e.rule, e.reason, e.expires - e.since]), [['10.0.0.66', 'scan.vertical', 'ports', 300_000]], 'listed as before, with its end unchanged');
    await b.close();
  });

  it('the same kernel objects under new settings are left as they are', async () => {
    const logged: string[] = [];
    const h: BlockerHost = { send: () => undefined, log: (l) => logged.push(l), warn: () => undefined, error: () => undefined };
    const b = new Blocker({ ...settings, backend: 'nftables' }, h, { addressReader: null });
    await b.handle({ payload: { ip: '10.0.0.66', action: 'block' } });
    logged.length = 0;
    await b.reconfigure({ ...settings, backend: 'nftables', chain: 'OTHER', setName: 'other', durationS: 60 });
    assert.ok(!logged.some((l) => /delete table|add element/.test(l)), logged.join('\n'));
    assert.deepEqual((await b.handle({ topic: 'list' })).report?.payload.blocked.map((e) => e.ip), ['10.0.0.66']);
    await b.close();
  });

  it('closed while starting, it starts no expiry timer: a block due later is never reported', async () => {
    const c = clock();
    const sent: BlocklistReport[] = [];
    const h: BlockerHost = { send: (r) => sent.push(r), log: () => undefined, warn: () => undefined, error: () => undefined };
    const b = new Blocker(settings, h, { addressReader: null, now: c.now, expiryCheckMs: 1 });
    const started = b.start();
    await b.close();
    await started;
    // Only a timer left running after close could report this block's end.
    await b.handle({ payload: { ip: '10.0.0.9', action: 'block', durationS: 1 } });
    c.advance(2_000);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(sent, []);
  });
});

describe('missing tools', () => {
  it('names the Debian package when a tool is not installed', async () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent-ips-test';
    try {
      await assert.rejects(new ExecRunner().run({ cmd: 'nft', args: ['list', 'tables'] }), /'nft' not found: install the Debian package 'nftables'/);
      await assert.rejects(new ExecRunner().run({ cmd: 'ipset', args: ['list'] }), /Debian package 'ipset'/);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('names CAP_NET_ADMIN when the firewall refuses an unprivileged user', async (t) => {
    const why = (process.getuid?.() !== 0 ? 'needs root to switch to an unprivileged user' : null) ?? (await toolMissing('setpriv', 'iptables', 'ipset'));
    if (why) return t.skip(why);
    // A real refusal: the same tools run as nobody, without capabilities.
    const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];
    await assert.rejects(new ExecRunner().run({ cmd: 'setpriv', args: [...asNobody, 'iptables', '-S'] }), /CAP_NET_ADMIN/);
    await assert.rejects(new ExecRunner().run({ cmd: 'setpriv', args: [...asNobody, 'ipset', 'list', '-n'] }), /CAP_NET_ADMIN/);
  });
});
