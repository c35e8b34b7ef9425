/**
 * Who the shipped flows block: every rule's alert (tests/support/rule-alerts.ts,
 * raised by the real engines) enters a flow where its node's alert output is
 * wired, and runs in a real Node-RED through the flow's own nodes on the way to
 * its iptables-block node (junctions, the analyst's switch gate), which runs
 * in dry-run as the flows deploy by default. No rule-id filter stands in the
 * way: the block node blocks each alert's offender and refuses, with the
 * reason, an alert that names none. The router blocks on detector alerts
 * only (bandwidth and policy alerts are about the LAN's own devices); the
 * analyst blocks high-severity alerts while its dashboard switch is on.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot, startRuntime, type FlowNode, type Runtime } from '../support/red-runtime';
import { everyRuleAlert, type RuleCase } from '../support/rule-alerts';
import { toolMissing } from '../support/netns';
import type { Alert } from '../../lib/detect/alert';

/** The output of each node type that carries its alerts. */
const ALERT_OUTPUT: Record<string, number> = { 'flood-detect': 1, 'scan-detect': 1, 'payload-match': 1, 'lan-watch': 1, 'flow-classify': 1, 'bandwidth-threshold': 1, 'conntrack-poll': 2 };

type Wires = string[][];

function shipped(name: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(packageRoot, 'flows', `${name}.json`), 'utf8')) as FlowNode[];
}

interface BlockPath {
  /** The nodes between the alert outputs and iptables-block (block included), the tab, and capture nodes on block's output and errors. */
  nodes: FlowNode[];
  /** Per alert-raising node type: where its alerts enter on their way to the block node ([] when they never reach it). */
  entries: Map<string, string[]>;
  block: string;
  out: string;
  caught: string;
}

/** The part of a shipped flow that alerts take to its iptables-block node. */
function blockPath(flow: FlowNode[]): BlockPath {
  const byId = new Map(flow.map((n) => [n.id, n]));
  const wires = (n: FlowNode): Wires => (n.wires as Wires | undefined) ?? [];
  const block = flow.find((n) => n.type === 'iptables-block')!;
  // every node from which the block node can be reached
  const reaches = new Set([block.id]);
  for (let grew = true; grew;) {
    grew = false;
    for (const n of flow) {
      if (!reaches.has(n.id) && wires(n).flat().some((t) => reaches.has(t))) {
        reaches.add(n.id);
        grew = true;
      }
    }
  }
  const entries = new Map<string, string[]>();
  for (const n of flow) {
    const port = ALERT_OUTPUT[n.type];
    if (port === undefined) continue;
    entries.set(n.type, (wires(n)[port] ?? []).filter((t) => reaches.has(t) && !ALERT_OUTPUT[byId.get(t)!.type]));
  }
  const onPath = new Set<string>();
  const queue = [...entries.values()].flat();
  while (queue.length) {
    const id = queue.shift()!;
    if (onPath.has(id) || !reaches.has(id)) continue;
    onPath.add(id);
    // what the block node's output feeds (the dashboard, which can send it commands) is not on the alerts' way
    if (id !== block.id) queue.push(...wires(byId.get(id)!).flat());
  }
  const prefix = block.id.split('.')[0];
  const out = `${prefix}.test-out`;
  const caught = `${prefix}.test-caught`;
  const z = block.z as string;
  const nodes: FlowNode[] = flow.filter((n) => n.type === 'tab' && n.id === z);
  for (const id of onPath) {
    const n = byId.get(id)!;
    nodes.push({ ...n, wires: id === block.id ? [[out]] : wires(n).map((w) => w.filter((t) => onPath.has(t))) });
  }
  nodes.push(
    { id: out, type: 'debug', z, active: false, wires: [] },
    { id: `${prefix}.test-catch`, type: 'catch', z, scope: [block.id], uncaught: false, wires: [[caught]] },
    { id: caught, type: 'debug', z, active: false, wires: [] },
  );
  return { nodes, entries, block: block.id, out, caught };
}

interface Outcome {
  /** Addresses blocked, in order. */
  blocked: string[];
  /** Rules of the alerts refused. */
  refused: string[];
}

/** What the block node did with everything it got from `fromOut` / `fromCaught` on. */
function outcome(rt: Runtime, p: BlockPath, fromOut: number, fromCaught: number): Outcome {
  const blocked = rt.inbox(p.out).slice(fromOut).flatMap((m) => ((m.msg.results ?? []) as { action: string; ip: string }[]).filter((r) => r.action === 'block').map((r) => r.ip));
  const refused = rt.inbox(p.caught).slice(fromCaught).map((m) => {
    const text = (m.msg.error as { message: string }).message;
    return /^(?:Error: )?alert (\S+) names no offender/.exec(text)?.[1] ?? text;
  });
  return { blocked, refused };
}

/** A high-severity alert from an address no case uses: sent last, its block shows everything before it has arrived (one wire keeps order). */
function marker(cases: RuleCase[]): Alert {
  const c = cases.find((x) => x.blame !== null && x.alert.severity === 'high')!;
  return { ...c.alert, src: '198.51.100.250', offender: '198.51.100.250', reason: 'marker' };
}

describe('shipped flows: who their alerts block', async () => {
  const skip = await toolMissing('ip');
  const cases = everyRuleAlert();
  const router = blockPath(shipped('router-ips'));
  const analyst = blockPath(shipped('analyst-ids'));
  let rt: Runtime;
  const savedEnv = process.env.IPS_BLOCK_DRYRUN;
  before(async () => {
    if (skip) return;
    // the flows' default: the block nodes run in dry-run
    delete process.env.IPS_BLOCK_DRYRUN;
    rt = await startRuntime([...router.nodes, ...analyst.nodes]);
  });
  after(async () => {
    await rt?.stop();
    if (savedEnv !== undefined) process.env.IPS_BLOCK_DRYRUN = savedEnv;
  });

  /** Send `alerts` into `entry`, then the marker; resolve once the marker is blocked. */
  async function run(p: BlockPath, entry: string, alerts: Alert[]): Promise<Outcome> {
    const [o, e] = [rt.inbox(p.out).length, rt.inbox(p.caught).length];
    const node = rt.RED.nodes.getNode(entry) as { receive(msg: object): void };
    const last = marker(cases);
    for (const a of [...alerts, last]) node.receive({ topic: a.rule, payload: a });
    // (the analyst's country lookup takes its first messages once its GeoIP data is open: seconds on a fresh user directory)
    await rt.waitFor(p.out, () => outcome(rt, p, o, e).blocked.includes(last.offender!), 60_000);
    const got = outcome(rt, p, o, e);
    assert.equal(got.blocked.pop(), last.offender);
    return got;
  }

  it('router: detector alerts reach the block node with no filter on the way; bandwidth and policy alerts never do', () => {
    assert.deepEqual(Object.fromEntries(router.entries), {
      'conntrack-poll': [], 'bandwidth-threshold': [], 'flood-detect': ['router.detections'], 'scan-detect': ['router.detections'], 'payload-match': ['router.detections'],
      'flow-classify': ['router.detections'],
      'lan-watch': ['router.detections'],
    });
    assert.deepEqual(router.nodes.filter((n) => n.z && !n.id.includes('.test-')).map((n) => n.type).sort(), ['iptables-block', 'junction']);
  });

  it('router: each detector alert blocks its offender, and an alert without one is refused', { skip: skip ?? false }, async () => {
    const detected = cases.filter((c) => router.entries.get(c.alert.detector)?.length);
    const got = await run(router, 'router.detections', detected.map((c) => c.alert));
    assert.deepEqual(got.blocked, detected.flatMap((c) => (c.blame === null ? [] : [c.blame])));
    assert.deepEqual(got.refused, detected.filter((c) => c.blame === null).map((c) => c.rule));
    assert.ok(got.refused.length > 0 && got.refused.every((r) => r.endsWith('.dst') || r.endsWith('.net') || r === 'ml.flow' || r.startsWith('lan.')),
      "the per-target and network-wide floods, the flow model's classes whose source may be spoofed, and the LAN events that name no single device are the rules without an offender");
    assert.ok(got.blocked.includes('02:00:00:00:01:01') && got.blocked.includes('02:00:00:00:00:61'), 'flood and LAN spoofing alerts block a device by its MAC');
  });

  it('analyst: nothing blocks while the switch is off; once on, high-severity alerts block their offender', { skip: skip ?? false }, async () => {
    // detector and flow-model alerts pass the country/network lookup (ip-reputation), then the switch's gate
    const entry = analyst.entries.get('flood-detect')!;
    assert.deepEqual(entry, ['analyst.geo']);
    assert.deepEqual(analyst.entries.get('flow-classify'), entry);
    assert.deepEqual(analyst.entries.get('lan-watch'), ['analyst.block-gate'], 'LAN spoofing alerts take the gate directly (both ends are on the LAN)');
    const onPath = new Set(analyst.nodes.map((n) => n.id));
    const toggle = shipped('analyst-ids').find((n) => n.type === 'ui_switch' && ((n.wires as Wires)[0] ?? []).some((t) => onPath.has(t)))!;
    const gate = (toggle.wires as Wires)[0];
    const switchTo = (on: boolean) => (rt.RED.nodes.getNode(gate[0]) as { receive(msg: object): void }).receive({ topic: toggle.topic, payload: on ? toggle.onvalue : toggle.offvalue });
    const high = cases.filter((c) => c.alert.severity === 'high');
    const offender = high.find((c) => c.blame !== null)!;

    switchTo(false);
    // with the switch off even an offender passes unblocked; the marker is sent once it is on
    (rt.RED.nodes.getNode(gate[0]) as { receive(msg: object): void }).receive({ topic: offender.rule, payload: offender.alert });
    switchTo(true);
    assert.deepEqual(await run(analyst, entry[0], []), { blocked: [], refused: [] });

    const detected = cases.filter((c) => analyst.entries.get(c.alert.detector)?.length);
    const got = await run(analyst, entry[0], detected.map((c) => c.alert));
    assert.deepEqual(got.blocked, detected.filter((c) => c.alert.severity === 'high' && c.blame !== null).map((c) => c.blame));
    assert.deepEqual(got.refused, detected.filter((c) => c.alert.severity === 'high' && c.blame === null).map((c) => c.rule));
  });
});
