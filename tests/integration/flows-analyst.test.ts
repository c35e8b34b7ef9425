/**
 * The shipped analyst flow (flows/analyst-ids.json) in a real Node-RED with
 * the pack and node-red-dashboard installed: it deploys with every type
 * known and no errors, and reading the demo capture raises the alerts the
 * detectors and the flow model give on it, and its flows are served as
 * CSV. The login in front of the HTTP side is tested through `npm start` in
 * tests/browser/analyst.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { startRuntime, packageRoot, type Runtime, type FlowNode, type ReceivedMessage } from '../support/red-runtime';
import { demoCapture, expectedAlerts, shippedFlow } from '../support/browser';
import { flowCsvHeader, type FlowRecord } from '../../lib/detect/flow/features';

interface LogEvent { level: number; msg?: unknown; id?: string; type?: string }

describe('flows/analyst-ids.json', () => {
  let rt: Runtime;
  let flow: FlowNode[];
  const logged: LogEvent[] = [];
  const logHandler = new EventEmitter();
  logHandler.on('log', (e: LogEvent) => logged.push(e));
  const savedEnv = process.env.IPS_CAPTURE;
  /** What reaches the flows.csv keeper during the read below. */
  let judged: ReceivedMessage[] = [];

  before(async () => {
    process.env.IPS_CAPTURE = demoCapture;
    flow = shippedFlow('analyst-ids');
    rt = await startRuntime(flow, {}, { modules: ['node-red-dashboard'] });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('@node-red/util') as { log: { addHandler(h: EventEmitter): void } }).log.addHandler(logHandler);
  });
  after(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('@node-red/util') as { log: { removeHandler(h: EventEmitter): void } }).log.removeHandler(logHandler);
    await rt?.stop();
    if (savedEnv === undefined) delete process.env.IPS_CAPTURE;
    else process.env.IPS_CAPTURE = savedEnv;
  });

  it('is what scripts/make-flows.js generates', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gen = require(path.join(packageRoot, 'scripts', 'make-flows.js')) as { outputs(): Record<string, string> };
    assert.deepEqual(JSON.parse(gen.outputs()['analyst-ids.json']), flow);
  });

  it('deploys with every node type known and running', async () => {
    for (let i = 0; i < 200 && !rt.RED.nodes.getNode('analyst.flood'); i++) await new Promise((r) => setTimeout(r, 50));
    const missing = flow.filter((n) => n.type !== 'tab' && !rt.RED.nodes.getNode(n.id)).map((n) => `${n.type} ${n.id}`);
    assert.deepEqual(missing, []);
  });

  it('reads the demo capture: the dashboard model gets the alerts the detectors raise, with no errors', async () => {
    const expected = await expectedAlerts(demoCapture);
    const total = Object.values(expected.byCategory).reduce((a, b) => a + b, 0);
    assert.ok(total > 0, 'the demo capture has attacks in it');
    const model = rt.inbox('analyst.model');
    judged = rt.inbox('analyst.flows-csv');
    // Record the summary from the start: it may be sent (once, on a timer) before the capture report arrives.
    rt.inbox('analyst.summary');
    (rt.RED.nodes.getNode('analyst.on-deploy') as { receive(m: object): void }).receive({});
    // the capture report on the dashboard: file name and packets read, no error
    const report = await rt.waitFor('analyst.capture-text', (m) => m.length > 0, 60_000);
    assert.equal(report[0].msg.payload, `demo.pcap: ${expected.packets} packets, ${Math.round(expected.bytes / 1024)} KiB`);
    const summary = await rt.waitFor('analyst.summary', (m) => (m.at(-1)?.msg.payload as { total?: number } | undefined)?.total === total, 60_000);
    assert.deepEqual({ ...(summary.at(-1)!.msg.payload as { byCategory: Record<string, number> }).byCategory }, expected.byCategory);
    const rules = model.map((m) => (m.msg.payload as { rule: string }).rule).sort();
    assert.deepEqual(rules, expected.alerts.map((a) => a.rule).sort());
    // flow-classify's alerts among them, with the class and probability the threat log shows
    const ml = model.map((m) => m.msg.payload as { category: string; mlClass?: string; probability?: number }).filter((a) => a.category === 'anomaly');
    assert.equal(ml.length, expected.byCategory.anomaly ?? 0);
    for (const a of ml) assert.ok(typeof a.mlClass === 'string' && typeof a.probability === 'number', JSON.stringify(a));
    const errors = logged.filter((e) => e.level <= 20).map((e) => `${e.type ?? ''} ${e.id ?? ''}: ${String(e.msg)}`);
    assert.deepEqual(errors, []);
  });

  it("serves the capture's judged flows at /ips/export/flows.csv", async () => {
    const { flows } = await expectedAlerts(demoCapture);
    assert.ok(flows.length > 0, 'the demo capture has flows');
    // the flows of the read above: every one judged by the end of the capture
    const count = (): number => judged.filter((x) => x.msg.topic === 'flow-judged').reduce((n, x) => n + (x.msg.payload as unknown[]).length, 0);
    for (let i = 0; i < 1200 && count() < flows.length; i++) await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`${rt.url}/ips/export/flows.csv`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="flows.csv"/);
    const lines = (await res.text()).split('\r\n').filter((l) => l !== '');
    assert.deepEqual(lines[0].split(','), [...flowCsvHeader(false), 'ML Class', 'ML Probability']);
    assert.equal(lines.length - 1, flows.length);
    const ids = lines.slice(1).map((l) => l.split(',')[0]).sort();
    assert.deepEqual(ids, flows.map((f: FlowRecord) => f.flowId).sort());
  });
});
