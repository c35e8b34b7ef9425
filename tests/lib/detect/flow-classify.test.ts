import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RandomForestClassifier } from 'ml-random-forest';
import { FlowMeter } from '../../../lib/detect/flow/meter';
import { FLOW_FEATURES, type FlowRecord } from '../../../lib/detect/flow/features';
import { Forest, ModelError, type ForestJson } from '../../../lib/detect/ml/forest';
import { FlowClassifier, linkScoped, loadFlowModel, SHIPPED_MODEL } from '../../../lib/detect/ml/classifier';
import { FileSource } from '../../../lib/capture/file-source';
import { exportForest, type TrainedForest } from '../../../bench/train/forest-export';
import { forestToOnnx } from '../../support/onnx';
import { packageRoot } from '../../support/red-runtime';
import { tcpPkt } from '../../support/packets';

const CAPTURE = path.join(packageRoot, 'tests', 'fixtures', 'lab-eth.pcap');

/** The flows of a capture made with real tools, as flow-meter gives them. */
async function captureFlows(): Promise<FlowRecord[]> {
  const meter = new FlowMeter();
  const records: FlowRecord[] = [];
  await new FileSource({ path: CAPTURE, mode: 'analyze', speed: 1, batch: { maxItems: 512, maxDelayMs: 0 } }).run((batch) => meter.process(batch, records));
  meter.flush(records);
  return records;
}

const rowOf = (r: FlowRecord): number[] => FLOW_FEATURES.map((f) => r.features[f]);

/** Labels that make the trees split on many features: a cheap hash of the flow's identity, three classes. */
const labelOf = (r: FlowRecord): number => (r.sport * 7 + r.dport * 13 + r.features['Total Fwd Packet']) % 3;

function trainedForest(rows: number[][], labels: number[], trees: number): { rf: RandomForestClassifier; json: ForestJson } {
  const rf = new RandomForestClassifier({ nEstimators: trees, maxFeatures: 0.5, seed: 3, replacement: false, useSampleBagging: true, noOOB: true, treeOptions: { maxDepth: 8 } });
  rf.train(rows, labels);
  const json = exportForest(rf as unknown as TrainedForest, [...FLOW_FEATURES], ['a', 'b', 'c'], { malicious: ['b', 'c'], offender: ['b'] });
  return { rf, json };
}

test('the JSON forest evaluator predicts what ml-random-forest predicts, row for row, on flows of a real capture', async () => {
  const flows = await captureFlows();
  assert.ok(flows.length > 50, `the capture has flows (${flows.length})`);
  const rows = flows.map(rowOf);
  const labels = flows.map(labelOf);
  // Four trees: ties between classes are common, so the tie rule is exercised too.
  for (const trees of [4, 9]) {
    const { rf, json } = trainedForest(rows, labels, trees);
    const forest = new Forest(JSON.parse(JSON.stringify(json)));
    const theirs = rf.predict(rows);
    const ours = rows.map((r) => forest.predict(r).classIndex);
    assert.deepEqual(ours, theirs, `${trees} trees: same class for every row`);
    // The same forest reading rows whose columns are in another order (as flow-classify reads flow-meter's values).
    const order = rows[0].map((_, i) => (i * 31) % rows[0].length);
    const mapped = forest.withFeatureMap(Array.from(FLOW_FEATURES, (_, i) => order.indexOf(i)));
    assert.deepEqual(rows.map((r) => mapped.predict(order.map((i) => r[i])).classIndex), theirs, `${trees} trees: same class with the feature map`);
  }
});

test('a forest file with mistakes is refused with every reason', () => {
  const bad = { format: 'ips-forest', version: 1, features: ['Flow Duration'], classes: ['benign', 'scan'], voting: 'hard', trees: [{ nodes: [{ feature: 3, threshold: 1, left: 0, right: 2 }, { value: [1] }] }] };
  assert.throws(() => new Forest(bad), (err: Error) => err instanceof ModelError && /feature must be an index below 1/.test(err.message) && /left and right must be indices of later nodes/.test(err.message) && /value must be 2 weights/.test(err.message));
});

test('a model needing features a flow record lacks is refused with their names', () => {
  const forest = new Forest({ format: 'ips-forest', version: 1, features: ['Flow Duration', 'Fwd Bytes Per Moon', 'Dst Port', 'Payload Entropy'], classes: ['benign', 'scan'], voting: 'hard', trees: [{ nodes: [{ value: [1, 0] }] }] });
  const model = { kind: 'test', features: forest.features, classes: forest.classes, malicious: [], offender: [], predictBatch: () => Promise.resolve([]) };
  assert.throws(() => FlowClassifier.withModel('fc', model), /features a flow record does not have: Fwd Bytes Per Moon, Payload Entropy/);
});

test('alerts: anomaly category, class and probability, the features that decided, offender only for attacker classes; drop mode marks the flow\'s later packets', async () => {
  const flows = await captureFlows();
  const { json } = trainedForest(flows.map(rowOf), flows.map(labelOf), 5);
  const file = path.join(os.tmpdir(), `ips-forest-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(json));
  try {
    const fc = await FlowClassifier.create('fc', { modelFile: file, minProbability: 0, cooldownS: 0, action: 'drop' }, '/');
    const alerts: import('../../../lib/detect/alert').Alert[] = [];
    const judged = fc.judgeSync(flows, alerts) ?? [];
    assert.equal(judged.length, flows.length);
    const forest = new Forest(json);
    const malicious = judged.filter((j) => j.malicious);
    assert.equal(alerts.length, malicious.length, 'one alert per malicious flow (no cooldown)');
    // Link-local, multicast and unspecified flows (neighbour discovery here) are never judged malicious, whatever class the model gives.
    const scoped = judged.filter((j) => linkScoped(j.src, j.dst));
    assert.ok(scoped.some((j) => j.mlClass !== 'a'), 'the capture has link-scoped flows the model puts in an attack class');
    assert.ok(scoped.every((j) => !j.malicious));
    assert.deepEqual(judged.filter((j) => !linkScoped(j.src, j.dst)).map((j) => j.malicious), judged.filter((j) => !linkScoped(j.src, j.dst)).map((j) => j.mlClass !== 'a'));
    for (const a of alerts) {
      assert.equal(a.category, 'anomaly');
      assert.ok(a.mlClass === 'b' || a.mlClass === 'c');
      assert.ok(typeof a.probability === 'number' && a.probability > 0 && a.probability <= 1);
      assert.match(a.reason, new RegExp(`judged ${a.mlClass} with probability`));
      assert.match(a.evidence ?? '', /tested by \d+ of 5 trees/);
      assert.equal(a.offender, a.mlClass === 'b' ? a.src : undefined, 'offender only for the attacker class b');
      assert.equal(a.rule, a.mlClass === 'b' ? 'ml.flow.src' : 'ml.flow');
    }
    const j = malicious[0];
    assert.equal(forest.classes[forest.predict(rowOf(j)).classIndex], j.mlClass);
    const later = tcpPkt(j.end + 10, j.dst, j.src, j.dport, j.sport, 'A');
    later.proto = j.proto;
    const other = tcpPkt(j.end + 10, j.src, j.dst, j.sport + 1, j.dport, 'A');
    other.proto = j.proto;
    assert.equal(fc.verdicts([later, other]), 1);
    assert.equal(later.verdict, 'drop', 'a later packet of the condemned flow, either direction');
    assert.equal(other.verdict, undefined, 'another flow of the same hosts passes');
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test('ONNX: a TreeEnsembleClassifier built in the test judges flows as the same forest does; features not named are refused', async () => {
  const flows = await captureFlows();
  const { json } = trainedForest(flows.map(rowOf), flows.map(labelOf), 5);
  const soft: ForestJson = { ...json, voting: 'soft' };
  const forest = new Forest(soft);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-onnx-'));
  try {
    const file = path.join(dir, 'forest.onnx');
    fs.writeFileSync(file, forestToOnnx(soft, { features: JSON.stringify(soft.features), classes: 'a,b,c', malicious: 'b,c', offender: 'b' }));
    const model = await loadFlowModel(file);
    assert.deepEqual([model.classes, model.malicious, model.offender], [['a', 'b', 'c'], ['b', 'c'], ['b']]);
    const fc = FlowClassifier.withModel('fc', model, { minProbability: 0, cooldownS: 0 });
    const judged = await fc.judge(flows, []);
    judged.forEach((j, i) => {
      const p = forest.predict(rowOf(flows[i]));
      assert.equal(j.mlClass, soft.classes[p.classIndex], `flow ${i}: same class`);
      assert.ok(Math.abs(j.probability - p.probability) < 1e-5, `flow ${i}: same probability`);
    });
    await fc.close();

    const unnamed = path.join(dir, 'unnamed.onnx');
    fs.writeFileSync(unnamed, forestToOnnx(soft, {}));
    await assert.rejects(loadFlowModel(unnamed), /does not say which flow features its input columns are/);
    const wrong = path.join(dir, 'wrong.onnx');
    fs.writeFileSync(wrong, forestToOnnx(soft, { features: ['Flow Duration', 'Bogus One', ...soft.features.slice(2)].join(',') }));
    await assert.rejects(FlowClassifier.create('fc', { modelFile: wrong }, '/'), /features a flow record does not have: Bogus One/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the shipped model loads and uses only flow-record features', async () => {
  const fc = await FlowClassifier.create('fc', {}, '/');
  assert.ok(fs.existsSync(SHIPPED_MODEL));
  assert.ok(fc.model.classes.includes('benign') && fc.model.malicious.length > 0);
});

test('link-scoped addresses: link-local, multicast, broadcast and unspecified, IPv4 and IPv6', () => {
  for (const [src, dst] of [['fe80::1', 'fd00::2'], ['::', 'ff02::1:ff00:2'], ['10.0.0.2', '224.0.0.251'], ['0.0.0.0', '255.255.255.255'], ['169.254.3.4', '10.0.0.1'], ['FE80::1', '2001:db8::1']]) {
    assert.ok(linkScoped(src, dst), `${src} → ${dst}`);
  }
  for (const [src, dst] of [['10.0.0.2', '10.0.0.1'], ['fd00::1', '2001:db8::1'], ['8.8.8.8', '192.168.1.2'], ['fec0::1', 'fd00::1']]) {
    assert.ok(!linkScoped(src, dst), `${src} → ${dst}`);
  }
});
