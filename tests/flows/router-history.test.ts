/**
 * After a restart the router flow's alert log and threat-lists view start
 * from the history, with what ip-reputation and GeoIP added to the alerts.
 * A real Node-RED runs the shipped flow's history part (its tab, so DB_FILE
 * from IPS_DB; sqlite-log on a real file; the reload on deploy, the alert
 * model and the threat-lists view), the dashboard widgets replaced by capture
 * nodes of the same ids: a reputation alert is stored, the runtime stopped,
 * a new one started on the same file, and the log rows and the view show the
 * list, the matched entry, the device with its MAC and vendor, the country
 * and the network. Both dashboard variants wire the reload the same way.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot, startRuntime, type FlowNode, type Runtime } from '../support/red-runtime';
import { makeAlert, tempDir } from '../support/store';

const flow = (file: string) => JSON.parse(fs.readFileSync(path.join(packageRoot, 'flows', file), 'utf8')) as FlowNode[];
const dir = tempDir('router-history');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const ALERT = makeAlert(1, {
  ts: Date.now() - 60_000, rule: 'reputation.outbound', sid: 9_006_001, signature: 'LAN device reached an address on a threat list', category: 'reputation',
  src: '192.168.1.40', dst: '185.220.101.7', offender: '185.220.101.7', proto: 'tcp', sport: 51000, dport: 443, count: 2, threshold: 1,
  reason: "LAN device 192.168.1.40 reached 185.220.101.7, on list 'tor' (tor) as 185.220.101.0/24", detector: 'threat lists',
  list: 'tor', listCategory: 'tor', listEntry: '185.220.101.0/24', direction: 'outbound', device: '192.168.1.40',
  deviceMac: 'b8:27:eb:65:43:21', deviceVendor: 'Raspberry Pi Foundation', country: 'DE', asn: 60729, asOrg: 'Stiftung Erneuerbare Freiheit',
});

/** The router flow's nodes `ids` (prefix `router.`), `sinks` replaced by capture nodes of the same ids. */
function part(nodes: FlowNode[], ids: string[], sinks: string[]): FlowNode[] {
  const tab = nodes.find((n) => n.type === 'tab')!;
  const keep = nodes.filter((n) => ids.includes(n.id)).map((n) => ({ ...n }));
  return [tab, ...keep, ...sinks.map((id) => ({ id, type: 'debug', z: tab.id, active: false, wires: [] }))];
}

describe('router flow: the alert log and threat lists after a restart', () => {
  it('both dashboards query the last alerts on deploy and feed them to the alert model and the threat-lists view', () => {
    for (const [file, p] of [['router-ips.json', 'router'], ['router-ips-dashboard2.json', 'router2']] as const) {
      const byId = new Map(flow(file).map((n) => [n.id, n]));
      assert.deepEqual(byId.get(`${p}.reload-tick`)!.wires, [[`${p}.reload-query`]]);
      assert.equal(byId.get(`${p}.reload-query`)!.type, 'sqlite-log');
      assert.equal(byId.get(`${p}.reload-query`)!.file, '${DB_FILE}');
      assert.deepEqual(byId.get(`${p}.reload-query`)!.wires, [[`${p}.reload-alerts`]]);
      assert.deepEqual(byId.get(`${p}.reload-alerts`)!.wires, [[`${p}.model`], [`${p}.rep-view`]]);
    }
  });

  it('a stored reputation alert is back in the log and the threat-lists view with its list, device, MAC, vendor, country and network', async () => {
    const nodes = flow('router-ips.json');
    const saved = process.env.IPS_DB;
    process.env.IPS_DB = path.join(dir, 'router.db');
    let rt: Runtime | undefined;
    try {
      // before the restart: the alert reaches the history
      rt = await startRuntime(part(nodes, ['router.history'], []));
      (rt.RED.nodes.getNode('router.history') as { receive(m: object): void }).receive({ topic: ALERT.rule, payload: ALERT });
      await rt.stop();
      rt = undefined;
      // the restart: the reload on deploy, the model and the view, the widgets as capture nodes
      rt = await startRuntime(part(nodes, ['router.reload-tick', 'router.reload-query', 'router.reload-alerts', 'router.model', 'router.rep-view'],
        ['router.alert-log', 'router.rep-table']));
      // both inboxes from now on: the view's message comes before the log's (the model sends at most every 250 ms)
      rt.inbox('router.alert-log');
      rt.inbox('router.rep-table');
      const log = await rt.waitFor('router.alert-log', (m) => m.length > 0, 30_000);
      const rows = log.at(-1)!.msg.payload as Record<string, unknown>[];
      assert.equal(rows.length, 1);
      const { list, listEntry, device, deviceMac, deviceVendor, country, asn, asOrg, rule, reason } = rows[0];
      assert.deepEqual({ list, listEntry, device, deviceMac, deviceVendor, country, asn, asOrg, rule, reason }, {
        list: 'tor', listEntry: '185.220.101.0/24', device: '192.168.1.40', deviceMac: 'b8:27:eb:65:43:21', deviceVendor: 'Raspberry Pi Foundation',
        country: 'DE', asn: 60729, asOrg: 'Stiftung Erneuerbare Freiheit', rule: 'reputation.outbound', reason: ALERT.reason,
      });
      const view = await rt.waitFor('router.rep-table', (m) => m.length > 0, 30_000);
      // (as JSON: the function node's arrays come from its own VM context)
      const devices = (JSON.parse(JSON.stringify(view.at(-1)!.msg.payload)) as { devices: Record<string, unknown>[] }).devices;
      assert.deepEqual(devices.map(({ device: d, mac, vendor, lists, hits, listed }) => ({ d, mac, vendor, lists, hits, listed })), [
        { d: '192.168.1.40', mac: 'b8:27:eb:65:43:21', vendor: 'Raspberry Pi Foundation', lists: ['tor'], hits: 2, listed: '185.220.101.7' },
      ]);
    } finally {
      await rt?.stop();
      if (saved === undefined) delete process.env.IPS_DB;
      else process.env.IPS_DB = saved;
    }
  });
});
