/**
 * payload-match in Node-RED (node-red-node-test-helper): packets pass through
 * in the form received, alerts on output 2, rules from the editor field and
 * control messages, bad rules refused with the old ones kept, inline drops.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Packet } from '../../lib/packet/types';
import type { Alert } from '../../lib/detect/alert';
import { nodeHelper, load, startServer, useServerPerTest } from '../support/node-helper';

const helper = nodeHelper<HelperNode>();

interface HelperNode {
  on(event: string, fn: (arg: never) => void): void;
  receive(msg: Record<string, unknown>): void;
  error: { getCalls(): { thisValue: unknown; args: unknown[] }[] };
}

type Msg = { topic?: string; payload: unknown };

// eslint-disable-next-line @typescript-eslint/no-require-imports
const payloadMatchNode = require('../../nodes/payload-match/payload-match');

let clock = 1_700_000_000_000;
function pkt(text: string, o: Partial<Packet> = {}): Packet {
  const payload = Buffer.from(text, 'latin1');
  clock += 10;
  return { ts: clock, len: payload.length + 54, caplen: payload.length + 54, ip: 4, src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', sport: 43512, dport: 80, flags: 'PA', payload, ...o };
}
const get = (q: string): string => `GET /p?${q} HTTP/1.1\r\nHost: x\r\n\r\n`;

interface Harness {
  node: HelperNode;
  packets: Msg[];
  alerts: Alert[];
  errors: string[];
  /** Lets the messages sent for the inputs so far arrive (Node-RED delivers asynchronously). */
  settle(): Promise<void>;
}

useServerPerTest();

async function deploy(config: Record<string, unknown> = {}): Promise<Harness> {
  await startServer();
  const flow = [
    { id: 'pm', type: 'payload-match', name: 'web ips', includeDefaults: true, rules: '[]', rulesFile: '', action: 'alert', allowlist: '', cooldownS: '10', maxTracked: '50000', wires: [['pk'], ['al']], ...config },
    { id: 'pk', type: 'helper' },
    { id: 'al', type: 'helper' },
  ];
  await load(payloadMatchNode, flow);
  const node = helper.getNode('pm');
  const h: Harness = { node, packets: [], alerts: [], errors: [], settle: () => new Promise((r) => setTimeout(r, 100)) };
  helper.getNode('pk').on('input', (msg: Msg) => h.packets.push(msg));
  helper.getNode('al').on('input', (msg: Msg) => {
    assert.equal(msg.topic, (msg.payload as Alert).rule);
    h.alerts.push(msg.payload as Alert);
  });
  for (const call of node.error.getCalls()) if (call.thisValue === node) h.errors.push(String(call.args[0] instanceof Error ? call.args[0].message : call.args[0]));
  node.on('call:error', (call: { args: unknown[] }) => h.errors.push(String(call.args[0] instanceof Error ? (call.args[0] as Error).message : call.args[0])));
  return h;
}

describe('payload-match node', () => {
  it('passes a single packet through and alerts on a SQL injection', async () => {
    const h = await deploy();
    const p = pkt(get('id=1%20UNION%20SELECT%20password%20FROM%20users'));
    h.node.receive({ payload: p });
    await h.settle();
    assert.equal(h.packets.length, 1);
    assert.ok(!Array.isArray(h.packets[0].payload), 'single packet stays a single packet');
    assert.equal((h.packets[0].payload as Packet).src, '10.0.0.2');
    assert.deepEqual(h.alerts.map((a) => [a.rule, a.sid, a.src, a.detector]), [['payload.sqli.union', 3000001, '10.0.0.2', 'web ips']]);
    assert.match(h.alerts[0].evidence ?? '', /matched "UNION SELECT"/);
  });

  it('passes a batch through as a batch, one alert per matching rule, none for benign packets', async () => {
    const h = await deploy();
    const batch = [pkt(get('q=shoes')), pkt(get('q=<script>alert(1)</script>'), { src: '10.0.0.5' }), pkt(get('f=../../etc/passwd'), { src: '10.0.0.6' }), pkt('\x16\x03\x01\x02\x00\x01\x00\x01\xfc', { dport: 443 })];
    h.node.receive({ payload: batch });
    await h.settle();
    assert.equal(h.packets.length, 1);
    assert.ok(Array.isArray(h.packets[0].payload));
    assert.equal((h.packets[0].payload as Packet[]).length, 4);
    assert.deepEqual(h.alerts.map((a) => `${a.src} ${a.rule}`).sort(), ['10.0.0.5 payload.xss.script', '10.0.0.6 payload.traversal.dotdot', '10.0.0.6 payload.traversal.sensitive_file']);
  });

  it('uses rules from the editor field', async () => {
    const h = await deploy({ includeDefaults: false, rules: JSON.stringify([{ id: 'local.token', sid: 9000001, name: 'leaked API token', pattern: 'sk_live_[0-9a-z]{8}', regex: true, severity: 'high' }]) });
    h.node.receive({ payload: [pkt('POST / HTTP/1.1\r\n\r\nkey=sk_live_abcd1234'), pkt(get('q=<script>'))] });
    await h.settle();
    assert.deepEqual(h.alerts.map((a) => [a.rule, a.signature, a.severity]), [['local.token', 'leaked API token', 'high']]);
  });

  it('refuses a bad rule in a config message with the reason and keeps the old rules', async () => {
    const h = await deploy({ includeDefaults: false, rules: JSON.stringify([{ id: 'local.a', sid: 9000001, name: 'A', pattern: 'alpha' }]) });
    h.node.receive({ topic: 'config', payload: { rules: [{ id: 'local.b', sid: 9000002, name: 'B', pattern: '(beta', regex: true }] } });
    await h.settle();
    assert.equal(h.errors.length, 1);
    assert.match(h.errors[0], /rule 'local\.b': pattern is not a valid regular expression/);
    h.node.receive({ payload: pkt('alpha (beta') });
    await h.settle();
    assert.deepEqual(h.alerts.map((a) => a.rule), ['local.a']);
    h.node.receive({ topic: 'config', payload: { rules: [{ id: 'local.b', sid: 9000002, name: 'B', pattern: '(beta', regex: false }] } });
    h.node.receive({ payload: pkt('alpha (beta', { src: '10.0.0.9' }) });
    await h.settle();
    assert.deepEqual(h.alerts.map((a) => `${a.src} ${a.rule}`), ['10.0.0.2 local.a', '10.0.0.9 local.b']);
    assert.equal(h.errors.length, 1);
  });

  it('in inline mode marks packets of drop rules with verdict drop', async () => {
    const h = await deploy({ action: 'drop' });
    h.node.receive({ payload: [pkt(get('id=1 or 1=1')), pkt(get('q=<script>'), { src: '10.0.0.3' }), pkt(get('q=ok'), { src: '10.0.0.4' })] });
    await h.settle();
    const out = h.packets[0].payload as Packet[];
    assert.deepEqual(out.map((p) => p.verdict ?? 'accept'), ['drop', 'accept', 'accept']);
    assert.deepEqual(h.alerts.map((a) => [a.rule, a.action]).sort(), [['payload.sqli.tautology', 'drop'], ['payload.xss.script', 'alert']]);
  });

  it('shows a bad editor config as an error and passes packets through unchecked', async () => {
    const h = await deploy({ rules: '[{"id":"x.y","sid":1,"name":"n","pattern":"[","regex":true}]' });
    assert.ok(h.errors.some((e) => /rule 'x\.y': pattern is not a valid regular expression/.test(e)), h.errors.join('\n'));
    h.node.receive({ payload: pkt(get('q=<script>')) });
    await h.settle();
    assert.equal(h.packets.length, 1);
    assert.equal(h.alerts.length, 0);
  });

  it('refuses a message that is not a packet', async () => {
    const h = await deploy();
    h.node.receive({ payload: 'hello' });
    await h.settle();
    assert.equal(h.packets.length, 0);
    assert.match(h.errors.join('\n'), /not a packet/);
  });
});
