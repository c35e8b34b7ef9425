/**
 * The router flow's flow model is off by default: its gate (on the tab's
 * FLOW_ML, from IPS_FLOW_ML) sends the inline packets straight back to
 * nfqueue-in, and through flow-meter → flow-classify only when it is on. The
 * gate runs here in a real Node-RED with the shipped tab (its environment)
 * and its wiring, its two outputs ending in capture nodes. The model's
 * verdicts on real traffic through NFQUEUE are tested in
 * tests/integration/flow-classify-inline.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot, startRuntime, type FlowNode, type Runtime } from '../support/red-runtime';

const flow = JSON.parse(fs.readFileSync(path.join(packageRoot, 'flows', 'router-ips.json'), 'utf8')) as FlowNode[];

/** Where the gate sends a packet batch when IPS_FLOW_ML is `value` (undefined: unset). */
async function route(value: string | undefined): Promise<string[]> {
  const saved = process.env.IPS_FLOW_ML;
  if (value === undefined) delete process.env.IPS_FLOW_ML;
  else process.env.IPS_FLOW_ML = value;
  let rt: Runtime | undefined;
  try {
    const tab = flow.find((n) => n.type === 'tab')!;
    const gate = flow.find((n) => n.id === 'router.ml-gate')!;
    const targets = (gate.wires as string[][]).map((out) => out[0]);
    // the gate's targets as capture nodes of the same ids: what reaches them is where the gate sent it
    const sinks = targets.map((id) => ({ id, type: 'debug', z: tab.id, active: false, wires: [] }));
    rt = await startRuntime([tab, gate, ...sinks]);
    const boxes = targets.map((id) => rt!.inbox(id));
    const packet = { ts: 1, src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', id: 1 };
    (rt.RED.nodes.getNode(gate.id) as { receive(m: object): void }).receive({ payload: [packet] });
    // one send carries the message to one output or the other: once one box has it, the other's share was delivered too
    await rt.waitFor(gate.id, () => boxes.some((b) => b.length > 0), 10_000);
    return targets.filter((_, i) => boxes[i].length > 0);
  } finally {
    await rt?.stop();
    if (saved === undefined) delete process.env.IPS_FLOW_ML;
    else process.env.IPS_FLOW_ML = saved;
  }
}

describe('router flow: the flow model gate (FLOW_ML)', () => {
  it('sends the packets straight back to nfqueue-in by default', async () => {
    assert.deepEqual(await route(undefined), ['router.nfq']);
    assert.deepEqual(await route('off'), ['router.nfq']);
  });
  it('sends them through flow-meter when IPS_FLOW_ML=on', async () => {
    assert.deepEqual(await route('on'), ['router.meter']);
  });
  it('flow-meter feeds both its outputs to flow-classify, which drops by source and returns the packets to nfqueue-in', () => {
    const byId = new Map(flow.map((n) => [n.id, n]));
    assert.deepEqual(byId.get('router.meter')!.wires, [['router.classify'], ['router.classify']]);
    const classify = byId.get('router.classify')!;
    assert.equal(classify.action, 'drop');
    assert.equal(classify.dropScope, 'source');
    assert.deepEqual((classify.wires as string[][])[0], ['router.nfq']);
  });
});
