/**
 * `npm run train`: the shipped flow model, rebuilt from nothing.
 *
 *   1. captures real tools in network namespaces, twice (lab.ts: a training
 *      run and a separate test run with other addresses, MTU, ports,
 *      timings and rates), one capture per class;
 *   2. `ips flows FILE --label CLASS` turns each capture into flow CSV;
 *   3. trains a random forest on the training run's flows (ml-random-forest,
 *      seeded: the same captures give the same model), at most
 *      PER_CLASS flows of each class so the floods' thousands of flows do not
 *      drown the rest;
 *   4. scores it on the test run's flows (precision, recall, confusion) and
 *      writes models/flows.forest.json with the score in its meta.
 *
 * Needs root (namespaces) and nmap, hping3, iperf3, curl, sqlmap, dnsmasq,
 * tcpdump, busybox, sshd and ssh/scp/sftp (openssh-server), sshpass, hydra,
 * openssl, iptables with NFQUEUE (the reply delay). `--reuse` skips step 1 when the captures are in the work
 * directory (.train/, not committed). Takes 8 to 12 minutes, about
 * one CPU-minute: the tools' own pace.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RandomForestClassifier } from 'ml-random-forest';
import { captureRun, CLASSES, loginServices, type Run } from './lab';
import { exportForest, type TrainedForest } from './forest-export';
import { byServiceText, readFlowCsv, score, scoreText } from './evaluate';
import { FLOW_FEATURES } from '../../lib/detect/flow/features';
import { Forest } from '../../lib/detect/ml/forest';

const execFileP = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..', '..');
const WORK = path.join(ROOT, '.train');
const MODEL = path.join(ROOT, 'models', 'flows.forest.json');
const PER_CLASS = 400;
const SEED = 18;
export const TREE_SETTINGS = { nEstimators: 25, maxFeatures: 0.35, treeOptions: { maxDepth: 10, minNumSamples: 3 } };

/** Classes whose flows the attacker opens from its own address (alerts name the source as offender); floods are spoofable. */
const OFFENDER = ['scan', 'bruteforce', 'webattack'];

/** Deterministic shuffle (mulberry32), so the sample and the model are reproducible. */
function shuffled<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

async function flowsCsv(run: Run, reuse: boolean): Promise<string[]> {
  const pcaps = reuse && CLASSES.every((c) => fs.existsSync(path.join(WORK, `${run}-${c}.pcap`)))
    ? Object.fromEntries(CLASSES.map((c) => [c, path.join(WORK, `${run}-${c}.pcap`)]))
    : await captureRun(run, WORK, (line) => console.error(line));
  const out: string[] = [];
  for (const cls of CLASSES) {
    const csv = path.join(WORK, `${run}-${cls}.csv`);
    const { stdout } = await execFileP(process.execPath, [path.join(ROOT, 'dist', 'cli', 'ips.js'), 'flows', pcaps[cls], '--label', cls], { maxBuffer: 1 << 30 });
    fs.writeFileSync(csv, stdout);
    out.push(csv);
  }
  return out;
}

async function main(): Promise<void> {
  const reuse = process.argv.includes('--reuse');
  const trainCsv = await flowsCsv('train', reuse);
  const testCsv = await flowsCsv('test', reuse);
  const features = [...FLOW_FEATURES];
  const train = readFlowCsv(trainCsv, features);
  const byClass = CLASSES.map((c) => shuffled(train.rows.filter((_, i) => train.labels[i] === c), SEED).slice(0, PER_CLASS));
  const X = byClass.flat();
  const y = byClass.flatMap((rows, c) => rows.map(() => c));
  console.error(`training on ${X.length} flows: ${CLASSES.map((c, i) => `${c} ${byClass[i].length}`).join(', ')}`);
  const rf = new RandomForestClassifier({ ...TREE_SETTINGS, seed: SEED, replacement: false, useSampleBagging: true, noOOB: true });
  rf.train(X, y);
  const json = exportForest(rf as unknown as TrainedForest, features, [...CLASSES], {
    malicious: CLASSES.filter((c) => c !== 'benign'),
    offender: OFFENDER,
  });
  const forest = new Forest(json);
  const test = readFlowCsv(testCsv, features);
  const s = score(forest, test);
  const trainScore = score(forest, train);
  const services = byServiceText(forest, test, loginServices('test'));
  json.meta = {
    trainedBy: 'npm run train (bench/train/train.ts)',
    library: 'ml-random-forest',
    settings: { ...TREE_SETTINGS, seed: SEED, perClass: PER_CLASS },
    trainingFlows: X.length,
    test: { flows: s.rows, accuracy: round(s.accuracy), classes: s.classes, precision: s.precision.map(round), recall: s.recall.map(round), confusion: s.matrix, services: services.split('\n') },
    note: 'lab traffic of a few tools in network namespaces: retrain on your own network',
  };
  fs.mkdirSync(path.dirname(MODEL), { recursive: true });
  fs.writeFileSync(MODEL, `${JSON.stringify(json)}\n`);
  console.log(`model: ${path.relative(ROOT, MODEL)} (${fs.statSync(MODEL).size} bytes, ${forest.trees} trees)`);
  console.log(`\nall training-run flows (${trainScore.rows}), accuracy ${trainScore.accuracy.toFixed(3)}`);
  console.log(`\nseparate test run (other addresses, MTU, ports, timings):\n${scoreText(s)}`);
  console.log(`\nthe test run's SSH and telnet flows:\n${services}`);
}

const round = (v: number): number => Math.round(v * 1000) / 1000;

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
