/**
 * The shipped router flow (flows/router-ips.json) in a real Node-RED with the
 * pack and node-red-dashboard installed, run inside a network namespace (as
 * on the router: conntrack, NFQUEUE and the firewall are per namespace): it
 * deploys with every type known and no node errors, the blocklist starts in
 * dry run, and a device namespace pinging the router shows up in the device
 * list with its vendor and a rate, its block switch state following the
 * blocklist (the switch's message injected here; tests/browser/router.test.ts
 * clicks it in the dashboard).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Lab, netnsUnavailable, RASPBERRY_PI_MAC, routerWithDevice, toolMissing, type Netns } from '../support/netns';
import type { Alert } from '../../lib/detect/alert';
import { startChildRuntime, type ChildRuntime } from '../support/red-process';
import { packageRoot } from '../support/red-runtime';
import { shippedFlow } from '../support/browser';
import { eventually } from '../support/wait';

describe('flows/router-ips.json', () => {
  const flow = shippedFlow('router-ips');

  it('is what scripts/make-flows.js generates', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gen = require(path.join(packageRoot, 'scripts', 'make-flows.js')) as { outputs(): Record<string, string> };
    assert.deepEqual(JSON.parse(gen.outputs()['router-ips.json']), flow);
  });

  describe('deployed inside a router namespace', async () => {
    const skip = (await netnsUnavailable()) ?? (await toolMissing('iptables', 'ping', 'conntrack'));
    let lab: Lab;
    let rt: ChildRuntime;
    let deviceNs: Netns;
    before(async () => {
      if (skip) return;
      lab = new Lab();
      const { router, device } = await routerWithDevice(lab, '10.99.0', { track: true });
      deviceNs = device;
      rt = await startChildRuntime(flow, ['router.device-view', 'router.device-list', 'router.stamp-blocklist', 'router.blocklist', 'router.chart-hour'], {
        ns: router,
        modules: ['node-red-dashboard'],
        env: { ...process.env, IPS_LAN_CIDR: '10.99.0.0/24' },
        timeoutMs: 60_000,
      });
    });
    after(async () => {
      await rt?.stop();
      await lab?.cleanup();
    });

    it('deploys with every type known and no errors; the blocklist is a dry run', { skip: skip ?? false }, async () => {
      const list = await rt.waitFor('router.stamp-blocklist', (m) => m.length > 0, 30_000);
      assert.deepEqual((list[0].msg.payload as { blocked: unknown[] }).blocked, []);
      // what the blocklist view shows: dry run, as IPS_BLOCK_DRYRUN is not 'false'
      const view = await rt.waitFor('router.blocklist', (m) => m.length > 0, 30_000);
      assert.equal((view[0].msg.payload as { dryRun: boolean }).dryRun, true);
      assert.equal(rt.errors.length, 0, rt.diagnostics());
      const bad = rt.log.filter((l) => /missing types|Waiting for missing|\[error\]/.test(l));
      assert.deepEqual(bad, [], rt.diagnostics());
    });

    it('a device pinging the router appears in the device list with its vendor and a rate; its block switch follows the blocklist', { skip: skip ?? false }, async () => {
      interface Row { ip: string; vendor?: string; rxBps: number; txBps: number; blocked: boolean }
      const rows = (m: { msg: Record<string, unknown> }) => ((m.msg.payload as { devices?: Row[] } | undefined)?.devices ?? []);
      const ping = deviceNs.exec('ping', ['-c', '20', '-i', '0.2', '-s', '1000', '10.99.0.1']);
      // the MAC (hence the vendor) comes once the router's neighbour table has it, a poll or two after the first packets
      const seen = await rt.waitFor('router.device-list', (m) => m.some((x) => rows(x).some((d) => d.ip === '10.99.0.2' && d.rxBps + d.txBps > 0 && d.vendor)), 30_000);
      await ping;
      const dev = seen.flatMap(rows).find((d) => d.ip === '10.99.0.2' && d.rxBps + d.txBps > 0 && d.vendor)!;
      assert.match(dev.vendor ?? '', /Raspberry/i);
      assert.equal(dev.blocked, false);
      // the switch sends {topic:'block', payload: ip} to iptables-block; the list comes back and the row shows blocked
      await rt.inject('router.block', { topic: 'block', payload: '10.99.0.2' });
      await rt.waitFor('router.device-list', (m) => rows(m.at(-1)!).some((d) => d.ip === '10.99.0.2' && d.blocked), 15_000);
      await rt.inject('router.block', { topic: 'unblock', payload: '10.99.0.2' });
      await rt.waitFor('router.device-list', (m) => rows(m.at(-1)!).some((d) => d.ip === '10.99.0.2' && !d.blocked), 15_000);
    });

    it('the last-hour chart gets the device\'s traffic from sqlite-log in KB/s, with no error logged', { skip: skip ?? false }, async () => {
      // the pings of the test above are in the history by now (flushed every second); the chart asks every minute, here at once
      interface Chart { series: string[]; data: { x: number; y: number }[][] }
      await rt.inject('router.hour-tick', {});
      const got = await rt.waitFor('router.chart-hour', (m) => m.some((x) => ((x.msg.payload as Chart[])[0]?.series ?? []).includes('10.99.0.2')), 30_000);
      const chart = (got.at(-1)!.msg.payload as Chart[])[0];
      const points = chart.data[chart.series.indexOf('10.99.0.2')];
      assert.ok(points.length > 0 && points.every((p) => Number.isFinite(p.x) && p.y >= 0), JSON.stringify(chart));
      assert.ok(points.some((p) => p.y > 0), 'the pings show as traffic');
      assert.deepEqual(rt.log.filter((l) => /\[error\]/.test(l)), [], rt.diagnostics());
    });
  });

  describe('with IPS_BLOCK_DRYRUN=false', async () => {
    const skip = (await netnsUnavailable()) ?? (await toolMissing('iptables', 'ipset', 'ping'));
    let lab: Lab;
    let rt: ChildRuntime;
    let deviceNs: Netns;
    before(async () => {
      if (skip) return;
      lab = new Lab();
      const { router, device } = await routerWithDevice(lab, '10.98.0');
      deviceNs = device;
      rt = await startChildRuntime(flow, ['router.device-list', 'router.blocklist'], {
        ns: router,
        modules: ['node-red-dashboard'],
        env: { ...process.env, IPS_LAN_CIDR: '10.98.0.0/24', IPS_BLOCK_DRYRUN: 'false' },
        timeoutMs: 60_000,
      });
    });
    after(async () => {
      await rt?.stop();
      await lab?.cleanup();
    });

    it('the block switch message stops the device\'s traffic in the kernel and unblocking restores it', { skip: skip ?? false }, async () => {
      const pingOk = () => deviceNs.exec('ping', ['-c', '1', '-W', '1', '10.98.0.1']).then(() => true, () => false);
      assert.equal(await pingOk(), true);
      await rt.inject('router.block', { topic: 'block', payload: '10.98.0.2' });
      const listed = (m: { msg: Record<string, unknown> }) => ((m.msg.payload as { blocked?: { ip: string }[] }).blocked ?? []).some((b) => b.ip === '10.98.0.2');
      await rt.waitFor('router.blocklist', (m) => m.some(listed), 20_000);
      assert.equal(await eventually(async () => !(await pingOk()), 5000, 250), true, `ping still answered after block: ${JSON.stringify(rt.inbox('router.blocklist').map((m) => m.msg.payload))} ${rt.diagnostics()}`);
      await rt.inject('router.block', { topic: 'unblock', payload: '10.98.0.2' });
      await rt.waitFor('router.blocklist', (m) => !listed(m.at(-1)!), 20_000);
      assert.equal(await eventually(pingOk, 5000, 250), true, 'ping not answered after unblock');
    });
  });

  describe('with IPS_LAN_IFACE set: the LAN watch', async () => {
    const skip = (await netnsUnavailable()) ?? (await toolMissing('arping', 'ping'));
    let lab: Lab;
    let rt: ChildRuntime;
    let deviceNs: Netns;
    before(async () => {
      if (skip) return;
      lab = new Lab();
      const { router, device } = await routerWithDevice(lab, '10.96.0');
      deviceNs = device;
      // routerWithDevice's one link: the router's end is v<tag>0a, the device's v<tag>0b
      rt = await startChildRuntime(flow, ['router.lan-model', 'router.lan-log'], {
        ns: router,
        modules: ['node-red-dashboard'],
        env: { ...process.env, IPS_LAN_CIDR: '10.96.0.0/24', IPS_LAN_IFACE: `v${lab.tag}0a` },
        timeoutMs: 60_000,
      });
    });
    after(async () => {
      await rt?.stop();
      await lab?.cleanup();
    });

    it("a device claiming the router's address (arping -U) is reported in the LAN log with its MAC as offender", { skip: skip ?? false }, async () => {
      await deviceNs.exec('ping', ['-c', '1', '-W', '2', '10.96.0.1']);
      const spoofed = (m: { msg: Record<string, unknown> }) => (m.msg.payload as Alert | undefined)?.rule === 'lan.spoof.gateway';
      // the capture starts a second after deploy: claim until it is seen
      const claim = () => deviceNs.exec('arping', ['-q', '-U', '-P', '-S', '10.96.0.1', '-i', `v${lab.tag}0b`, '-c', '2', '-W', '0.2', '10.96.0.1']).catch(() => undefined);
      assert.equal(await eventually(async () => {
        await claim();
        return rt.inbox('router.lan-model').some(spoofed);
      }, 30_000, 500), true, rt.diagnostics());
      const alert = rt.inbox('router.lan-model').find(spoofed)!.msg.payload as Alert & { srcVendor?: string };
      assert.equal(alert.offender, RASPBERRY_PI_MAC);
      assert.equal(alert.srcVendor, 'Raspberry Pi Foundation');
      await rt.waitFor('router.lan-log', (m) => m.some((x) => JSON.stringify(x.msg.payload).includes('lan.spoof.gateway')), 15_000);
      assert.deepEqual(rt.log.filter((l) => /\[error\]/.test(l)), [], rt.diagnostics());
    });
  });
});
