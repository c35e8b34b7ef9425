/**
 * The shipped flows are generated (scripts/make-flows.js) from one
 * description per dashboard, rendered for Dashboard 1 and Dashboard 2: the
 * committed files, in flows/ and in examples/flows/, are what the script
 * makes, and the two variants of a flow have the same processing nodes with
 * the same settings and the same wiring — only the dashboard widgets (and
 * the adapters a Dashboard 2 widget needs in front of it) and the comments
 * naming the dashboard's address differ.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot, type FlowNode } from '../support/red-runtime';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const gen = require(path.join(packageRoot, 'scripts', 'make-flows.js')) as { outputs(): Record<string, string> };

const isWidget = (n: FlowNode): boolean => /^ui[-_]/.test(n.type);
const local = (id: string): string => id.slice(id.indexOf('.') + 1);

/** The non-widget nodes of a flow by local name (id without its prefix), with wires followed through Dashboard 2 adapters to the widget they feed. */
function processing(flow: FlowNode[]): Map<string, Record<string, unknown>> {
  const byId = new Map(flow.map((n) => [n.id, n]));
  /** A Dashboard 2 adapter is a node wired only to a widget and named after it: 'chart-line-data' → 'chart-line', 'toast-text' → 'toast'. */
  const adapterOf = (n: FlowNode): FlowNode | undefined => {
    const to = (n.wires as string[][] | undefined)?.flat() ?? [];
    const target = to.length === 1 ? byId.get(to[0]) : undefined;
    return target && isWidget(target) && (n.id === `${target.id}-data` || n.id === `${target.id}-text`) ? target : undefined;
  };
  const out = new Map<string, Record<string, unknown>>();
  for (const n of flow) {
    if (isWidget(n) || n.type === 'tab' || n.type === 'comment' || adapterOf(n)) continue; // comments name the dashboard's address
    const { id, z, wires, ...props } = n;
    void z;
    const follow = (to: string) => local(adapterOf(byId.get(to)!)?.id ?? to);
    out.set(local(id), { ...props, wires: (wires as string[][] | undefined)?.map((o) => o.map(follow)) });
  }
  return out;
}

describe('shipped flows: generated, in both places, both dashboards alike', () => {
  const outputs = gen.outputs();

  it('flows/ and examples/flows/ hold exactly what scripts/make-flows.js makes', () => {
    for (const dir of ['flows', path.join('examples', 'flows')]) {
      const files = fs.readdirSync(path.join(packageRoot, dir)).filter((f) => f.endsWith('.json')).sort();
      assert.deepEqual(files, Object.keys(outputs).sort(), dir);
      for (const f of files) assert.equal(fs.readFileSync(path.join(packageRoot, dir, f), 'utf8'), outputs[f], `${dir}/${f}`);
    }
  });

  for (const [d1, d2] of [['analyst-ids.json', 'analyst-ids-dashboard2.json'], ['router-ips.json', 'router-ips-dashboard2.json']]) {
    it(`${d1} and ${d2}: the same processing nodes, settings and wiring`, () => {
      const one = processing(JSON.parse(outputs[d1]) as FlowNode[]);
      const two = processing(JSON.parse(outputs[d2]) as FlowNode[]);
      assert.ok(one.size > 20, `${one.size} processing nodes`);
      assert.deepEqual([...two.keys()].sort(), [...one.keys()].sort());
      for (const [name, node] of one) assert.deepEqual(two.get(name), node, name);
    });

    it(`${d2} serves its page under /dashboard and every widget sits in one of its groups`, () => {
      const flow = JSON.parse(outputs[d2]) as FlowNode[];
      const base = flow.filter((n) => n.type === 'ui-base');
      assert.deepEqual(base.map((n) => n.path), ['/dashboard']);
      const groups = new Set(flow.filter((n) => n.type === 'ui-group').map((n) => n.id));
      for (const n of flow.filter((w) => isWidget(w) && !/^ui-(base|theme|page|group|notification)$/.test(w.type))) assert.ok(groups.has(String(n.group)), `${n.id} in a group`);
      // the same widgets as the Dashboard 1 flow, by name
      const widgets = (f: FlowNode[]) => f.filter((w) => isWidget(w) && n2(w)).map((w) => local(w.id)).sort();
      const n2 = (w: FlowNode) => !/^ui[-_](base|theme|page|group|tab)$/.test(w.type);
      assert.deepEqual(widgets(flow), widgets(JSON.parse(outputs[d1]) as FlowNode[]));
    });
  }
});
