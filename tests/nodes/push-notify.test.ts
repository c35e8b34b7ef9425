/**
 * push-notify as the shipped router flow has it (flows/router-ips.json: its
 * node, configured from the tab's environment) in a real Node-RED, with a
 * local HTTP receiver in place of the ntfy service: off by default; with
 * IPS_NOTIFY=ntfy a flood's repeated alerts give one push and one digest, a
 * new device and a block give theirs.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRuntime, type FlowNode, type Runtime } from '../support/red-runtime';
import { shippedFlow } from '../support/browser';
import { startPushReceiver, type PushReceiver } from '../support/push-receiver';

interface Receiver { receive(msg: Record<string, unknown>): void }

const FLOOD = { ts: 0, rule: 'flood.icmp.src', sid: 1000003, signature: 'ICMP echo flood from one source', category: 'flood', severity: 'high', action: 'drop',
  src: '192.168.1.20', dst: '192.168.1.1', offender: '192.168.1.20', proto: 'icmp', count: 600, windowMs: 1000, threshold: 50, reason: '600 ICMP echo requests in 1 s', detector: 'flood' };

/** The router flow's tab and its push-notify node alone, wired to nothing (the rest needs a router). */
function notifyFlow(): FlowNode[] {
  const flow = shippedFlow('router-ips');
  const notify = flow.find((n) => n.type === 'push-notify');
  assert.ok(notify, 'the router flow has a push-notify node');
  assert.equal(notify.service, '${NOTIFY}');
  return [flow.find((n) => n.type === 'tab')!, { ...notify, wires: [[]] }];
}

const ENV = ['IPS_NOTIFY', 'IPS_NOTIFY_URL', 'IPS_NOTIFY_INTERVAL'];

describe('push-notify in the router flow', () => {
  let rt: Runtime | null = null;
  let rx: PushReceiver | null = null;
  const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
  after(async () => {
    await rt?.stop();
    await rx?.close();
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('is off by default: nothing is pushed', async () => {
    rx = await startPushReceiver();
    for (const k of ENV) delete process.env[k];
    rt = await startRuntime(notifyFlow());
    const node = () => rt!.RED.nodes.getNode('router.notify') as Receiver;
    const out = rt.inbox('router.notify');
    node().receive({ topic: 'flood.icmp.src', payload: FLOOD });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.requests.length, 0);
    assert.equal(out.length, 1, 'the node got the alert');
  });

  it('IPS_NOTIFY=ntfy: one push per device and rule, the repeats in one digest, new devices and blocks pushed', async () => {
    process.env.IPS_NOTIFY = 'ntfy';
    process.env.IPS_NOTIFY_URL = `${rx!.url}/ips-home`;
    rx!.requests.length = 0;
    await rt!.deploy(notifyFlow());
    const node = () => rt!.RED.nodes.getNode('router.notify') as Receiver;
    // the deploy resolves before the new node has started
    for (let i = 0; i < 200 && !rt!.RED.nodes.getNode('router.notify'); i++) await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 12; i++) node().receive({ topic: 'flood.icmp.src', payload: { ...FLOOD, count: 600 + i, reason: `ICMP echo flood, report ${i}` } });
    await rx!.waitFor(1);
    // the first device list is what is there; the second has a new device
    node().receive({ topic: 'devices', payload: [{ ip: '192.168.1.20', rxBytes: 0, txBytes: 0, rxBps: 0, txBps: 0, flows: 1, lastSeen: 0 }] });
    node().receive({ topic: 'devices', payload: [{ ip: '192.168.1.20', rxBytes: 0, txBytes: 0, rxBps: 0, txBps: 0, flows: 1, lastSeen: 0 },
      { ip: '192.168.1.77', vendor: 'Espressif Inc.', rxBytes: 0, txBytes: 0, rxBps: 0, txBps: 0, flows: 1, lastSeen: 0 }] });
    node().receive({ topic: 'blocklist', payload: { blocked: [{ ip: '192.168.1.20', since: 0, expires: 1, reason: 'ICMP echo flood from one source', rule: 'flood.icmp.src' }] },
      results: [{ action: 'block', ip: '192.168.1.20', durationS: 3600, extended: false, offences: 1 }] });
    await rx!.waitFor(3);
    node().receive({ topic: 'flush' });
    const got = await rx!.waitFor(4);
    assert.deepEqual(got.map((r) => [r.path, r.headers.title, r.body]), [
      ['/ips-home', 'high: ICMP echo flood from one source', 'ICMP echo flood, report 0'],
      ['/ips-home', 'new device 192.168.1.77', '192.168.1.77 (Espressif Inc.) joined the LAN'],
      ['/ips-home', 'blocked 192.168.1.20', 'ICMP echo flood from one source (for 3600 s)'],
      ['/ips-home', '11 more events (repeats)', 'flood.icmp.src 192.168.1.20 ×11: ICMP echo flood, report 11'],
    ]);
  });
});
