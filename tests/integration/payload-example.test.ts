/**
 * The shipped payload-match example flow, imported as a user would into a
 * real Node-RED runtime: its buttons raise the alerts its comment promises.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot, startRuntime, type FlowNode, type Runtime } from '../support/red-runtime';
import type { Alert } from '../../lib/detect/alert';

const flow: FlowNode[] = [
  { id: 'tab-pm', type: 'tab', label: 'payload-match' },
  ...(JSON.parse(fs.readFileSync(path.join(packageRoot, 'examples', 'payload-match.json'), 'utf8')) as FlowNode[]).map((n) => ({ ...n, z: 'tab-pm' })),
];
const idOf = (type: string, name: string): string => {
  const n = flow.find((x) => x.type === type && x.name === name);
  assert.ok(n, `${type} '${name}' in the example`);
  return n.id;
};

/** Press an inject node's button, once the deployed flow has started it (slow on a busy machine). */
async function press(rt: Runtime, name: string): Promise<void> {
  const id = idOf('inject', name);
  for (let i = 0; i < 1500; i++) {
    const node = rt.RED.nodes.getNode(id) as { receive(msg: object): void } | null;
    if (node) return node.receive({});
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`inject '${name}' did not start within 30 s of the deploy`);
}

describe('payload-match example flow', () => {
  let rt: Runtime;
  before(async () => {
    rt = await startRuntime([]);
  });
  after(async () => {
    await rt.stop();
  });

  it('send requests: one alert per attack with the sender as source, none for the ordinary requests; add rule: the admin request alerts too', async () => {
    await rt.deploy(flow);
    const alertsId = idOf('debug', 'alerts');
    await press(rt, 'send requests');
    const first = await rt.waitFor(alertsId, (m) => m.length >= 5);
    await new Promise((r) => setTimeout(r, 200));
    const seen = rt.inbox(alertsId).map((m) => `${(m.msg.payload as Alert).src} ${(m.msg.payload as Alert).rule}`).sort();
    assert.deepEqual(seen, [
      '192.168.1.52 payload.sqli.union',
      '192.168.1.53 payload.xss.script',
      '192.168.1.54 payload.traversal.dotdot',
      '192.168.1.54 payload.traversal.sensitive_file',
      '192.168.1.55 payload.log4j.jndi',
    ]);
    assert.ok(first.every((m) => /^matched "/.test((m.msg.payload as Alert).evidence ?? '')));

    await press(rt, 'add rule');
    await new Promise((r) => setTimeout(r, 200));
    await press(rt, 'send requests');
    const after = await rt.waitFor(alertsId, (m) => m.some((x) => (x.msg.payload as Alert).rule === 'local.admin'));
    const admin = after.map((x) => x.msg.payload as Alert).find((a) => a.rule === 'local.admin');
    assert.equal(admin?.src, '192.168.1.51');
  });
});
