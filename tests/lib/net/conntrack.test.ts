/**
 * The conntrack parser on real listings (the conntrack tool and
 * /proc/net/nf_conntrack inside a namespace, after real pings and TCP), on
 * real DESTROY events, and on the layouts the kernel prints when
 * accounting is off or a flow is unreplied; per-flow bookkeeping over real
 * listings across a real counter reset (`conntrack -L --zero`); accounting switch
 * and the error when the tool is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConntrackReader, ensureAccounting, parseConntrack, parseConntrackLine, type ConntrackEntry } from '../../../lib/net/conntrack';
import { DeviceBook } from '../../../lib/net/device-stats';
import { CidrSet } from '../../../lib/base/cidr';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../../support/netns';

describe('parseConntrackLine: layouts', () => {
  test('TCP with counters, state, flags and id', () => {
    const e = parseConntrackLine('ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.4.20 dst=93.184.216.34 sport=51000 dport=443 packets=12 bytes=2345 src=93.184.216.34 dst=10.0.0.2 sport=443 dport=51000 packets=10 bytes=9876 [ASSURED] mark=0 use=1 id=3735928559')!;
    assert.equal(e.family, 4);
    assert.equal(e.proto, 'tcp');
    assert.equal(e.state, 'ESTABLISHED');
    assert.deepEqual([e.origSrc, e.origDst, e.origSport, e.origDport, e.origPackets, e.origBytes], ['192.168.4.20', '93.184.216.34', 51000, 443, 12, 2345]);
    assert.deepEqual([e.replySrc, e.replyDst, e.replySport, e.replyDport, e.replyPackets, e.replyBytes], ['93.184.216.34', '10.0.0.2', 443, 51000, 10, 9876]);
    assert.equal(e.id, 3735928559);
  });

  test('accounting off: no counters, zeros; [UNREPLIED] between the tuples', () => {
    const e = parseConntrackLine('ipv4     2 udp      17 29 src=192.168.4.20 dst=192.168.4.1 sport=5353 dport=53 [UNREPLIED] src=192.168.4.1 dst=192.168.4.20 sport=53 dport=5353 mark=0 use=1 id=7')!;
    assert.equal(e.origBytes, 0);
    assert.equal(e.replyBytes, 0);
    assert.equal(e.replySrc, '192.168.4.1');
    assert.equal(e.replySport, 53);
    assert.equal(e.state, undefined);
    assert.equal(e.id, 7);
  });

  test('ICMP echo id is not taken for the conntrack id, and tells two pings apart', () => {
    const a = parseConntrackLine('ipv4     2 icmp     1 29 src=10.0.0.2 dst=10.0.0.1 type=8 code=0 id=100 packets=3 bytes=252 src=10.0.0.1 dst=10.0.0.2 type=0 code=0 id=100 packets=3 bytes=252 mark=0 use=1 id=99999')!;
    const b = parseConntrackLine('ipv4     2 icmp     1 29 src=10.0.0.2 dst=10.0.0.1 type=8 code=0 id=101 packets=1 bytes=84 src=10.0.0.1 dst=10.0.0.2 type=0 code=0 id=101 packets=1 bytes=84 mark=0 use=1')!;
    assert.equal(a.id, 99999);
    assert.equal(b.id, undefined);
    assert.equal(a.origBytes, 252);
    assert.notEqual(a.key, b.key);
  });

  test('/proc layout with expanded IPv6 addresses is normalised on request; summaries and junk are not entries', () => {
    const line = 'ipv6     10 tcp      6 300 ESTABLISHED src=fd55:0001:0000:0000:0000:0000:0000:0010 dst=fd55:0002:0000:0000:0000:0000:0000:0002 sport=40000 dport=80 packets=5 bytes=400 src=fd55:0002:0000:0000:0000:0000:0000:0002 dst=fd55:0001:0000:0000:0000:0000:0000:0010 sport=80 dport=40000 packets=4 bytes=5000 [ASSURED] mark=0 zone=0 use=2';
    const e = parseConntrackLine(line, true)!;
    assert.equal(e.family, 6);
    assert.equal(e.origSrc, 'fd55:1::10');
    assert.equal(e.replySrc, 'fd55:2::2');
    assert.equal(parseConntrack('conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.\n\nnonsense line\n').length, 0);
  });
});

describe('conntrack in a namespace (real kernel, real tool)', () => {
  let skip: string | null = null;
  let lab: Lab;
  let a: Netns;
  let b: Netns;
  let tmp = '';

  before(async () => {
    skip = (await netnsUnavailable()) ?? (await toolMissing('conntrack', 'iptables', 'ping'));
    if (skip) return;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-ct-'));
    lab = new Lab();
    a = await lab.host('cta');
    b = await lab.host('ctb');
    await lab.link(a, '10.77.0.2/24', b, '10.77.0.1/24');
    await a.exec('ip', ['-6', 'addr', 'add', 'fd77::2/64', 'dev', `v${lab.tag}0a`, 'nodad']);
    await b.exec('ip', ['-6', 'addr', 'add', 'fd77::1/64', 'dev', `v${lab.tag}0b`, 'nodad']);
    // Tracking is active in a namespace once a rule uses it; accounting is per namespace.
    await b.exec('iptables', ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'NEW,ESTABLISHED', '-j', 'ACCEPT']);
    await b.exec('ip6tables', ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'NEW,ESTABLISHED', '-j', 'ACCEPT']);
    await b.exec('sysctl', ['-q', '-w', 'net.netfilter.nf_conntrack_acct=1']);
  });

  after(async () => {
    await lab?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const listing = async (): Promise<ConntrackEntry[]> => parseConntrack((await b.exec('conntrack', ['-L', '-o', 'extended,id'])).stdout);
  const procListing = async (): Promise<ConntrackEntry[]> => parseConntrack((await b.exec('cat', ['/proc/net/nf_conntrack'])).stdout, true);

  test('pings show up with their real byte counts, IPv4 and IPv6, the same from the tool and /proc', async (t) => {
    if (skip) return t.skip(skip);
    await a.exec('ping', ['-c', '3', '-i', '0.2', '-s', '100', '10.77.0.1']);
    await a.exec('ping', ['-6', '-c', '2', '-i', '0.2', 'fd77::1']);
    const tool = await listing();
    const v4 = tool.find((e) => e.proto === 'icmp' && e.origSrc === '10.77.0.2');
    assert.ok(v4, 'no ICMP entry');
    assert.equal(v4.origPackets, 3);
    assert.equal(v4.origBytes, 3 * (100 + 8 + 20));
    assert.equal(v4.replyBytes, 3 * (100 + 8 + 20));
    assert.ok(v4.id !== undefined);
    const v6 = tool.find((e) => e.family === 6 && e.origSrc === 'fd77::2');
    assert.ok(v6, 'no ICMPv6 entry');
    assert.equal(v6.origPackets, 2);
    const proc = await procListing();
    for (const e of [v4, v6]) {
      const same = proc.find((p) => p.key === e.key);
      assert.ok(same, `/proc has no entry keyed ${e.key}`);
      assert.equal(same.origBytes, e.origBytes);
    }
  });

  test('DESTROY events carry the final counters and the same key as the listing', async (t) => {
    if (skip) return t.skip(skip);
    // The same command line as DestroyWatcher, line-buffered: it must deliver events while still running.
    const events = b.spawn('stdbuf', ['-oL', 'conntrack', '-E', '-e', 'DESTROY', '-o', 'extended,id']);
    let out = '';
    events.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      // The listener subscribes a moment after it starts; retry with a fresh flow until one is seen.
      let found: { listed: ConntrackEntry; ev: ConntrackEntry } | null = null;
      for (let attempt = 0; attempt < 10 && !found; attempt++) {
        await new Promise((r) => setTimeout(r, 300));
        await a.exec('ping', ['-c', '2', '-i', '0.2', '-s', '200', '10.77.0.1']);
        const listed = (await listing()).find((e) => e.proto === 'icmp' && e.origSrc === '10.77.0.2' && e.origBytes === 2 * 228);
        assert.ok(listed, 'ping not listed');
        await b.exec('conntrack', ['-D', '-p', 'icmp', '-s', '10.77.0.2']);
        const deadline = Date.now() + 1000;
        while (Date.now() < deadline && !found) {
          const ev = out.split('\n').map((l) => parseConntrackLine(l)).find((e) => e?.key === listed.key);
          if (ev) found = { listed, ev };
          else await new Promise((r) => setTimeout(r, 50));
        }
      }
      assert.ok(found, `no DESTROY event for the deleted flow in: ${out}`);
      assert.equal(found.ev.origBytes, found.listed.origBytes);
      assert.equal(found.ev.replyBytes, found.listed.replyBytes);
    } finally {
      events.kill();
    }
  });

  test('device totals never go backwards across a real counter reset (conntrack -L --zero), and rates stay sane', async (t) => {
    if (skip) return t.skip(skip);
    await b.exec('conntrack', ['-F']).catch(() => undefined);
    const pinger = a.spawn('ping', ['-i', '0.1', '-s', '500', '10.77.0.1']);
    try {
      const book = new DeviceBook({ lan: new CidrSet('10.77.0.0/24'), exclude: new Set(['10.77.0.1']) });
      const totals: number[] = [];
      const rates: number[] = [];
      let now = Date.now();
      const step = async () => {
        await new Promise((r) => setTimeout(r, 500));
        now += 500;
        const d = book.poll(await listing(), now).devices.find((x) => x.ip === '10.77.0.2');
        if (d) {
          totals.push(d.txBytes);
          rates.push(d.txBps);
        }
      };
      await step();
      await step();
      await step();
      await b.exec('conntrack', ['-L', '--zero']);
      await step();
      await step();
      assert.ok(totals.length >= 4, 'device not seen');
      for (let i = 1; i < totals.length; i++) assert.ok(totals[i] >= totals[i - 1], `total went backwards: ${totals.join(', ')}`);
      // ~10 pings/s of 528 bytes each way: never negative, never a jump beyond what the link did.
      for (const r of rates) assert.ok(r >= 0 && r < 20_000, `rate ${r} B/s out of line (${rates.join(', ')})`);
      assert.ok(totals[totals.length - 1] > totals[1], 'no growth after the reset');
    } finally {
      pinger.kill();
    }
  });

  test('ensureAccounting switches nf_conntrack_acct on and reports when it cannot', async (t) => {
    if (skip) return t.skip(skip);
    // A stand-in file for the sysctl: the real one belongs to the test process's namespace (the host).
    const file = path.join(tmp, 'acct');
    fs.writeFileSync(file, '0\n');
    assert.deepEqual(await ensureAccounting(true, file), { on: true, enabled: true });
    assert.equal(fs.readFileSync(file, 'utf8').trim(), '1');
    fs.writeFileSync(file, '0\n');
    const off = await ensureAccounting(false, file);
    assert.equal(off.on, false);
    assert.match(off.reason ?? '', /counters will be zero/);
    const missing = await ensureAccounting(true, path.join(tmp, 'nope'));
    assert.match(missing.reason ?? '', /not loaded/);
  });

  test('a missing conntrack tool is named with its Debian package', async (t) => {
    if (skip) return t.skip(skip);
    const saved = process.env.PATH;
    process.env.PATH = tmp; // nothing there: the tool cannot be found
    try {
      await assert.rejects(new ConntrackReader('tool').read(), /install the Debian package 'conntrack'/);
    } finally {
      process.env.PATH = saved;
    }
  });
});
