/**
 * EVE JSON (lib/store/eve.ts) against Suricata's published schema: an alert
 * of every rule the engines raise, flow records and a sensor's health
 * validate; the fields EVE tools key on say what the Alert says; the
 * sqlite-log export in format `eve` and `ips analyze --format eve` on the
 * demo capture write only valid records.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { eveAlert, eveFlow, eveStats, eveTimestamp, evidenceBytes, type EveRecord } from '../../../lib/store/eve';
import { LogStore } from '../../../lib/store/store';
import { recognise } from '../../../lib/store/records';
import { parseExport, exportTable } from '../../../lib/store/export';
import type { FlowRecord } from '../../../lib/net/types';
import { everyRuleAlert, everyRuleId } from '../../support/rule-alerts';
import { eveValidator, type EveValidator } from '../../support/eve-schema';
import { makeAlert, tempDir } from '../../support/store';
import { runIps } from '../../support/ips-cli';
import { packageRoot } from '../../support/red-runtime';

let eve: EveValidator;
let dir: string;

before(() => {
  eve = eveValidator();
  dir = tempDir('eve');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function assertValid(records: readonly unknown[]): void {
  assert.ok(records.length > 0, 'no records to validate');
  for (const r of records) assert.equal(eve.errors(r), null, JSON.stringify(r));
}

const FLOW: FlowRecord = { proto: 'tcp', src: '192.168.1.20', dst: '203.0.113.5', sport: 51000, dport: 443, origBytes: 1200, origPackets: 9, replyBytes: 64000, replyPackets: 50, state: 'ESTABLISHED', start: 1_700_000_000_000, end: 1_700_000_065_500 };

describe('EVE mapping', () => {
  it('the schema is the real one: a record it must refuse is refused', () => {
    assert.notEqual(eve.errors({ event_type: 'alert', timestamp: '2026-12-03 07:00:00' }), null);
    assert.notEqual(eve.errors({ event_type: 'alert', timestamp: eveTimestamp(0), alert: { severity: 'high' } }), null);
    assert.notEqual(eve.errors({ event_type: 'alert', timestamp: eveTimestamp(0), sensor: 'x' }), null);
  });

  it('an alert of every rule validates, with the sensor as host', () => {
    const cases = everyRuleAlert();
    assert.deepEqual(new Set(cases.map((c) => c.rule)), new Set(everyRuleId()));
    assertValid(cases.map((c) => eveAlert(c.alert, { host: 'router-1', iface: 'br-lan' }, `router-1-${c.rule}`)));
  });

  it('says what the Alert says: times, addresses, protocol, ids, severity, action, who is to blame', () => {
    const a = makeAlert(1, { ts: 1_700_000_000_123.5, src: '10.0.0.7', sport: 40000, dst: '10.0.1.1', dport: 80, offender: '10.0.0.7', severity: 'medium', action: 'drop', sid: 3000001, rev: 4, gid: 1, srcMac: 'aa:bb:cc:00:11:22', references: ['cve,2021-44228'] });
    const r = eveAlert(a, { host: 'pi' }, 'pi-42');
    assert.equal(r.timestamp, '2023-11-14T22:13:20.123500+0000');
    assert.equal(r.event_type, 'alert');
    assert.deepEqual([r.src_ip, r.src_port, r.dest_ip, r.dest_port, r.proto, r.ip_v, r.host], ['10.0.0.7', 40000, '10.0.1.1', 80, 'TCP', 4, 'pi']);
    assert.equal(r.ether?.src_mac, 'aa:bb:cc:00:11:22');
    const al = r.alert!;
    assert.deepEqual([al.action, al.gid, al.signature_id, al.rev, al.signature, al.severity], ['blocked', 1, 3000001, 4, 'SYN flood', 2]);
    assert.deepEqual(al.source, { ip: '10.0.0.7', port: 40000 });
    assert.deepEqual(al.target, { ip: '10.0.1.1', port: 80 });
    assert.deepEqual(al.references, ['cve,2021-44228']);
    assert.deepEqual(al.metadata.ips_id, ['pi-42']);
    assert.deepEqual(al.metadata.ips_rule, ['flood.syn']);
    // No offender (an aggregate alert): no source/target; high → 1, alert → allowed; gid and rev default to 1.
    const agg = eveAlert(makeAlert(2, { severity: 'high', offender: undefined }));
    assert.deepEqual([agg.alert!.severity, agg.alert!.action, agg.alert!.gid, agg.alert!.rev, agg.alert!.source, agg.host], [1, 'allowed', 1, 1, undefined, undefined]);
    // Both directions of a conversation share the flow id, another conversation has another.
    const back = eveAlert(makeAlert(3, { src: '10.0.1.1', sport: 80, dst: '10.0.0.7', dport: 40000 }));
    const other = eveAlert(makeAlert(4, { src: '10.0.0.8', sport: 40000, dst: '10.0.1.1', dport: 80 }));
    assert.equal(back.flow_id, r.flow_id);
    assert.notEqual(other.flow_id, r.flow_id);
    assert.ok(Number.isSafeInteger(r.flow_id));
    assertValid([r, agg, back]);
  });

  it('a payload alert carries the payload excerpt around the match (payload, payload_printable)', () => {
    const payloads = everyRuleAlert().filter((c) => c.alert.category === 'payload' && c.alert.evidence);
    assert.ok(payloads.length > 5);
    for (const c of payloads) {
      const r = eveAlert(c.alert);
      const bytes = Buffer.from(r.payload!, 'base64');
      const matched = /matched "([^"]*)"/.exec(c.alert.evidence!)?.[1];
      assert.ok(bytes.length > 0);
      assert.equal(r.payload_printable, [...bytes].map((b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.')).join(''));
      // The excerpt holds the matched text where it is plain ASCII.
      if (matched && /^[\x20-\x7e]+$/.test(matched) && !matched.includes('\\') && !/decod/.test(c.alert.evidence!)) assert.ok(bytes.toString('latin1').includes(matched), `${c.rule}: ${matched}`);
    }
    assert.equal(evidenceBytes('ports 22, 23, 80'), null);
    const scan = everyRuleAlert().find((c) => c.alert.category === 'scan' && c.alert.evidence);
    if (scan) assert.deepEqual(eveAlert(scan.alert).alert!.metadata.ips_evidence, [scan.alert.evidence]);
  });

  it('flow records and health validate as flow and stats records', () => {
    const f = eveFlow(FLOW, { host: 'pi' });
    assert.equal(f.event_type, 'flow');
    assert.deepEqual(f.flow, { pkts_toserver: 9, pkts_toclient: 50, bytes_toserver: 1200, bytes_toclient: 64000, start: '2023-11-14T22:13:20.000000+0000', end: '2023-11-14T22:14:25.500000+0000', age: 66, state: 'established' });
    const icmp6 = eveFlow({ ...FLOW, proto: 'icmp6', src: 'fd00::1', dst: 'fd00::2', sport: undefined, dport: undefined, end: undefined });
    assert.deepEqual([icmp6.proto, icmp6.ip_v], ['IPv6-ICMP', 6]);
    const s = eveStats(1_700_000_000_000, 3600.7, 123456, 7, { host: 'pi' });
    assert.deepEqual(s.stats, { uptime: 3600, capture: { kernel_packets: 123456, kernel_drops: 7 } });
    assertValid([f, icmp6, s]);
  });
});

describe('EVE out of the store and the command line', () => {
  it('sqlite-log exports alerts and flows as EVE lines that validate, each with its sensor as host', async () => {
    const store = new LogStore(path.join(dir, 'log.db'), { retentionIntervalMs: 0 });
    await store.start();
    const now = 1_700_000_100_000;
    const alerts = everyRuleAlert().map((c, i) => ({ ...c.alert, id: `s${i}` }));
    const take = (msg: Parameters<typeof recognise>[0]) => {
      const r = recognise(msg, now);
      assert.equal(r.type, 'records');
      if (r.type === 'records') store.add(r.items);
    };
    take({ payload: alerts, sensor: 'attic' });
    take({ payload: makeAlert(1) });
    take({ topic: 'flows', payload: [FLOW], sensor: 'cellar' });
    await store.flush();
    const db = await store.readConnection();
    const out = await exportTable(db, parseExport({ table: 'alerts', format: 'eve', from: 0, to: now }, dir));
    assert.equal(out.file, path.join(dir, `alerts-0-${now}.eve.json`));
    const lines = fs.readFileSync(out.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EveRecord);
    assert.equal(lines.length, alerts.length + 1);
    assertValid(lines);
    assert.equal(lines.filter((l) => l.host === 'attic').length, alerts.length);
    assert.deepEqual(lines.filter((l) => l.host === 'attic').map((l) => l.alert!.metadata.ips_id[0]).sort(), alerts.map((a) => a.id).sort());
    const flows = await exportTable(db, parseExport({ table: 'flows', format: 'eve', from: 0, to: now }, dir));
    const flowLines = fs.readFileSync(flows.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EveRecord);
    assertValid(flowLines);
    assert.deepEqual([flowLines[0].host, flowLines[0].flow?.bytes_toclient], ['cellar', 64000]);
    assert.throws(() => parseExport({ table: 'devices', format: 'eve' }, dir), /EVE has no record for devices/);
    await store.close();
  });

  it('ips analyze --format eve prints one valid alert record per alert of the jsonl output', async () => {
    const demo = path.join(packageRoot, 'examples', 'captures', 'demo.pcap');
    const [asEve, asJsonl] = await Promise.all([runIps(['analyze', demo, '--format', 'eve']), runIps(['analyze', demo, '--format', 'jsonl'])]);
    assert.equal(asEve.code, 0, asEve.stderr);
    const records = asEve.stdout.trim().split('\n').map((l) => JSON.parse(l) as EveRecord);
    const alerts = asJsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as { sid: number; src: string });
    assert.equal(records.length, alerts.length);
    assertValid(records);
    assert.deepEqual(records.map((r) => [r.alert!.signature_id, r.src_ip, r.pcap_filename]), alerts.map((a) => [a.sid, a.src, demo]));
  });
});
