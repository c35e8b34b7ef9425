/**
 * The shipped example flow (examples/sqlite-log.json) in a real Node-RED
 * runtime: press its injects in order and check what the debug node gets —
 * the logged alert comes back from the query, the chart payload has the
 * dashboard shape, the export writes its CSV.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startRuntime, packageRoot, type FlowNode, type Runtime } from '../support/red-runtime';
import { tempDir } from '../support/store';

let rt: Runtime | null = null;
const dir = tempDir('example');
after(async () => {
  if (rt) await rt.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('examples/sqlite-log.json', () => {
  it('logs, queries and exports as its comment says', async () => {
    const flow = JSON.parse(fs.readFileSync(path.join(packageRoot, 'examples', 'sqlite-log.json'), 'utf8')) as FlowNode[];
    const nodes = flow.map((n) => ({ ...n, z: 'tab', ...(n.type === 'sqlite-log' ? { file: path.join(dir, 'ips-log.db') } : {}) }));
    rt = await startRuntime([{ id: 'tab', type: 'tab', label: 'example' }, ...nodes]);
    const byName = (name: string) => {
      const n = flow.find((f) => f.name === name);
      assert.ok(n, `example has a node named ${name}`);
      return n.id;
    };
    const debugId = flow.find((f) => f.type === 'debug')!.id;
    const sink = flow.find((f) => f.type === 'sqlite-log')!.id;
    const deadline = Date.now() + 20_000;
    while (!rt.RED.nodes.getNode(sink) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const press = (name: string) => (rt!.RED.nodes.getNode(byName(name)) as { receive(m: object): void }).receive({});
    const received = rt.inbox(sink);
    press('test alert');
    press('device stats');
    // The alert takes one more hop (its function node) than the query: let both records arrive first.
    await rt.waitFor(sink, () => received.length >= 2);
    press('recent alerts');
    const box = await rt.waitFor(debugId, (m) => m.length >= 1);
    assert.equal(box[0].msg.topic, 'recentAlerts');
    const rows = box[0].msg.payload as { rule: string; src: string }[];
    assert.deepEqual(rows.map((r) => [r.rule, r.src]), [['scan.vertical', '192.168.1.66']]);
    press('alerts per minute');
    await rt.waitFor(debugId, (m) => m.length >= 2);
    const [chart] = box[1].msg.payload as { series: string[]; labels: string[] }[];
    assert.deepEqual(chart.series, ['scan']);
    assert.deepEqual(chart.labels, ['']);
    press('export last hour (CSV)');
    await rt.waitFor(debugId, (m) => m.length >= 3);
    const report = box[2].msg.payload as { file: string; rows: number };
    assert.equal(report.file, path.join(dir, 'alerts-last-hour.csv'));
    assert.equal(report.rows, 1);
    assert.ok(fs.readFileSync(report.file, 'utf8').includes('192.168.1.66'));
  });
});
