/**
 * Scoring a flow model on labelled flow CSVs (`ips flows --label`): the
 * confusion matrix, precision and recall per class. Shared by the training
 * pipeline (train.ts) and `npm run bench flow-classify`.
 */
import fs from 'node:fs';
import { parseCsv } from '../../tests/support/csv';
import type { Forest } from '../../lib/detect/ml/forest';

export interface LabelledRows {
  features: string[];
  rows: number[][];
  labels: string[];
  /** Each row's destination port (the Dst Port column). */
  ports: number[];
}

/** The rows of `ips flows --label` CSV files, with the named feature columns. */
export function readFlowCsv(files: string[], features: readonly string[]): LabelledRows {
  const rows: number[][] = [];
  const labels: string[] = [];
  const ports: number[] = [];
  for (const file of files) {
    const [header, ...data] = parseCsv(fs.readFileSync(file, 'utf8'));
    const cols = features.map((f) => header.indexOf(f));
    const missing = features.filter((_, i) => cols[i] < 0);
    if (missing.length) throw new Error(`${file} lacks columns ${missing.join(', ')}`);
    const label = header.indexOf('Label');
    if (label < 0) throw new Error(`${file} has no Label column (ips flows --label NAME)`);
    const port = header.indexOf('Dst Port');
    for (const r of data) {
      if (r.length < header.length) continue;
      rows.push(cols.map((c) => Number(r[c])));
      labels.push(r[label]);
      ports.push(port < 0 ? 0 : Number(r[port]));
    }
  }
  return { features: [...features], rows, labels, ports };
}

export interface Score {
  classes: string[];
  /** matrix[true][predicted] */
  matrix: number[][];
  precision: number[];
  recall: number[];
  accuracy: number;
  rows: number;
}

export function score(forest: Forest, data: LabelledRows): Score {
  const classes = [...forest.classes];
  const k = classes.length;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  data.rows.forEach((row, i) => {
    const t = classes.indexOf(data.labels[i]);
    if (t < 0) return;
    matrix[t][forest.predict(row).classIndex]++;
  });
  const precision = classes.map((_, c) => {
    const col = matrix.reduce((s, r) => s + r[c], 0);
    return col ? matrix[c][c] / col : 0;
  });
  const recall = classes.map((_, c) => {
    const row = matrix[c].reduce((s, v) => s + v, 0);
    return row ? matrix[c][c] / row : 0;
  });
  const total = matrix.flat().reduce((s, v) => s + v, 0);
  const right = classes.reduce((s, _, c) => s + matrix[c][c], 0);
  return { classes, matrix, precision, recall, accuracy: total ? right / total : 0, rows: total };
}

/** The score as text: per class precision, recall and flows, then the confusion matrix (rows: true class). */
export function scoreText(s: Score): string {
  const w = Math.max(10, ...s.classes.map((c) => c.length)) + 2;
  const lines = [`${'class'.padEnd(w)}${'precision'.padStart(10)}${'recall'.padStart(10)}${'flows'.padStart(8)}`];
  s.classes.forEach((c, i) => lines.push(`${c.padEnd(w)}${s.precision[i].toFixed(3).padStart(10)}${s.recall[i].toFixed(3).padStart(10)}${String(s.matrix[i].reduce((a, b) => a + b, 0)).padStart(8)}`));
  lines.push(`accuracy ${s.accuracy.toFixed(3)} on ${s.rows} flows`, '', `confusion (rows: true class, columns: predicted)`);
  lines.push(`${''.padEnd(w)}${s.classes.map((c) => c.slice(0, 9).padStart(10)).join('')}`);
  s.classes.forEach((c, i) => lines.push(`${c.padEnd(w)}${s.matrix[i].map((v) => String(v).padStart(10)).join('')}`));
  return lines.join('\n');
}

/**
 * How the flows to given services (name → destination port) were judged, per
 * true class: e.g. "ssh benign: 16 flows, 16 judged benign".
 */
export function byServiceText(forest: Forest, data: LabelledRows, services: Record<string, number>): string {
  const lines: string[] = [];
  for (const [name, port] of Object.entries(services)) {
    const counts = new Map<string, Map<string, number>>();
    data.rows.forEach((row, i) => {
      if (data.ports[i] !== port) return;
      const judged = forest.classes[forest.predict(row).classIndex];
      const m = counts.get(data.labels[i]) ?? new Map<string, number>();
      m.set(judged, (m.get(judged) ?? 0) + 1);
      counts.set(data.labels[i], m);
    });
    for (const [label, m] of counts) {
      const n = [...m.values()].reduce((a, b) => a + b, 0);
      lines.push(`${name} (port ${port}) ${label}: ${n} flows, judged ${[...m].map(([c, k]) => `${c} ${k}`).join(', ')}`);
    }
  }
  return lines.join('\n');
}
