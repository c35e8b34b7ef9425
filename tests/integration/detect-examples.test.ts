/**
 * The shipped example flows of flood-detect, scan-detect and lan-watch, imported as a
 * user would into a real Node-RED runtime: pressing their inject buttons
 * raises the alerts their comments promise.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot, startRuntime, type FlowNode, type Runtime } from '../support/red-runtime';

/** The example as Node-RED's Import puts it: its nodes on a tab. */
function example(name: string): FlowNode[] {
  const nodes = JSON.parse(fs.readFileSync(path.join(packageRoot, 'examples', `${name}.json`), 'utf8')) as FlowNode[];
  return [{ id: `tab-${name}`, type: 'tab', label: name }, ...nodes.map((n) => ({ ...n, z: `tab-${name}` }))];
}

/** Press an inject node's button (flows start shortly after a deploy returns). */
async function press(rt: Runtime, flow: FlowNode[], injectName: string): Promise<void> {
  const inject = flow.find((n) => n.type === 'inject' && n.name === injectName);
  assert.ok(inject, `inject '${injectName}' in the example`);
  for (let i = 0; i < 250; i++) {
    const node = rt.RED.nodes.getNode(inject.id) as { receive(msg: object): void } | null;
    if (node) return node.receive({});
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`inject '${injectName}' did not start`);
}

const debugId = (flow: FlowNode[], name: string) => flow.find((n) => n.type === 'debug' && n.name === name)!.id;

describe('example flows', () => {
  let rt: Runtime;
  before(async () => {
    rt = await startRuntime([]);
  });
  after(async () => {
    await rt.stop();
  });

  it('flood-detect example: the ping flood button raises flood.icmp.src for 10.0.0.66', async () => {
    const flow = example('flood-detect');
    await rt.deploy(flow);
    await press(rt, flow, 'ping flood');
    const msgs = await rt.waitFor(debugId(flow, 'alerts'), (m) => m.length >= 2);
    const src = msgs.map((m) => m.msg.payload as { rule: string; src: string }).find((a) => a.rule === 'flood.icmp.src');
    assert.equal(src?.src, '10.0.0.66');
    // config raises the threshold above the example's rate: a second press after reset raises nothing
    await press(rt, flow, 'config');
    await press(rt, flow, 'reset');
    const before = msgs.length;
    await press(rt, flow, 'ping flood');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rt.inbox(debugId(flow, 'alerts')).length, before);
  });

  it("lan-watch example: the arpspoof button raises lan.spoof.gateway naming the spoofer's MAC; once it is known, no new-device event for it", async () => {
    const flow = example('lan-watch');
    await rt.deploy(flow);
    await press(rt, flow, 'arpspoof');
    const alerts = () => rt.inbox(debugId(flow, 'alerts')).map((m) => m.msg.payload as { rule: string; offender?: string; srcMac?: string });
    await rt.waitFor(debugId(flow, 'alerts'), () => alerts().some((a) => a.rule === 'lan.spoof.gateway'));
    assert.equal(alerts().find((a) => a.rule === 'lan.spoof.gateway')?.offender, '02:00:00:00:00:66');
    assert.ok(alerts().some((a) => a.rule === 'lan.device.new' && a.srcMac === '02:00:00:00:00:66'));
    await press(rt, flow, 'config');
    await press(rt, flow, 'reset');
    const before = alerts().length;
    await press(rt, flow, 'arpspoof');
    await rt.waitFor(debugId(flow, 'alerts'), (m) => m.slice(before).some((x) => (x.msg.payload as { rule: string }).rule === 'lan.spoof.gateway'));
    assert.ok(!alerts().slice(before).some((a) => a.rule === 'lan.device.new' && a.srcMac === '02:00:00:00:00:66'));
  });

  it('scan-detect example: the port scan button raises scan.vertical, scan.failures and scan.xmas', async () => {
    const flow = example('scan-detect');
    await rt.deploy(flow);
    await press(rt, flow, 'port scan');
    const msgs = await rt.waitFor(debugId(flow, 'alerts'), (m) => m.length >= 3);
    assert.deepEqual(msgs.map((m) => m.msg.topic).sort(), ['scan.failures', 'scan.vertical', 'scan.xmas']);
  });
});
