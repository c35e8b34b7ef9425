/**
 * conntrack-poll in a real Node-RED runtime running inside a network
 * namespace (child process): accounting switched on in that namespace,
 * runtime config and its refusal (seen by a Catch node), a bad LAN at
 * deploy, and the error naming the package when the tool is missing.
 * Rates against iperf3 are in tests/integration/router.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../support/netns';
import { startChildRuntime, type ChildRuntime } from '../support/red-process';
import type { FlowNode } from '../support/red-runtime';
import type { DeviceStats } from '../../lib/net/types';

const flow = (cp: Record<string, unknown>): FlowNode[] => [
  { id: 'tab', type: 'tab', label: 't' },
  { id: 'cp', type: 'conntrack-poll', z: 'tab', name: '', interval: 0.5, lan: '10.79.0.0/24', iface: '', source: 'auto', events: true, flowOutput: 'none', policy: '', policyCooldownS: 600, resolveMac: true, idleS: 60, wires: [['devs'], [], []], ...cp },
  { id: 'devs', type: 'debug', z: 'tab', active: false, wires: [] },
  { id: 'catcher', type: 'catch', z: 'tab', scope: ['cp'], uncaught: false, wires: [['caught']] },
  { id: 'caught', type: 'debug', z: 'tab', active: false, wires: [] },
];

describe('conntrack-poll node in a namespace', () => {
  let skip: string | null = null;
  let lab: Lab;
  let r: Netns;
  let d: Netns;
  const runtimes: ChildRuntime[] = [];
  let tmp = '';

  before(async () => {
    skip = (await netnsUnavailable()) ?? (await toolMissing('conntrack', 'iptables', 'ping'));
    if (skip) return;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-ctnode-'));
    lab = new Lab();
    r = await lab.host('ctr');
    d = await lab.host('ctd');
    await lab.link(r, '10.79.0.1/24', d, '10.79.0.2/24');
    await r.exec('iptables', ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'NEW,ESTABLISHED', '-j', 'ACCEPT']);
  });

  after(async () => {
    for (const rt of runtimes) await rt.stop().catch(() => undefined);
    await lab?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('switches on accounting in its namespace and counts a device; config is validated, bad values reach a Catch node', async (t) => {
    if (skip) return t.skip(skip);
    assert.equal((await r.exec('sysctl', ['-n', 'net.netfilter.nf_conntrack_acct'])).stdout.trim(), '0');
    const rt = await startChildRuntime(flow({}), ['devs', 'caught'], { ns: r });
    runtimes.push(rt);
    await rt.waitFor('devs', (m) => m.length >= 1, 15_000);
    assert.equal((await r.exec('sysctl', ['-n', 'net.netfilter.nf_conntrack_acct'])).stdout.trim(), '1');
    await d.exec('ping', ['-c', '3', '-i', '0.2', '10.79.0.1']);
    await rt.waitFor('devs', (m) => m.some((x) => (x.msg.payload as DeviceStats[]).some((s) => s.ip === '10.79.0.2' && s.txBytes >= 3 * 84)), 10_000);
    await rt.inject('cp', { topic: 'config', payload: { interval: -1, flowOutput: 'sometimes' } });
    const caught = await rt.waitFor('caught', (m) => m.length >= 1, 5000).catch((e: Error) => { throw new Error(e.message + rt.log.join('\n') + rt.errors.join(' ')); });
    assert.match(JSON.stringify(caught[0].msg.error), /interval must be >= 0.*flowOutput must be one of none, new, ended, all/);
    await rt.stop();
  });

  test('a bad LAN is refused at deploy with the reason', async (t) => {
    if (skip) return t.skip(skip);
    const rt = await startChildRuntime(flow({ lan: '10.79.0.0/33' }), ['devs'], { ns: r });
    runtimes.push(rt);
    const deadline = Date.now() + 5000;
    while (!rt.log.some((l) => /prefix length must be 0-32/.test(l)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    assert.ok(rt.log.some((l) => /invalid CIDR '10\.79\.0\.0\/33'/.test(l)), rt.log.join('\n'));
    assert.equal(rt.inbox('devs').length, 0);
    await rt.stop();
  });

  test('without the conntrack tool (and source = tool) the error names the Debian package', async (t) => {
    if (skip) return t.skip(skip);
    // A PATH with only `ip` on it: the runtime starts in the namespace, conntrack is not found.
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(execFileSync('sh', ['-c', 'command -v ip']).toString().trim(), path.join(bin, 'ip'));
    const rt = await startChildRuntime(flow({ source: 'tool', events: false }), ['devs'], { ns: r, env: { ...process.env, PATH: bin } });
    runtimes.push(rt);
    const deadline = Date.now() + 8000;
    while (!rt.log.some((l) => /install the Debian package 'conntrack'/.test(l)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    assert.ok(rt.log.some((l) => /install the Debian package 'conntrack'/.test(l)), rt.log.join('\n'));
    await rt.stop();
  });
});
