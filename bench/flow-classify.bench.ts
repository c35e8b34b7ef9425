/**
 * flow-classify with the shipped model (models/flows.forest.json):
 *  1. how well it judges traffic it was not trained on: precision, recall
 *     and the confusion matrix on the separate test run of `npm run train`
 *     (re-scored from .train/test-*.csv when the captures are there, else
 *     as the training pipeline recorded it in the model's meta);
 *  2. classification speed: flow records of the bench capture judged by the
 *     engine (FlowClassifier.judgeSync, records → alerts), and rows by the
 *     bare forest (target: at least 200,000 flows/s).
 * Run: npm run bench flow-classify
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCapture } from './support/make-capture';
import { CaptureFileReader } from '../lib/capture/pcap-file';
import { decodeRecord } from '../lib/packet/decode';
import { FlowMeter } from '../lib/detect/flow/meter';
import { FLOW_FEATURES, type FlowRecord } from '../lib/detect/flow/features';
import { FlowClassifier, SHIPPED_MODEL } from '../lib/detect/ml/classifier';
import { Forest } from '../lib/detect/ml/forest';
import type { Alert } from '../lib/detect/alert';
import { byServiceText, readFlowCsv, score, scoreText, type Score } from './train/evaluate';
import { loginServices } from './train/lab';

const TEST_CSV = path.join(__dirname, '..', '..', '.train');
const SECONDS = 3;

function evaluation(forest: Forest): void {
  const csvs = fs.existsSync(TEST_CSV) ? fs.readdirSync(TEST_CSV).filter((f) => /^test-.*\.csv$/.test(f)).map((f) => path.join(TEST_CSV, f)) : [];
  if (csvs.length) {
    console.log(`scored now on ${csvs.length} test-run CSVs in .train/ (captured separately from the training run):`);
    const test = readFlowCsv(csvs, forest.features);
    console.log(scoreText(score(forest, test)));
    console.log(`\nSSH and telnet flows of the test run:\n${byServiceText(forest, test, loginServices('test'))}`);
    return;
  }
  const meta = (JSON.parse(fs.readFileSync(SHIPPED_MODEL, 'utf8')) as { meta?: { test?: { classes: string[]; precision: number[]; recall: number[]; confusion: number[][]; accuracy: number; flows: number; services?: string[] } } }).meta?.test;
  if (!meta) return console.log('no evaluation recorded in the model; run npm run train');
  const s: Score = { classes: meta.classes, matrix: meta.confusion, precision: meta.precision, recall: meta.recall, accuracy: meta.accuracy, rows: meta.flows };
  console.log('as recorded by npm run train on its separate test run (no .train/ captures here to re-score):');
  console.log(scoreText(s));
  if (meta.services) console.log(`\nSSH and telnet flows of the test run:\n${meta.services.join('\n')}`);
}

async function benchRecords(): Promise<FlowRecord[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-bench-classify-'));
  try {
    const file = path.join(dir, 'bench.pcap');
    makeCapture(file, 300_000);
    const meter = new FlowMeter();
    const records: FlowRecord[] = [];
    for await (const chunk of new CaptureFileReader(file)) meter.process(chunk.map((r) => decodeRecord(r)), records);
    meter.flush(records);
    return records;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function rate(label: string, n: number, fn: () => void): void {
  fn();
  let rounds = 0;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let ms = 0;
  while (ms < SECONDS * 1000) {
    fn();
    rounds++;
    ms = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(`${label.padEnd(60)} ${Math.round((rounds * n * 1000) / ms).toLocaleString('en')} flows/s (${Math.round((rounds * n * 1000) / cpuMs).toLocaleString('en')} flows/CPU-s)`);
}

async function main(): Promise<void> {
  const classifier = await FlowClassifier.create('bench', {}, process.cwd());
  const forest = new Forest(JSON.parse(fs.readFileSync(SHIPPED_MODEL, 'utf8')));
  console.log(`model: ${path.basename(SHIPPED_MODEL)}, ${forest.trees} trees, classes ${forest.classes.join(', ')}\n`);
  evaluation(forest);
  const records = await benchRecords();
  console.log(`\n${records.length.toLocaleString('en')} flow records of the bench capture`);
  const alerts: Alert[] = [];
  rate('flow-classify engine: records → judged records and alerts', records.length, () => {
    alerts.length = 0;
    classifier.judgeSync(records, alerts);
  });
  const rows = records.map((r) => Float64Array.from(FLOW_FEATURES.map((f) => r.features[f])));
  rate('forest alone: feature rows → class and probability', rows.length, () => {
    for (const row of rows) forest.predict(row);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
