/**
 * The shipped flows must only block an alert's `src` when that source is the
 * offender. Runs the flows' own function-node code (as Node-RED would: the
 * body of a function taking `msg`) on alerts of every kind.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import path from 'node:path';
import fs from 'node:fs';
import { packageRoot } from '../support/red-runtime';

interface FlowNode { type: string; name?: string; func?: string }

function loadFunc(flowFile: string, name: string): (msg: Record<string, unknown>) => unknown {
  const flow = JSON.parse(fs.readFileSync(path.join(packageRoot, 'flows', flowFile), 'utf8')) as FlowNode[];
  const node = flow.find((n) => n.type === 'function' && n.name === name);
  assert.ok(node?.func, `${flowFile} has a function node '${name}'`);
  const context = { store: new Map<string, unknown>(), get(k: string) { return this.store.get(k); }, set(k: string, v: unknown) { this.store.set(k, v); } };
  return vm.runInNewContext(`(function (msg) {\n${node.func}\n})`, { context, node: { status() {} } }) as (msg: Record<string, unknown>) => unknown;
}

const alerts = {
  floodSrc: { rule: 'flood.syn.src', category: 'flood', severity: 'high', src: '10.0.0.66' },
  floodDst: { rule: 'flood.syn.dst', category: 'flood', severity: 'high', src: '203.0.113.7' },
  sqli: { rule: 'payload.sqli.union', category: 'payload', severity: 'high', src: '10.0.0.66' },
  bandwidthLimit: { rule: 'bandwidth.limit', category: 'bandwidth', severity: 'medium', src: '192.168.1.20' },
  bandwidthClear: { rule: 'bandwidth.clear', category: 'bandwidth', severity: 'low', src: '192.168.1.20' },
  policy: { rule: 'policy.destination', category: 'policy', severity: 'medium', src: '192.168.1.21' },
};

describe('shipped flows: which alerts reach iptables-block', () => {
  it('router: only alerts that name their offender block it', () => {
    const filter = loadFunc('router-ips.json', 'offenders only → block');
    const passed = Object.entries(alerts).filter(([, a]) => filter({ payload: a }) !== null).map(([k]) => k);
    assert.deepEqual(passed, ['floodSrc', 'sqli']);
  });

  it('analyst: high-severity offenders block only while the switch is on', () => {
    const gate = loadFunc('analyst-ids.json', 'high severity → block (when switched on)');
    assert.equal(gate({ payload: alerts.sqli }), null, 'switch off: nothing blocks');
    gate({ topic: 'block-high', payload: true });
    const passed = Object.entries(alerts).filter(([, a]) => gate({ payload: a }) !== null).map(([k]) => k);
    assert.deepEqual(passed, ['floodSrc', 'sqli']);
  });
});
