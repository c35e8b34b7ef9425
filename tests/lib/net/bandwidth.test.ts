/**
 * BandwidthMonitor decisions over Device stats, the tc commands TcThrottle
 * issues (recorded with the dry-run runner), and BandwidthEnforcer carrying
 * the decisions out (dry-run, and real tc in a namespace for its faults and
 * its cleanup; the integration test measures iperf3 under the limits).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BandwidthEnforcer, BandwidthMonitor, ifbName, parseOverrides, parseRate, TcThrottle, type BandwidthSettings } from '../../../lib/net/bandwidth';
import { DryRunRunner, ExecRunner, NetnsRunner } from '../../../lib/net/firewall/runner';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../../support/netns';
import type { DeviceStats } from '../../../lib/net/types';

const stats = (ip: string, rxBps: number, txBps = 0, mac?: string): DeviceStats => ({ ip, ...(mac ? { mac } : {}), rxBytes: 0, txBytes: 0, rxBps, txBps, flows: 1, lastSeen: 0 });

describe('BandwidthMonitor', () => {
  test('fires after the sustain time over the limit, not before, and once', () => {
    const m = new BandwidthMonitor({ limitBps: 1_000_000, sustainS: 3 });
    const at = (s: number, rate: number) => m.update([stats('192.168.4.20', rate)], s * 1000);
    assert.equal(at(0, 2_000_000).alerts.length, 0);
    assert.equal(at(2, 2_000_000).alerts.length, 0);
    const fired = at(3, 2_500_000).alerts;
    assert.equal(fired.length, 1);
    const a = fired[0];
    assert.equal(a.rule, 'bandwidth.limit');
    assert.equal(a.category, 'bandwidth');
    assert.equal(a.src, '192.168.4.20');
    assert.equal(a.offender, '192.168.4.20', 'the device over its limit');
    assert.equal(a.threshold, 1_000_000);
    assert.equal(a.action, 'alert');
    assert.match(a.reason, /received 2\.50 MB\/s .*for 3 s over its limit of 1\.00 MB\/s/);
    assert.equal(at(4, 3_000_000).alerts.length, 0, 'no repeat while still over');
  });

  test('a dip under the limit before the sustain time restarts the count', () => {
    const m = new BandwidthMonitor({ limitBps: 1000, sustainS: 2 });
    m.update([stats('a', 5000)], 0);
    m.update([stats('a', 500)], 1000);
    assert.equal(m.update([stats('a', 5000)], 2000).alerts.length, 0);
    assert.equal(m.update([stats('a', 5000)], 4000).alerts.length, 1);
  });

  test('clears only after staying under clearPct % of the limit for clearS; a missing device counts as idle', () => {
    const m = new BandwidthMonitor({ limitBps: 1000, sustainS: 0, clearPct: 80, clearS: 2, action: 'throttle', interface: 'lan0' });
    const first = m.update([stats('a', 5000, 0, 'b8:27:eb:00:00:01')], 0);
    assert.deepEqual([...first.throttle], [['a', 1000]]);
    assert.equal(first.alerts[0].action, 'drop');
    assert.equal(first.alerts[0].srcMac, 'b8:27:eb:00:00:01');
    // Throttled to the limit: 950 B/s is under the limit but above 80 %, so it stays.
    assert.equal(m.update([stats('a', 950)], 1000).alerts.length, 0);
    assert.equal(m.update([stats('a', 950)], 5000).alerts.length, 0);
    m.update([stats('a', 100)], 6000);
    assert.equal(m.update([stats('a', 100)], 7000).alerts.length, 0);
    const cleared = m.update([], 8000);
    assert.equal(cleared.alerts.length, 1);
    assert.equal(cleared.alerts[0].rule, 'bandwidth.clear');
    assert.equal(cleared.alerts[0].offender, undefined, 'an all-clear names nobody to block');
    assert.deepEqual(cleared.release, ['a']);
    assert.deepEqual(m.firing, []);
  });

  test('per-IP and per-MAC overrides; 0 = unlimited', () => {
    const m = new BandwidthMonitor({ limitBps: 1000, sustainS: 0, overrides: '192.168.4.20 = 10k\nB8-27-EB-00-00-02 = 0 # the NAS\n' });
    const out = m.update([stats('192.168.4.20', 5000), stats('192.168.4.21', 5000, 0, 'b8:27:eb:00:00:02'), stats('192.168.4.22', 5000)], 0);
    assert.deepEqual(out.alerts.map((a) => a.src), ['192.168.4.22']);
    assert.equal(m.limitFor({ ip: '192.168.4.20' }), 10_000);
  });

  test('runtime config is validated as a whole: a bad value changes nothing', () => {
    const m = new BandwidthMonitor({ limitBps: 1000 });
    assert.throws(() => m.configure({ limitBps: 5000, sustainS: -1 }), /sustainS must be >= 0/);
    assert.equal(m.current.limitBps, 1000);
    assert.throws(() => m.configure({ overrides: '10.0.0.300 = 5' }), /neither an IP nor a MAC/);
    assert.throws(() => m.configure({ action: 'throttle' }), /throttle needs the LAN-facing interface/);
    assert.throws(() => m.configure({ action: 'throttle', interface: 'eth0; reboot' }), /invalid interface name/);
    assert.throws(() => m.configure({ nonsense: 1 }), /unknown setting 'nonsense'/);
    assert.equal(m.configure({ limitBps: '2000' }).limitBps, 2000);
    assert.throws(() => new BandwidthMonitor({ limitBps: 'lots' } as unknown as Partial<BandwidthSettings>), /limitBps must be a number/);
  });

  test('rates: bytes/s with k/M/G; junk refused', () => {
    assert.equal(parseRate('1.5M'), 1_500_000);
    assert.equal(parseRate('800k'), 800_000);
    assert.equal(parseRate('250'), 250);
    assert.throws(() => parseRate('fast'), /not a rate/);
    assert.equal(parseOverrides('').byIp.size, 0);
  });
});

describe('TcThrottle commands', () => {
  test('IPv4: HTB classes on the LAN egress and the ifb, the ingress redirect; release and close undo them', async () => {
    const runner = new DryRunRunner();
    const t = new TcThrottle('lan0', runner);
    await t.limit('192.168.4.20', 1_250_000);
    const ifb = ifbName('lan0');
    assert.ok(ifb.length <= 15);
    const setup = runner.take();
    assert.deepEqual(setup, [
      'tc qdisc replace dev lan0 root handle 1: htb',
      `ip link add ${ifb} type ifb`,
      `ip link set ${ifb} up`,
      `tc qdisc replace dev ${ifb} root handle 1: htb`,
      'tc qdisc replace dev lan0 handle ffff: ingress',
      'tc class replace dev lan0 parent 1: classid 1:10 htb rate 10000000bit ceil 10000000bit burst 25000b cburst 25000b',
      `tc class replace dev ${ifb} parent 1: classid 1:10 htb rate 10000000bit ceil 10000000bit burst 25000b cburst 25000b`,
      'tc filter add dev lan0 parent 1: protocol ip prio 16 u32 match ip dst 192.168.4.20/32 flowid 1:10',
      `tc filter add dev ${ifb} parent 1: protocol ip prio 16 u32 match ip src 192.168.4.20/32 flowid 1:10`,
      `tc filter add dev lan0 parent ffff: protocol ip prio 16 u32 match ip src 192.168.4.20/32 action mirred egress redirect dev ${ifb}`,
    ]);
    await t.limit('fd04::20', 50_000);
    assert.ok(runner.take().includes('tc filter add dev lan0 parent 1: protocol ipv6 prio 17 u32 match ip6 dst fd04::20/128 flowid 1:11'));
    await t.release('192.168.4.20');
    assert.deepEqual(runner.take(), [
      'tc filter del dev lan0 parent ffff: prio 16',
      'tc filter del dev lan0 parent 1: prio 16',
      `tc filter del dev ${ifb} parent 1: prio 16`,
      'tc class del dev lan0 classid 1:10',
      `tc class del dev ${ifb} classid 1:10`,
    ]);
    assert.deepEqual(t.limited, ['fd04::20']);
    await t.close();
    assert.deepEqual(runner.take(), ['tc qdisc del dev lan0 ingress', 'tc qdisc del dev lan0 root', `ip link del ${ifb}`]);
  });

  test('refuses bad interface names, addresses and rates before running anything', async () => {
    assert.throws(() => new TcThrottle('lan0 root'), /invalid interface name/);
    const runner = new DryRunRunner();
    const t = new TcThrottle('lan0', runner);
    await assert.rejects(t.limit('192.168.4.300', 5000), /invalid IP address/);
    await assert.rejects(t.limit('192.168.4.20', 10), /at least 1000 bytes\/s/);
    assert.deepEqual(runner.take(), []);
  });
});

describe('BandwidthEnforcer', () => {
  const over = (ip: string) => [stats(ip, 50_000)];

  test('throttle mode: the limit goes to tc once decided; switching to flag removes it and what was set up for it', async () => {
    const runner = new DryRunRunner();
    const e = new BandwidthEnforcer({ limitBps: 10_000, sustainS: 0, action: 'throttle', interface: 'lan0' }, 'under test', (err) => assert.fail(err), runner);
    const alerts = e.update(over('192.168.4.20'), 0);
    assert.deepEqual(alerts.map((a) => [a.rule, a.action]), [['bandwidth.limit', 'drop']]);
    await e.settled();
    const set = runner.take();
    assert.ok(set.includes('tc filter add dev lan0 parent 1: protocol ip prio 16 u32 match ip dst 192.168.4.20/32 flowid 1:10'), set.join('\n'));
    assert.equal(e.limited, 1);
    e.configure({ action: 'flag' });
    await e.settled();
    assert.deepEqual(runner.take(), ['tc qdisc del dev lan0 ingress', 'tc qdisc del dev lan0 root', `ip link del ${ifbName('lan0')}`]);
    assert.deepEqual(e.monitor.firing, [], 'the device is watched afresh');
    assert.equal(e.limited, 0);
    // Flag mode: alerts, no tc.
    assert.equal(e.update(over('192.168.4.20'), 1000)[0].action, 'alert');
    await e.close();
    assert.deepEqual(runner.take(), []);
  });

  test('moving throttling to another interface lifts the limits on the old one; reset and close lift them all', async () => {
    const runner = new DryRunRunner();
    const e = new BandwidthEnforcer({ limitBps: 10_000, sustainS: 0, action: 'throttle', interface: 'lan0' }, 'under test', (err) => assert.fail(err), runner);
    e.update(over('192.168.4.20'), 0);
    e.configure({ interface: 'lan1' });
    await e.settled();
    assert.deepEqual(runner.take().slice(-3), ['tc qdisc del dev lan0 ingress', 'tc qdisc del dev lan0 root', `ip link del ${ifbName('lan0')}`]);
    e.update(over('192.168.4.21'), 1000);
    await e.reset();
    assert.deepEqual(runner.take().slice(-3), ['tc qdisc del dev lan1 ingress', 'tc qdisc del dev lan1 root', `ip link del ${ifbName('lan1')}`]);
    e.update(over('192.168.4.21'), 2000);
    await e.close();
    assert.deepEqual(runner.take().slice(-3), ['tc qdisc del dev lan1 ingress', 'tc qdisc del dev lan1 root', `ip link del ${ifbName('lan1')}`]);
  });

  describe('with real tc in a namespace', () => {
    let skip: string | null = null;
    let lab: Lab;
    let ns: Netns;
    let lan = '';

    before(async () => {
      skip = (await netnsUnavailable()) ?? (await toolMissing('tc'));
      if (skip) return;
      lab = new Lab();
      ns = await lab.host('bwr');
      const peer = await lab.host('bwd');
      lan = (await lab.link(ns, '10.83.0.1/24', peer, '10.83.0.2/24')).aIf;
    });
    after(async () => lab?.cleanup());

    test('a failing tc job is reported with the tool\'s words and the jobs after it still run; close restores the kernel\'s qdiscs', async (t) => {
      if (skip) return t.skip(skip);
      const errors: string[] = [];
      const e = new BandwidthEnforcer({ limitBps: 10_000, sustainS: 0, action: 'throttle', interface: 'nosuch0' }, 'under test', (err) => errors.push(err.message),
        new NetnsRunner(new ExecRunner(), ns.name));
      e.update(over('10.83.0.2'), 0);
      await e.settled();
      assert.equal(errors.length, 1);
      assert.match(errors[0], /tc qdisc replace dev nosuch0 root handle 1: htb: .*(Cannot find device|No such device)/);
      assert.equal(e.fault, errors[0]);
      e.configure({ interface: lan });
      e.update(over('10.83.0.3'), 1000);
      await e.settled();
      assert.equal(e.fault, null, 'a tc job that works clears the fault');
      assert.match((await ns.exec('tc', ['class', 'show', 'dev', lan])).stdout, /htb 1:10 .*rate 80Kbit/);
      await e.close();
      assert.doesNotMatch((await ns.exec('tc', ['qdisc', 'show', 'dev', lan])).stdout, /htb|ingress/);
      assert.doesNotMatch((await ns.exec('ip', ['-o', 'link', 'show'])).stdout, /ipsifb/);
      assert.equal(errors.length, 1);
    });

    test('an error handler that throws does not stop the tc jobs after it', async (t) => {
      if (skip) return t.skip(skip);
      const errors: string[] = [];
      const e = new BandwidthEnforcer({ limitBps: 10_000, sustainS: 0, action: 'throttle', interface: 'nosuch0' }, 'under test', (err) => {
        errors.push(err.message);
        throw new Error('the handler itself failed');
      }, new NetnsRunner(new ExecRunner(), ns.name));
      e.update(over('10.83.0.2'), 0);
      await e.settled();
      assert.equal(errors.length, 1);
      e.configure({ interface: lan });
      e.update(over('10.83.0.3'), 1000);
      await e.settled();
      assert.match((await ns.exec('tc', ['class', 'show', 'dev', lan])).stdout, /htb 1:10 .*rate 80Kbit/, 'the later limit is in the kernel');
      await e.close();
      assert.doesNotMatch((await ns.exec('tc', ['qdisc', 'show', 'dev', lan])).stdout, /htb|ingress/);
    });
  });
});
