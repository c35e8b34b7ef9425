/**
 * scripts/router-start.sh and router-stop.sh with veth pairs in place of
 * Wi-Fi (--no-hostapd): a real router in a namespace that a DHCP client
 * gets an address from and reaches the "internet" namespace through NAT;
 * starting twice changes nothing more; stop puts iptables and sysctl back
 * exactly. The hostapd config (which needs Wi-Fi hardware to run) is
 * checked as generated text.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../support/netns';
import { packageRoot } from '../support/red-runtime';

const START = path.join(packageRoot, 'scripts', 'router-start.sh');
const STOP = path.join(packageRoot, 'scripts', 'router-stop.sh');

function runScript(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** iptables-save without comments and counters: the rules and chain policies. */
async function rules(ns: Netns): Promise<string> {
  const { stdout } = await ns.exec('iptables-save', []);
  return stdout.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/, '')).join('\n');
}

describe('router scripts: hostapd config text', () => {
  const base = ['--print-hostapd-conf', '--lan', 'wlan0', '--ssid', 'Home & Co / 2.4', '--passphrase', 'correct horse battery'];

  test('fills the template with the interface, SSID, passphrase, channel and country, special characters intact', async () => {
    const r = await runScript([START, ...base, '--channel', '11', '--country', 'DE']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    for (const want of ['interface=wlan0', 'ssid=Home & Co / 2.4', 'wpa_passphrase=correct horse battery', 'channel=11', 'hw_mode=g', 'country_code=DE', 'wpa=2']) {
      assert.ok(lines.includes(want), `missing '${want}' in:\n${r.stdout}`);
    }
    assert.doesNotMatch(r.stdout, /@[A-Z_]+@/, 'placeholder left unfilled');
    const five = await runScript([START, ...base, '--channel', '36']);
    assert.ok(five.stdout.split('\n').includes('hw_mode=a'), '5 GHz channel needs hw_mode=a');
  });

  test('refuses bad values with the reason', async () => {
    const cases: [string[], RegExp][] = [
      [['--print-hostapd-conf', '--lan', 'wlan0', '--ssid', 'x', '--passphrase', 'short'], /passphrase must be 8-63/],
      [[...base, '--channel', '15'], /channel must be 1-14/],
      [[...base, '--country', 'germany'], /country must be a two-letter/],
      [['--print-hostapd-conf', '--lan', 'wlan0;reboot', '--ssid', 'x', '--passphrase', '12345678'], /--lan must be an interface name/],
      [['--print-hostapd-conf', '--lan', 'wlan0', '--ssid', 'x'.repeat(33), '--passphrase', '12345678'], /ssid must be at most 32 bytes/],
      [['--print-hostapd-conf', '--lan', 'wlan0', '--ssid', 'a\nb', '--passphrase', '12345678'], /control characters/],
    ];
    for (const [args, reason] of cases) {
      const r = await runScript([START, ...args]);
      assert.notEqual(r.code, 0, `accepted ${args.join(' ')}`);
      assert.match(r.stderr, reason);
      assert.equal(r.stdout, '', 'printed a config despite the error');
    }
  });
});

describe('router scripts in namespaces (veths for Wi-Fi)', () => {
  let skip: string | null = null;
  let lab: Lab;
  let router: Netns;
  let dev: Netns;
  let inet: Netns;
  let lanIf = '';
  let wanIf = '';
  let devIf = '';
  let tmp = '';
  let stateDir = '';

  before(async () => {
    skip = (await netnsUnavailable()) ?? (await toolMissing('dnsmasq', 'udhcpc', 'iptables', 'iptables-save'));
    if (skip) return;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-rscript-'));
    stateDir = path.join(tmp, 'state');
    lab = new Lab();
    router = await lab.host('rtr');
    dev = await lab.host('dev');
    inet = await lab.host('net');
    const lan = await lab.link(router, '', dev, '');
    const wan = await lab.link(router, '10.66.2.1/24', inet, '10.66.2.2/24');
    lanIf = lan.aIf;
    devIf = lan.bIf;
    wanIf = wan.aIf;
    // Someone else's rules that stop must leave alone.
    await router.exec('iptables', ['-A', 'FORWARD', '-p', 'tcp', '--dport', '9', '-j', 'DROP']);
    await router.exec('iptables', ['-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', '9', '-j', 'RETURN']);
  });

  after(async () => {
    try {
      if (!skip && stateDir) await router.exec('bash', [STOP, '--state-dir', stateDir]).catch(() => undefined);
    } finally {
      await lab?.cleanup();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('start makes a working router, a second start changes nothing, stop restores iptables and sysctl', async (t) => {
    if (skip) return t.skip(skip);
    const args = [START, '--lan', lanIf, '--wan', wanIf, '--no-hostapd', '--no-dns', '--address', '10.66.1.1/24', '--state-dir', stateDir, '--lease-file', path.join(tmp, 'leases')];
    const rulesBefore = await rules(router);
    const fwdBefore = (await router.exec('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim();
    assert.equal(fwdBefore, '0');

    await router.exec('bash', args);
    const rulesOnce = await rules(router);
    assert.match(rulesOnce, new RegExp(`-A POSTROUTING -o ${wanIf} -m comment --comment ips-router -j MASQUERADE`));
    assert.equal((await router.exec('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim(), '1');
    const pid = fs.readFileSync(path.join(stateDir, 'dnsmasq.pid'), 'utf8').trim();

    // Idempotent: same rules, same dnsmasq.
    await router.exec('bash', args);
    assert.equal(await rules(router), rulesOnce);
    assert.equal(fs.readFileSync(path.join(stateDir, 'dnsmasq.pid'), 'utf8').trim(), pid);
    assert.equal((await router.exec('ip', ['-4', '-o', 'addr', 'show', 'dev', lanIf])).stdout.match(/10\.66\.1\.1\//g)?.length, 1);

    // A LAN client gets an address over DHCP and reaches the WAN side through NAT.
    const script = path.join(tmp, 'udhcpc.sh');
    fs.writeFileSync(script, '#!/bin/sh\ncase "$1" in\n  bound|renew) ip -4 addr flush dev "$interface"; ip -4 addr add "$ip/$subnet" dev "$interface"; ip -4 route replace default via "${router%% *}" ;;\nesac\n', { mode: 0o755 });
    await dev.exec('udhcpc', ['-i', devIf, '-n', '-q', '-f', '-t', '5', '-T', '1', '-s', script, '-x', 'hostname:lan-client'], { timeoutMs: 20_000 });
    await dev.exec('ping', ['-c', '1', '-W', '2', '10.66.2.2']);
    assert.match(fs.readFileSync(path.join(tmp, 'leases'), 'utf8'), /10\.66\.1\.\d+ lan-client/);

    await router.exec('bash', [STOP, '--state-dir', stateDir]);
    assert.equal(await rules(router), rulesBefore);
    assert.equal((await router.exec('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim(), fwdBefore);
    assert.doesNotMatch((await router.exec('ip', ['-4', '-o', 'addr', 'show', 'dev', lanIf])).stdout, /10\.66\.1\.1/);
    assert.throws(() => process.kill(Number(pid), 0), 'dnsmasq still running');
    assert.ok(!fs.existsSync(path.join(stateDir, 'state')));
    // Stop twice: nothing to undo, no error.
    const again = await router.exec('bash', [STOP, '--state-dir', stateDir]);
    assert.match(again.stdout, /nothing to undo/);
  });
});
