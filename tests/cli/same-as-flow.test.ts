/**
 * `ips analyze` gives the alerts the shipped analyst flow gives on the same
 * capture: the flow (flows/analyst-ids.json) runs in a real Node-RED with
 * the pack and node-red-dashboard, reading each file as its "Read file"
 * button does (detectors reset, pcap-in in analyze mode); the CLI reads all
 * files in one run. The captures are made by real tools: the demo capture
 * and the fixtures (tcpdump, editcap, mergecap, ping, curl, nmap, hping3 in
 * network namespaces), and one made here: an hping3 SYN flood long enough to
 * outlast the flood cooldown (so suppressed hits are counted into later
 * alerts, where batch boundaries matter), an nmap scan and a fast ping,
 * captured with tcpdump between two namespaces.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Alert } from '../../lib/detect/alert';
import { startRuntime, packageRoot, type Runtime } from '../support/red-runtime';
import { shippedFlow } from '../support/browser';
import { ATK, VIC, capture, labUnavailable, makeLab, runFor } from '../support/detect-lab';
import { jsonlAlerts, runIps, summaries } from '../support/ips-cli';

const FIXTURES = path.join(packageRoot, 'tests', 'fixtures');
const CAPTURES = [
  path.join(packageRoot, 'examples', 'captures', 'demo.pcap'),
  ...fs.readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f)).sort().map((f) => path.join(FIXTURES, f)),
];
const DETECTORS = new Set(['analyst.flood', 'analyst.scan', 'analyst.payload', 'analyst.lan']);

interface SendEvent {
  msg: { payload?: unknown };
  source: { id: string; port: number };
  destination: { id: string };
}

interface Receiver {
  receive(msg: object): void;
}

/**
 * An alert as compared: every field but `offender` (whom to block is checked
 * with iptables-block, not here), keys in a fixed order.
 */
function comparable(alerts: readonly Alert[]): string[] {
  return alerts.map(({ offender: _offender, file: _file, ...a }: Alert & { offender?: unknown; file?: unknown }) => JSON.stringify(a, Object.keys(a).sort())).sort();
}

let rt: Runtime | null = null;
let dir = '';
let labCapture: string | null = null;
let labSkip: string | null = null;
/** Alerts the flow's detectors sent to the dashboard model (recorded when sent, so none is missed). */
const sent: Alert[] = [];
/** pcap-in's completion reports (its second output), as sent (the capture report node rewrites msg.payload). */
const completed: { packets: number; error?: string }[] = [];
const savedDb = process.env.IPS_DB;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-cli-flow-'));
  labSkip = await labUnavailable('hping3', 'nmap', 'ping', 'timeout');
  if (!labSkip) {
    const l = await makeLab();
    try {
      const file = await capture(l, 'attacks', async () => {
        // 500 SYN/s for 12 s: above synSrc (100 per 1 s window) past the 10 s cooldown.
        await runFor(l.atk, 12, 'hping3', ['-q', '-S', '-p', '80', '-i', 'u2000', VIC]);
        await l.atk.exec('nmap', ['-n', '-Pn', '-sS', '-T4', '--max-retries', '0', '-p', '1-200', VIC], { timeoutMs: 60_000 });
        await l.atk.exec('ping', ['-q', '-c', '400', '-i', '0.002', VIC], { timeoutMs: 60_000 });
      });
      labCapture = path.join(dir, 'attacks.pcap');
      fs.copyFileSync(file, labCapture);
    } finally {
      await l.close();
    }
  }
  process.env.IPS_DB = path.join(dir, 'history.db');
  rt = await startRuntime(shippedFlow('analyst-ids'), {}, { modules: ['node-red-dashboard'] });
  for (let i = 0; i < 250 && !rt.RED.nodes.getNode('analyst.flood'); i++) await new Promise((r) => setTimeout(r, 20));
  // onSend hooks get every message of a send() at once (red-runtime types only the onReceive form).
  (rt.RED.hooks as unknown as { add(name: string, fn: (events: SendEvent[]) => void): void }).add('onSend.ipscli', (events) => {
    for (const e of events) {
      if (DETECTORS.has(e.source.id) && e.source.port === 1 && e.destination.id === 'analyst.model') sent.push(e.msg.payload as Alert);
      if (e.source.id === 'analyst.pcap-file' && e.source.port === 1) completed.push(e.msg.payload as { packets: number; error?: string });
    }
  });
});

after(async () => {
  rt?.RED.hooks.remove('onSend.ipscli');
  await rt?.stop();
  if (savedDb === undefined) delete process.env.IPS_DB;
  else process.env.IPS_DB = savedDb;
  fs.rmSync(dir, { recursive: true, force: true });
});

function node(id: string): Receiver {
  const n = rt!.RED.nodes.getNode(id) as Receiver | null;
  if (!n) throw new Error(`node ${id} is not running`);
  return n;
}

/** Read `file` in the analyst flow as its Read file button does; the alerts its detectors raised and pcap-in's packet count. */
async function flowAnalysis(file: string): Promise<{ alerts: Alert[]; packets: number }> {
  const runtime = rt!;
  (runtime.RED.nodes.getNode('analyst.read-msg') as { context(): { flow: { set(key: string, value: unknown): void } } }).context().flow.set('capture_choice', file);
  sent.length = 0;
  completed.length = 0;
  node('analyst.on-deploy').receive({});
  await runtime.waitFor('analyst.capture-status', () => completed.length > 0, 120_000);
  const report = completed[0];
  assert.equal(report.error, undefined, `${file}: ${report.error}`);
  // Every batch was handed to flood-detect before the report went out; an empty batch behind them
  // reaching lan-watch, the last, means every detector has processed (and sent the alerts of) every batch.
  const passed = runtime.inbox('analyst.lan');
  const from = passed.length;
  node('analyst.flood').receive({ payload: [] });
  await runtime.waitFor('analyst.lan', (m) => m.slice(from).some((x) => Array.isArray(x.msg.payload) && x.msg.payload.length === 0), 60_000);
  return { alerts: sent.splice(0), packets: report.packets };
}

describe('ips analyze and the analyst flow in Node-RED give the same alerts', () => {
  it('on the demo capture and every fixture, file by file, and count the same packets', async () => {
    const cli = await runIps(['analyze', ...CAPTURES, '--format', 'jsonl']);
    assert.equal(cli.code, 0, cli.stderr);
    const cliAlerts = jsonlAlerts(cli.stdout);
    const counted = summaries(cli.stderr);
    let total = 0;
    for (const file of CAPTURES) {
      const flow = await flowAnalysis(file);
      const mine = cliAlerts.filter((a) => a.file === file);
      assert.deepEqual(comparable(mine), comparable(flow.alerts), file);
      assert.equal(counted.find((s) => s.file === file)?.packets, flow.packets, file);
      total += flow.alerts.length;
    }
    assert.ok(total > 0, 'the captures raise alerts');
  });

  it('on a capture of a long SYN flood, a port scan and a fast ping (hping3, nmap, ping between namespaces)', async (t) => {
    if (labSkip) return t.skip(labSkip);
    const cli = await runIps(['analyze', labCapture!, '--format', 'jsonl']);
    assert.equal(cli.code, 0, cli.stderr);
    const flow = await flowAnalysis(labCapture!);
    assert.deepEqual(comparable(jsonlAlerts(cli.stdout)), comparable(flow.alerts));
    assert.equal(summaries(cli.stderr)[0].packets, flow.packets);
    // What makes the comparison worth having: each detector raised, and hits in a cooldown were counted into a later alert.
    const rules = new Set(flow.alerts.map((a) => a.rule));
    for (const rule of ['flood.syn.src', 'scan.vertical', 'flood.icmp.src']) assert.ok(rules.has(rule), `${rule} in ${[...rules].join(', ')}`);
    assert.ok(flow.alerts.some((a) => a.rule === 'flood.syn.src' && a.src === ATK && a.count > 1), 'the flood outlasted its cooldown');
  });
});
