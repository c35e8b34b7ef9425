/**
 * `ips flows`: a capture's flows as CSV with the features flow-meter sends
 * (the same engine), a header row, `--label`; bad arguments refused with
 * status 2 before anything is read; a truncated file keeps the flows before
 * the damage. Runs the built dist/cli/ips.js as a process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../support/red-runtime';
import { runIps } from '../support/ips-cli';
import { parseCsv } from '../support/csv';
import { FlowMeter } from '../../lib/detect/flow/meter';
import { FLOW_FEATURES, flowCsvHeader, flowCsvValues, type FlowRecord } from '../../lib/detect/flow/features';
import { FileSource } from '../../lib/capture/file-source';
import { CHAIN_BATCH } from '../../lib/detect/chain';

const LAB = path.join(packageRoot, 'tests', 'fixtures', 'lab-eth.pcap');

test('ips flows writes a header and one row per flow, equal to what the flow-meter engine gives, with --label', async () => {
  const ran = await runIps(['flows', LAB, '--label', 'lab']);
  assert.equal(ran.code, 0, ran.stderr);
  const [header, ...rows] = parseCsv(ran.stdout);
  assert.deepEqual(header, flowCsvHeader(true));
  assert.ok(header.includes('Flow Duration') && header.includes('Idle Min') && header[header.length - 1] === 'Label');
  const meter = new FlowMeter();
  const records: FlowRecord[] = [];
  await new FileSource({ path: LAB, mode: 'analyze', speed: 1, batch: CHAIN_BATCH }).run((b) => meter.process(b, records));
  meter.flush(records);
  assert.equal(rows.length, records.length);
  assert.deepEqual(rows, records.map((r) => flowCsvValues(r, 'lab').map(String)));
  assert.ok(rows.every((r) => r[r.length - 1] === 'lab'));
  assert.match(ran.stderr, new RegExp(`lab-eth.pcap: \\d+ packets, ${records.length} flows`));
});

test('ips flows: settings from --config, bad arguments refused before reading', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-flows-'));
  try {
    const cfg = path.join(dir, 'c.json');
    fs.writeFileSync(cfg, JSON.stringify({ 'flow-meter': { idleTimeoutS: 0 } }));
    const bad = await runIps(['flows', LAB, '--config', cfg]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /idleTimeoutS/);
    assert.equal(bad.stdout, '');
    assert.equal((await runIps(['flows', LAB, '--label', 'a b'])).code, 2);
    assert.equal((await runIps(['flows', LAB, '--format', 'jsonl'])).code, 2);
    assert.equal((await runIps(['analyze', LAB, '--label', 'x'])).code, 2);
    fs.writeFileSync(cfg, JSON.stringify({ 'flow-meter': { reportIntervalS: 0.001 } }));
    const interim = await runIps(['flows', LAB, '--config', cfg]);
    assert.equal(interim.code, 0, interim.stderr);
    assert.ok(parseCsv(interim.stdout).some((r) => r[6] === 'interim'), 'the setting reached the engine');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('ips flows on a truncated capture: the flows before the damage, status 1', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-flows-'));
  try {
    const cut = path.join(dir, 'cut.pcap');
    const bytes = fs.readFileSync(LAB);
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const ran = await runIps(['flows', cut]);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /truncated/);
    const [header, ...rows] = parseCsv(ran.stdout);
    assert.equal(header.length, 7 + FLOW_FEATURES.length);
    assert.ok(rows.length > 0, 'flows before the damage are written');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
