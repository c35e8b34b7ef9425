/**
 * ip-reputation against real traffic and the real kernel, in network
 * namespaces: a LAN device behind a router, and an "internet" namespace that
 * holds the gateway (203.0.113.254), a listed C2 address (198.51.100.66) and
 * an unlisted server (198.51.100.80), each with a TCP server. The list also
 * holds 203.0.113.0/24, which contains the router's own WAN address and its
 * gateway: neither may reach a blocking set. The engine's kernel commands run
 * inside the router namespace (NetnsRunner); the list is served by an HTTP
 * server on loopback in this process, and stopped to play "network down".
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Lab, Netns, RASPBERRY_PI_MAC, netnsUnavailable, toolMissing } from '../support/netns';
import { ExecRunner, NetnsRunner } from '../../lib/net/firewall/runner';
import { ReputationEngine, reputationSchema, type ReputationSettings } from '../../lib/net/reputation/engine';
import { defaultsOf } from '../../lib/base/settings';
import { CaptureFileReader } from '../../lib/capture/pcap-file';
import { decodeRecord } from '../../lib/packet/decode';
import type { Alert } from '../../lib/detect/alert';

const C2 = '198.51.100.66';
const OTHER = '198.51.100.80';
const GATEWAY = '203.0.113.254';
const WAN = '203.0.113.1';

let skip: string | null = null;
let lab: Lab;
let router: Netns;
let device: Netns;
let inet: Netns;
let lanIf = '';
let dir = '';
let listText = `# c2 list\n${C2}\n203.0.113.0/24\n`;
let server: http.Server | null = null;
let url = '';

async function serve(): Promise<void> {
  server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(listText));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/c2.txt`;
}

async function stopServing(): Promise<void> {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = null;
}

before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('ipset', 'nft', 'iptables', 'tcpdump', 'python3', 'curl', 'ping'));
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-rep-kernel-'));
  lab = new Lab();
  router = await lab.host('router');
  device = await lab.host('device');
  inet = await lab.host('inet');
  ({ aIf: lanIf } = await lab.link(router, '192.168.77.1/24', device, '192.168.77.2/24', { bMac: RASPBERRY_PI_MAC }));
  await lab.link(router, `${WAN}/24`, inet, `${GATEWAY}/24`);
  await router.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await router.exec('ip', ['route', 'add', 'default', 'via', GATEWAY]);
  await device.exec('ip', ['route', 'add', 'default', 'via', '192.168.77.1']);
  for (const ip of [C2, OTHER]) await inet.exec('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo']);
  await inet.exec('ip', ['route', 'add', '192.168.77.0/24', 'via', WAN]);
  inet.spawn('python3', ['-m', 'http.server', '8080', '--bind', '0.0.0.0'], { cwd: dir });
  for (let i = 0; i < 100; i++) {
    try {
      await inet.exec('curl', ['-s', '-o', '/dev/null', '--max-time', '1', `http://${OTHER}:8080/`]);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await serve();
});

after(async () => {
  await stopServing();
  await lab?.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function engine(kind: 'ipset' | 'nftables', extra: Partial<ReputationSettings> = {}): ReputationEngine {
  const settings: ReputationSettings = {
    ...defaultsOf(reputationSchema),
    sources: JSON.stringify([{ name: 'c2', url, category: 'c2', refreshS: 0 }]),
    enforce: kind,
    geoip: false,
    timeoutS: 3,
    ...extra,
  };
  return new ReputationEngine('ip-reputation', settings, { userDir: path.join(dir, kind), refreshed: () => undefined, warn: () => undefined, kernel: () => undefined, runner: new NetnsRunner(new ExecRunner(), router.name) });
}

/** Whether one ping from the device gets an answer. */
async function pings(ip: string): Promise<boolean> {
  try {
    await device.exec('ping', ['-c', '1', '-W', '1', ip]);
    return true;
  } catch {
    return false;
  }
}

/** Whether a TCP connection from the device gets an HTTP answer. */
async function connects(ip: string): Promise<boolean> {
  try {
    await device.exec('curl', ['-s', '-o', '/dev/null', '--max-time', '2', `http://${ip}:8080/`]);
    return true;
  } catch {
    return false;
  }
}

/** Addresses of `ips` that the kernel set of `kind` holds. */
async function inKernelSet(kind: 'ipset' | 'nftables', ips: string[], family: 4 | 6 = 4): Promise<string[]> {
  const held: string[] = [];
  for (const ip of ips) {
    try {
      if (kind === 'ipset') await router.exec('ipset', ['test', `ips-rep-v${family}`, ip]);
      else await router.exec('nft', ['get', 'element', 'inet', 'ips_rep', `rep${family}`, `{ ${ip} }`]);
      held.push(ip);
    } catch {
      // not in the set
    }
  }
  return held;
}

describe('ip-reputation: real traffic and kernel sets in namespaces', () => {
  it('a LAN device reaching a listed address raises the alert with its MAC and vendor', async (t) => {
    if (skip) return t.skip(skip);
    const e = engine('ipset', { enforce: 'off' });
    await e.start();
    const file = path.join(dir, 'lan.pcap');
    const dump = router.spawn('tcpdump', ['-n', '--immediate-mode', '-i', lanIf, '-s', '128', '-U', '-w', file]);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      dump.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        if (/listening on/.test(err)) resolve();
      });
      dump.on('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${err}`)));
    });
    assert.ok(await connects(C2), 'not enforcing: the connection works');
    assert.ok(await connects(OTHER));
    const exited = new Promise<void>((resolve) => dump.once('exit', () => resolve()));
    dump.kill('SIGINT');
    await exited;
    const alerts: Alert[] = [];
    for await (const records of new CaptureFileReader(file)) alerts.push(...e.process(records.map((r) => decodeRecord(r))));
    await e.close(false);
    const out = alerts.filter((a) => a.rule === 'reputation.outbound');
    assert.equal(out.length, 1, `one alert for the device and list, got ${alerts.map((a) => `${a.rule} ${a.src}>${a.dst}`).join(', ')}`);
    assert.equal(out[0].device, '192.168.77.2');
    assert.equal(out[0].deviceMac, RASPBERRY_PI_MAC);
    assert.equal(out[0].deviceVendor, 'Raspberry Pi Foundation');
    assert.equal(out[0].offender, C2);
    assert.equal(out[0].listEntry, `${C2}/32`);
    assert.ok(out[0].count >= 1);
    assert.equal(alerts.filter((a) => a.dst === OTHER || a.src === OTHER).length, 0, 'nothing about the unlisted server');
  });

  for (const kind of ['ipset', 'nftables'] as const) {
    it(`${kind}: the set drops the listed address (ping and TCP) and nothing else; own and gateway addresses are never in it; the allowlist wins`, async (t) => {
      if (skip) return t.skip(skip);
      listText = `# c2 list\n${C2}\n203.0.113.0/24\n2001:db8:66::/48\n`;
      const e = engine(kind, { allowlist: ['203.0.113.7', '2001:db8:66::7'] });
      try {
        await e.start();
        assert.equal(e.kernelState?.ok, true, e.kernelState?.text);
        assert.equal(await pings(C2), false, 'ping to the listed address dropped');
        assert.equal(await connects(C2), false, 'TCP to the listed address dropped');
        assert.ok(await pings(OTHER), 'other destinations work');
        assert.ok(await connects(OTHER));
        assert.ok((await router.exec('ping', ['-c', '1', '-W', '1', GATEWAY])).stdout.includes('1 received'), 'the router still reaches its gateway');
        assert.deepEqual(await inKernelSet(kind, [C2, '203.0.113.5', '203.0.113.200', WAN, GATEWAY, '203.0.113.7']), [C2, '203.0.113.5', '203.0.113.200'],
          'the listed network is loaded without the own WAN address, the gateway and the allowlisted address');
        assert.deepEqual(await inKernelSet(kind, ['2001:db8:66::1', '2001:db8:66:ffff::1', '2001:db8:66::7', '2001:db8:67::1'], 6), ['2001:db8:66::1', '2001:db8:66:ffff::1'],
          'IPv6: the listed network without the allowlisted address');
      } finally {
        await e.close(true);
      }
      assert.ok(await pings(C2), 'removing the node removes its sets');
    });
  }

  it('ipset: a refresh that removes the address restores it with no gap for the others; a restart with the network down enforces the cached list', async (t) => {
    if (skip) return t.skip(skip);
    listText = `# c2 list\n${C2}\n198.51.100.99\n`;
    const e = engine('ipset', { protectOwn: true });
    await e.start();
    try {
      assert.equal(await pings(C2), false);
      // 300 pings at 5 ms to an unlisted address across the swap: none lost.
      const steady = device.exec('ping', ['-c', '300', '-i', '0.005', '-W', '1', OTHER], { timeoutMs: 60_000 });
      listText = '# c2 list\n198.51.100.99\n';
      const [outcome] = await e.refresh();
      assert.equal(outcome.result, 'updated', outcome.reason);
      const { stdout } = await steady;
      assert.match(stdout, /300 packets transmitted, 300 received/);
      assert.ok(await pings(C2), 'the address taken off the list is reachable again');
      assert.ok(await connects(C2));

      // Back on the list, then Node-RED stops; the kernel set is gone (as after a reboot) and the list server is down.
      listText = `# c2 list\n${C2}\n198.51.100.99\n`;
      await e.refresh();
      assert.equal(await pings(C2), false);
    } finally {
      await e.close(true);
    }
    assert.ok(await pings(C2), 'no set, no block');
    await stopServing();
    const restarted = engine('ipset');
    try {
      await restarted.start();
      assert.equal(await pings(C2), false, 'the cached list is enforced with the network down');
      assert.equal(await connects(C2), false);
      assert.ok(await connects(OTHER));
      const [outcome] = await restarted.refresh();
      assert.equal(outcome.result, 'failed');
      assert.match(outcome.reason, /ECONNREFUSED.*keeping the good copy \(2 entries\)/);
      assert.equal(await pings(C2), false, 'a failed refresh keeps enforcing');
    } finally {
      await restarted.close(true);
      await serve();
    }
  });
});
