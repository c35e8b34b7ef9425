/**
 * What rule-language rules (gid, rev, classtype, references) and
 * flow-classify (the model's class and its probability) add to an alert
 * survives sqlite-log on a real SQLite file. The alerts come from the real
 * engines: a Suricata-syntax rule through payload-match's engine on a decoded
 * packet, and flow-classify judging flow-meter's records with a tiny JSON
 * forest loaded from a file (soft voting, so the probability is not 1). A
 * version-7 database (the schema before these columns, with a reputation
 * alert in it) upgrades in place and keeps its rows; after a restart (a new
 * store on the same file) recentAlerts returns every field under the Alert's
 * names, and the CSV, JSON Lines and EVE exports carry them (EVE where
 * Suricata has them, validated against Suricata's schema: docs/eve.md).
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
import type { Packet } from '../../../lib/packet/types';
import { decodePacket } from '../../../lib/packet/decode';
import { LINKTYPE_RAW } from '../../../lib/packet/linktypes';
import { PayloadDetector } from '../../../lib/detect/payload/detector';
import { FlowMeter } from '../../../lib/detect/flow/meter';
import type { FlowRecord } from '../../../lib/detect/flow/features';
import { FlowClassifier, loadFlowModel } from '../../../lib/detect/ml/classifier';
import { ipv4, tcp } from '../../../bench/support/make-capture';
import { eveValidator } from '../../support/eve-schema';
import { readRows, tempDir } from '../../support/store';
import { parseCsv } from '../../support/csv';

const dir = tempDir('rule-ml-fields');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_000;
const FIELDS = ['gid', 'rev', 'classtype', 'references', 'mlClass', 'probability'] as const;

const packet = (ts: number, src: string, dst: string, sport: number, dport: number, flags: string, data?: string): Packet => {
  const bytes = ipv4(src, dst, 6, tcp(sport, dport, flags, data === undefined ? undefined : Buffer.from(data, 'latin1')));
  return decodePacket(bytes, LINKTYPE_RAW, ts, bytes.length);
};

/** A Suricata rule with every id option, a classtype and two references, raised by payload-match's rule-language engine. */
const RULE = 'alert tcp any any -> any 80 (msg:"passwd file requested"; content:"/etc/passwd"; classtype:web-application-attack; ' +
  'reference:url,example.org/advisories/passwd; reference:cve,1999-0001; gid:1; sid:9200001; rev:4;)';

function ruleAlert(): Alert {
  const detector = new PayloadDetector('payload-match', { signatures: RULE, cooldownS: 0 });
  const alerts = detector.process([packet(T0, '198.51.100.7', '192.0.2.10', 50_000, 80, 'PA', 'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n')]);
  const a = alerts.find((x) => x.sid === 9_200_001);
  if (!a) throw new Error(`the rule raised ${alerts.map((x) => x.rule).join(', ') || 'nothing'}`);
  return a;
}

/**
 * A one-tree forest on one feature, soft voting: a flow its target answered
 * is a 'scan' with probability 0.8, one never answered a 'flood' with 0.75.
 */
const FOREST = {
  format: 'ips-forest', version: 1, features: ['Total Bwd packets'], classes: ['benign', 'scan', 'flood'], voting: 'soft',
  malicious: ['scan', 'flood'], offender: ['scan'],
  trees: [{ nodes: [{ feature: 0, threshold: 0.5, left: 1, right: 2 }, { value: [0.1, 0.15, 0.75] }, { value: [0.1, 0.8, 0.1] }] }],
};

async function modelAlerts(): Promise<Alert[]> {
  const file = path.join(dir, 'tiny.forest.json');
  fs.writeFileSync(file, JSON.stringify(FOREST));
  const classifier = FlowClassifier.withModel('flow-classify', await loadFlowModel(file));
  const meter = new FlowMeter();
  const records: FlowRecord[] = [];
  meter.process([
    packet(T0 + 10, '198.51.100.40', '192.0.2.10', 50_100, 23, 'S'), packet(T0 + 11, '192.0.2.10', '198.51.100.40', 23, 50_100, 'RA'),
    packet(T0 + 20, '203.0.113.7', '192.0.2.10', 50_101, 80, 'S'),
  ], records);
  meter.flush(records);
  const alerts: Alert[] = [];
  classifier.judgeSync(records, alerts);
  return alerts;
}

/** The version-7 schema, as the previous release wrote it: the first seven migrations and a reputation alert. */
async function version7(file: string): Promise<void> {
  const db = await openDb(file);
  for (const m of MIGRATIONS.slice(0, 7)) await exec(db, m);
  await exec(db, `PRAGMA user_version = 7;
    INSERT INTO alerts (ts, logged, rule, sid, category, severity, src, dst, reason, offender, list, country, asn) VALUES
      (1000, 1000, 'reputation.outbound', 9006001, 'reputation', 'high', '192.168.1.40', '185.220.101.7', 'an old row', '185.220.101.7', 'tor', 'DE', 60729);`);
  await closeDb(db);
}

const fieldsOf = (a: object): Record<string, unknown> => Object.fromEntries(FIELDS.map((k) => [k, (a as Record<string, unknown>)[k] ?? null]));

describe('sqlite-log keeps what rule-language rules and flow-classify add to alerts', () => {
  const file = path.join(dir, 'analyst.db');
  let rule: Alert;
  let models: Alert[];

  it('the engines raise the fields: gid, sid, rev, classtype and references from the rule; class and probability from the model', async () => {
    rule = ruleAlert();
    assert.deepEqual({ gid: rule.gid, sid: rule.sid, rev: rule.rev, classtype: rule.classtype, references: rule.references }, {
      gid: 1, sid: 9_200_001, rev: 4, classtype: 'web-application-attack', references: ['url,example.org/advisories/passwd', 'cve,1999-0001'],
    });
    models = await modelAlerts();
    const got = models.map((a) => [a.mlClass, Math.round((a.probability ?? 0) * 100)]).sort();
    assert.deepEqual(got, [['flood', 75], ['scan', 80]]);
  });

  it('a version-7 database upgrades in place to the current schema and keeps its rows (their new fields null)', async () => {
    assert.equal(SCHEMA_VERSION, 8);
    await version7(file);
    const store = new LogStore(file, { retentionIntervalMs: 0 });
    await store.start();
    const r = recognise({ payload: [rule, ...models] }, T0 + 5000);
    assert.equal(r.type, 'records');
    if (r.type === 'records') {
      assert.deepEqual(r.refused, []);
      store.add(r.items);
    }
    await store.flush();
    await store.close();
    assert.equal((await readRows(file, 'PRAGMA user_version'))[0].user_version, 8);
    const old = await readRows(file, "SELECT reason, list, country, asn, gid, rev, classtype, refs, ml_class, probability FROM alerts WHERE reason = 'an old row'");
    assert.deepEqual(old, [{ reason: 'an old row', list: 'tor', country: 'DE', asn: 60729, gid: null, rev: null, classtype: null, refs: null, ml_class: null, probability: null }]);
    assert.deepEqual(await readRows(file, "SELECT value FROM alerts, json_each(alerts.refs) WHERE sid = 9200001"),
      [{ value: 'url,example.org/advisories/passwd' }, { value: 'cve,1999-0001' }], 'SQLite reads the references in place');
    assert.equal((await readRows(file, 'PRAGMA integrity_check'))[0].integrity_check, 'ok');
  });

  it('after a restart (a new store on the same file) recentAlerts returns every field under the Alert\'s names, the old row without them', async () => {
    const store = new LogStore(file, { retentionIntervalMs: 0 });
    await store.start();
    const db = await store.readConnection();
    const rows = (await runQuery(db, parseQuery({ name: 'recentAlerts' }, 1000))).payload as Record<string, unknown>[];
    const bySid = (sid: number, src?: string) => rows.find((r) => r.sid === sid && (src === undefined || r.src === src))!;
    assert.deepEqual(fieldsOf(bySid(9_200_001)), fieldsOf(rule));
    for (const m of models) assert.deepEqual(fieldsOf(bySid(m.sid, m.src)), fieldsOf(m), m.mlClass);
    assert.ok(models.every((m) => bySid(m.sid, m.src).probability === m.probability), 'the probability exactly as the model gave it');
    assert.deepEqual(fieldsOf(bySid(9_006_001)), Object.fromEntries(FIELDS.map((k) => [k, null])));
    assert.equal(bySid(9_006_001).list, 'tor', 'the reputation fields of schema 7 still there');
    // loggedTo (a flow's reload on deploy): only the rows written by then, here the old one
    const before = (await runQuery(db, parseQuery({ name: 'recentAlerts', loggedTo: T0 + 4999 }, 1000))).payload as Record<string, unknown>[];
    assert.deepEqual(before.map((r) => r.reason), ['an old row']);
    await store.close();
  });

  it('the CSV and JSON Lines exports have a column for each; the EVE export puts them where Suricata has them and validates', async () => {
    const store = new LogStore(file, { retentionIntervalMs: 0 });
    await store.start();
    const db = await store.readConnection();
    const csv = await exportTable(db, parseExport({ table: 'alerts', format: 'csv', file: 'a.csv' }, dir));
    const [head, ...lines] = parseCsv(fs.readFileSync(csv.file, 'utf8'));
    const cols = ['gid', 'rev', 'classtype', 'refs', 'ml_class', 'probability'];
    for (const col of cols) assert.ok(head.includes(col), `CSV column ${col}`);
    const at = (line: string[]) => cols.map((c) => line[head.indexOf(c)]);
    assert.deepEqual(at(lines.find((l) => l[head.indexOf('sid')] === '9200001')!),
      ['1', '4', 'web-application-attack', '["url,example.org/advisories/passwd","cve,1999-0001"]', '', '']);
    const scan = models.find((m) => m.mlClass === 'scan')!;
    assert.deepEqual(at(lines.find((l) => l[head.indexOf('ml_class')] === 'scan')!), ['', '', '', '', 'scan', String(scan.probability)]);

    const jsonl = await exportTable(db, parseExport({ table: 'alerts', format: 'jsonl', file: 'a.jsonl' }, dir));
    const rows = fs.readFileSync(jsonl.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const r = rows.find((x) => x.sid === 9_200_001)!;
    assert.deepEqual([r.gid, r.rev, r.classtype, r.refs], [1, 4, 'web-application-attack', ['url,example.org/advisories/passwd', 'cve,1999-0001']]);
    const s = rows.find((x) => x.ml_class === 'scan')!;
    assert.deepEqual([s.ml_class, s.probability, s.refs], ['scan', scan.probability, null]);

    const eve = await exportTable(db, parseExport({ table: 'alerts', format: 'eve', file: 'a.eve.json' }, dir));
    const records = fs.readFileSync(eve.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EveRecord);
    const validator = eveValidator();
    for (const rec of records) assert.equal(validator.errors(rec), null, JSON.stringify(rec));
    const sig = records.find((x) => x.alert?.signature_id === 9_200_001)!.alert!;
    assert.deepEqual({ gid: sig.gid, rev: sig.rev, category: sig.category, references: sig.references, classtype: sig.metadata.ips_classtype }, {
      gid: 1, rev: 4, category: 'Web Application Attack', references: ['url,example.org/advisories/passwd', 'cve,1999-0001'], classtype: ['web-application-attack'],
    });
    for (const m of models) {
      const ml = records.find((x) => x.src_ip === m.src && x.alert?.metadata.ips_ml_class)!.alert!;
      assert.deepEqual([ml.metadata.ips_ml_class, ml.metadata.ips_probability.map(Number)], [[m.mlClass], [m.probability]]);
      assert.equal(ml.references, undefined);
    }
    const old = records.find((x) => x.alert?.metadata.ips_reason[0] === 'an old row')!.alert!;
    assert.deepEqual([old.gid, old.rev, old.metadata.ips_ml_class, old.metadata.ips_list], [1, 1, undefined, ['tor']]);
    await store.close();
  });
});
