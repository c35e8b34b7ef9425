/**
 * After a restart the analyst flow's threat log starts from the history, with
 * every field sqlite-log keeps. A real Node-RED runs the shipped flow's
 * history part (its tab, so DB_FILE from IPS_DB; sqlite-log on a real file;
 * the reload on deploy and the dashboard model), the threat-log widget
 * replaced by a capture node of the same id: a rule-language alert (gid, sid,
 * rev, classtype, references), a flow-classify alert (the model's class and
 * probability) and a GeoIP-enriched alert (country and network) are stored,
 * the runtime stopped, a new one started on the same file, and the threat
 * log's rows have them all. Both dashboard variants wire the reload the same
 * way.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot, startRuntime, type FlowNode, type Runtime } from '../support/red-runtime';
import { makeAlert, tempDir } from '../support/store';

const flow = (file: string) => JSON.parse(fs.readFileSync(path.join(packageRoot, 'flows', file), 'utf8')) as FlowNode[];
const dir = tempDir('analyst-history');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const NOW = Date.now();
/** As payload-match raises it from a Suricata rule with its ids, classtype and references. */
const RULE = makeAlert(1, {
  ts: NOW - 60_000, rule: 'sig:1:9200001', sid: 9_200_001, gid: 1, rev: 4, signature: 'passwd file requested', category: 'payload',
  classtype: 'web-application-attack', references: ['url,example.org/advisories/passwd', 'cve,1999-0001'],
  src: '198.51.100.7', dst: '192.0.2.10', offender: '198.51.100.7', proto: 'tcp', sport: 50_000, dport: 80, count: 1, threshold: 1,
  reason: 'tcp from 198.51.100.7:50000 to 192.0.2.10:80 matched rule 1:9200001:4 "passwd file requested"', detector: 'payload-match',
  country: 'US', asn: 64500, asOrg: 'Example Net',
});
/** As flow-classify raises it: the model's class and probability. */
const MODEL = makeAlert(2, {
  ts: NOW - 30_000, rule: 'ml.source', sid: 9_007_001, signature: 'ML: scan flow', category: 'anomaly', severity: 'medium',
  src: '198.51.100.40', dst: '192.0.2.10', offender: '198.51.100.40', proto: 'tcp', sport: 50_100, dport: 23, count: 1, threshold: 0.6,
  reason: 'flow 198.51.100.40:50100 → 192.0.2.10:23 tcp judged scan with probability 87.5% by the shipped model', detector: 'flow-classify',
  mlClass: 'scan', probability: 0.875,
});

/** The analyst flow's nodes `ids`, `sinks` replaced by capture nodes of the same ids. */
function part(nodes: FlowNode[], ids: string[], sinks: string[]): FlowNode[] {
  const tab = nodes.find((n) => n.type === 'tab')!;
  const keep = nodes.filter((n) => ids.includes(n.id)).map((n) => ({ ...n }));
  return [tab, ...keep, ...sinks.map((id) => ({ id, type: 'debug', z: tab.id, active: false, wires: [] }))];
}

describe('analyst flow: the threat log after a restart', () => {
  it('both dashboards query the last alerts on deploy from DB_FILE and feed them to the dashboard model', () => {
    for (const [file, p] of [['analyst-ids.json', 'analyst'], ['analyst-ids-dashboard2.json', 'analyst2']] as const) {
      const byId = new Map(flow(file).map((n) => [n.id, n]));
      assert.deepEqual(byId.get(`${p}.reload-tick`)!.wires, [[`${p}.reload-query`]]);
      assert.equal(byId.get(`${p}.reload-tick`)!.once, true);
      assert.equal(byId.get(`${p}.reload-query`)!.type, 'sqlite-log');
      assert.equal(byId.get(`${p}.reload-query`)!.file, byId.get(`${p}.history`)!.file);
      assert.equal(byId.get(`${p}.reload-query`)!.file, '${DB_FILE}');
      assert.deepEqual(byId.get(`${p}.reload-query`)!.wires, [[`${p}.reload-alerts`]]);
      assert.deepEqual(byId.get(`${p}.reload-alerts`)!.wires, [[`${p}.model`], []]);
      assert.deepEqual((byId.get(`${p}.model`)!.wires as string[][])[0], [`${p}.threat-log`]);
    }
  });

  it('stored alerts are back in the threat log with the rule\'s ids, classtype and references, the model\'s class and probability, country and network', async () => {
    const nodes = flow('analyst-ids.json');
    const saved = process.env.IPS_DB;
    process.env.IPS_DB = path.join(dir, 'analyst.db');
    let rt: Runtime | undefined;
    try {
      // before the restart: the alerts reach the history as the detectors' output does
      rt = await startRuntime(part(nodes, ['analyst.history'], []));
      const history = rt.RED.nodes.getNode('analyst.history') as { receive(m: object): void };
      history.receive({ topic: RULE.rule, payload: RULE });
      history.receive({ topic: MODEL.rule, payload: MODEL });
      await rt.stop();
      rt = undefined;
      // the restart: the reload on deploy and the dashboard model, the threat log as a capture node
      rt = await startRuntime(part(nodes, ['analyst.reload-tick', 'analyst.reload-query', 'analyst.reload-alerts', 'analyst.model'], ['analyst.threat-log']));
      rt.inbox('analyst.threat-log');
      const log = await rt.waitFor('analyst.threat-log', (m) => m.length > 0, 30_000);
      // (as JSON: the function node's arrays come from its own VM context)
      const rows = JSON.parse(JSON.stringify(log.at(-1)!.msg.payload)) as Record<string, unknown>[];
      assert.deepEqual(rows.map((r) => r.rule), ['ml.source', 'sig:1:9200001'], 'newest first, as live');
      const pick = (r: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, r[k]]));
      assert.deepEqual(pick(rows[1], ['gid', 'sid', 'rev', 'classtype', 'references', 'country', 'asn', 'asOrg', 'reason', 'severity']), {
        gid: 1, sid: 9_200_001, rev: 4, classtype: 'web-application-attack', references: ['url,example.org/advisories/passwd', 'cve,1999-0001'],
        country: 'US', asn: 64500, asOrg: 'Example Net', reason: RULE.reason, severity: 'high',
      });
      assert.deepEqual(pick(rows[0], ['mlClass', 'probability', 'category', 'detector', 'reason']), {
        mlClass: 'scan', probability: 0.875, category: 'anomaly', detector: 'flow-classify', reason: MODEL.reason,
      });
      assert.equal(rows[0].references, undefined, 'a field the alert had not stays absent (not null)');
    } finally {
      await rt?.stop();
      if (saved === undefined) delete process.env.IPS_DB;
      else process.env.IPS_DB = saved;
    }
  });
});
