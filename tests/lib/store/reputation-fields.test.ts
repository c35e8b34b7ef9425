/**
 * What ip-reputation and GeoIP add to an alert (list, list category, matched
 * entry, direction, device with MAC and vendor, country, AS number and
 * organisation) survives sqlite-log on a real SQLite file: a version-6
 * database (the schema before these columns) upgrades in place and keeps its
 * rows; the alert written, a new store opening the same file (a restart)
 * reads every field back in recentAlerts, and the CSV, JSON Lines and EVE
 * exports carry them (EVE in alert.metadata and ether, docs/eve.md).
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore } from '../../../lib/store/store';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../lib/store/schema';
import { recognise } from '../../../lib/store/records';
import { parseQuery, runQuery } from '../../../lib/store/queries';
import { exportTable, parseExport } from '../../../lib/store/export';
import type { EveRecord } from '../../../lib/store/eve';
import { closeDb, exec, openDb } from '../../../lib/store/sqlite';
import type { Alert } from '../../../lib/detect/alert';
import { everyRuleAlert } from '../../support/rule-alerts';
import { eveValidator } from '../../support/eve-schema';
import { makeAlert, readRows, tempDir } from '../../support/store';

const dir = tempDir('reputation-fields');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const FIELDS = ['list', 'listCategory', 'listEntry', 'direction', 'device', 'deviceMac', 'deviceVendor', 'country', 'asn', 'asOrg'] as const;

/** A LAN device reaching a listed address, as ip-reputation raises it with GeoIP on (the values a real lookup gives). */
const OUTBOUND: Alert = makeAlert(1, {
  rule: 'reputation.outbound', sid: 9_006_001, signature: 'LAN device reached an address on a threat list', category: 'reputation',
  src: '192.168.1.40', dst: '185.220.101.7', offender: '185.220.101.7', proto: 'tcp', sport: 51000, dport: 443, count: 3, threshold: 1,
  reason: "LAN device 192.168.1.40 (b8:27:eb:65:43:21, Raspberry Pi Foundation) reached 185.220.101.7, on list 'tor' (tor) as 185.220.101.0/24",
  detector: 'threat lists', list: 'tor', listCategory: 'tor', listEntry: '185.220.101.0/24', direction: 'outbound',
  device: '192.168.1.40', deviceMac: 'b8:27:eb:65:43:21', deviceVendor: 'Raspberry Pi Foundation', country: 'DE', asn: 60729, asOrg: 'Stiftung Erneuerbare Freiheit',
});
/** A listed address reaching in: the device is the destination. */
const INBOUND: Alert = { ...OUTBOUND, ts: OUTBOUND.ts + 1000, rule: 'reputation.inbound', sid: 9_006_002, src: '185.220.101.7', dst: '192.168.1.40', sport: 443, dport: 22,
  direction: 'inbound', reason: '185.220.101.7 reached 192.168.1.40' };

/** The version-6 schema: the first six migrations, as a database written before this one. */
async function version6(file: string): Promise<void> {
  const db = await openDb(file);
  for (const m of MIGRATIONS.slice(0, 6)) await exec(db, m);
  await exec(db, `PRAGMA user_version = 6;
    INSERT INTO alerts (ts, logged, rule, sid, category, severity, src, dst, reason, offender) VALUES
      (1000, 1000, 'scan.vertical', 7, 'scan', 'medium', '10.9.9.9', '10.0.0.1', 'an old row', '10.9.9.9');`);
  await closeDb(db);
}

function pick(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(FIELDS.map((k) => [k, row[k]]));
}

describe('sqlite-log keeps what ip-reputation and GeoIP add to alerts', () => {
  const file = path.join(dir, 'router.db');

  it('a version-6 database upgrades in place to the current schema and keeps its rows (their new fields null)', async () => {
    assert.ok(SCHEMA_VERSION >= 7);
    await version6(file);
    const store = new LogStore(file, { retentionIntervalMs: 0 });
    await store.start();
    const r = recognise({ payload: [OUTBOUND, INBOUND] }, OUTBOUND.ts + 5000);
    assert.equal(r.type, 'records');
    if (r.type === 'records') store.add(r.items);
    await store.flush();
    await store.close();
    assert.equal((await readRows(file, 'PRAGMA user_version'))[0].user_version, SCHEMA_VERSION);
    const old = await readRows(file, "SELECT reason, list, country, asn, device_mac FROM alerts WHERE rule = 'scan.vertical'");
    assert.deepEqual(old, [{ reason: 'an old row', list: null, country: null, asn: null, device_mac: null }]);
    assert.equal((await readRows(file, 'PRAGMA integrity_check'))[0].integrity_check, 'ok');
  });

  it('after a restart (a new store on the same file) recentAlerts returns every field, and the old row without them', async () => {
    const store = new LogStore(file, { retentionIntervalMs: 0 });
    await store.start();
    const db = await store.readConnection();
    const rows = (await runQuery(db, parseQuery({ name: 'recentAlerts', category: 'reputation' }, 1000))).payload as Record<string, unknown>[];
    assert.deepEqual(rows.map((r) => r.rule), ['reputation.inbound', 'reputation.outbound']);
    assert.deepEqual(pick(rows[1]), pick(OUTBOUND as unknown as Record<string, unknown>));
    assert.deepEqual(pick(rows[0]), pick(INBOUND as unknown as Record<string, unknown>));
    assert.equal(typeof rows[1].asn, 'number');
    const all = (await runQuery(db, parseQuery({ name: 'recentAlerts' }, 1000))).payload as Record<string, unknown>[];
    assert.deepEqual(pick(all.find((r) => r.rule === 'scan.vertical')!), Object.fromEntries(FIELDS.map((k) => [k, null])));
    await store.close();
  });

  it('the CSV and JSON Lines exports have a column for each, the EVE export puts them in alert.metadata and the device MAC in ether', async () => {
    const store = new LogStore(file, { retentionIntervalMs: 0 });
    await store.start();
    const db = await store.readConnection();
    const csv = await exportTable(db, parseExport({ table: 'alerts', format: 'csv', file: 'a.csv' }, dir));
    const [head, ...lines] = fs.readFileSync(csv.file, 'utf8').trim().split(/\r?\n/);
    for (const col of ['list', 'list_category', 'list_entry', 'direction', 'device', 'device_mac', 'device_vendor', 'country', 'asn', 'as_org']) {
      assert.ok(head.split(',').includes(col), `CSV column ${col}`);
    }
    assert.match(lines.find((l) => l.includes('reputation.outbound'))!, /tor,tor,185\.220\.101\.0\/24,outbound,192\.168\.1\.40,b8:27:eb:65:43:21,Raspberry Pi Foundation,DE,60729,Stiftung Erneuerbare Freiheit/);
    const jsonl = await exportTable(db, parseExport({ table: 'alerts', format: 'jsonl', file: 'a.jsonl' }, dir));
    const rows = fs.readFileSync(jsonl.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual([rows[1].list_entry, rows[1].device_vendor, rows[1].asn, rows[1].as_org], ['185.220.101.0/24', 'Raspberry Pi Foundation', 60729, 'Stiftung Erneuerbare Freiheit']);
    const eve = await exportTable(db, parseExport({ table: 'alerts', format: 'eve', file: 'a.eve.json' }, dir));
    const records = fs.readFileSync(eve.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EveRecord);
    const validator = eveValidator();
    for (const r of records) assert.equal(validator.errors(r), null, JSON.stringify(r));
    const out = records.find((r) => r.alert?.metadata.ips_rule[0] === 'reputation.outbound')!;
    assert.deepEqual(out.alert!.metadata, {
      ...out.alert!.metadata,
      ips_list: ['tor'], ips_list_category: ['tor'], ips_list_entry: ['185.220.101.0/24'], ips_direction: ['outbound'], ips_device: ['192.168.1.40'],
      ips_device_mac: ['b8:27:eb:65:43:21'], ips_device_vendor: ['Raspberry Pi Foundation'], ips_country: ['DE'], ips_asn: ['60729'], ips_as_org: ['Stiftung Erneuerbare Freiheit'],
    });
    assert.deepEqual(out.ether, { src_mac: 'b8:27:eb:65:43:21' }, 'outbound: the device is the source');
    const inn = records.find((r) => r.alert?.metadata.ips_rule[0] === 'reputation.inbound')!;
    assert.deepEqual(inn.ether, { dest_mac: 'b8:27:eb:65:43:21' }, 'inbound: the device is the destination');
    assert.equal(records.find((r) => r.alert?.metadata.ips_rule[0] === 'scan.vertical')!.alert!.metadata.ips_list, undefined);
    await store.close();
  });

  it('the real engine\'s reputation alerts (every rule case) come back from the file field for field', async () => {
    const f = path.join(dir, 'engine.db');
    const alerts = everyRuleAlert().filter((c) => c.alert.detector === 'ip-reputation').map((c) => c.alert);
    assert.ok(alerts.some((a) => a.list && a.direction) && alerts.some((a) => a.country), 'the cases carry list and country fields');
    const first = new LogStore(f, { retentionIntervalMs: 0 });
    await first.start();
    const r = recognise({ payload: alerts }, Date.now());
    if (r.type === 'records') first.add(r.items);
    await first.flush();
    await first.close();
    const second = new LogStore(f, { retentionIntervalMs: 0 });
    await second.start();
    const rows = (await runQuery(await second.readConnection(), parseQuery({ name: 'recentAlerts' }, 1000))).payload as Record<string, unknown>[];
    const stored = (a: Alert) => ({ rule: a.rule, ...Object.fromEntries(FIELDS.map((k) => [k, (a as unknown as Record<string, unknown>)[k] ?? null])) });
    const byRule = (x: Record<string, unknown>, y: Record<string, unknown>) => String(x.rule).localeCompare(String(y.rule));
    assert.deepEqual(rows.map((row) => ({ rule: row.rule, ...pick(row) })).sort(byRule), alerts.map(stored).sort(byRule));
    await second.close();
  });
});
