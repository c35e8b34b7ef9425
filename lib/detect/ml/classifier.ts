/**
 * flow-classify's engine: judges flow records (from flow-meter) with a model
 * and raises an `anomaly` alert for flows of the classes taken as malicious;
 * in drop mode it marks the later packets of a condemned flow (or, with
 * `dropScope: 'source'`, every later packet of its source, for classes
 * whose source is the attacker) with `verdict: 'drop'`.
 *
 * It takes packets as well as records on its one input, so the inline wiring
 * stays a chain: nfqueue-in → flow-meter (packets on output 1, records on
 * output 2, both wired to flow-classify) → flow-classify → nfqueue-in. A
 * record arrives when its flow ends or at an interim report, so drop mode
 * stops what goes on after that: the rest of a long flow (a flood on one
 * 5-tuple, a long brute-force or sqlmap session on one connection with
 * interim reports), or with source scope a scanner's or flooder's further
 * flows; never the packets before the judgement.
 *
 * Models: the JSON forest format (forest.ts), judged synchronously, or ONNX
 * (onnx.ts), judged asynchronously. A model whose features the flow record
 * does not have is refused with their names.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Alert } from '../alert';
import { defineRules, makeAlert, type RuleInfo } from '../alerts';
import type { Packet } from '../../packet/types';
import { defaultsOf, applySettings, type Schema } from '../../base/settings';
import { BoundedTable } from '../table';
import { addrKey, srcKey, type AddrKey } from '../keys';
import { Suppressor } from '../suppress';
import { featureValues, FLOW_FEATURES, type FlowRecord } from '../flow/features';
import { flowKeyInto, type FlowKey } from '../flow/key';
import { Forest, ModelError, type Prediction } from './forest';
import { loadOnnxModel, type FlowModel } from './onnx';

export interface FlowClassifySettings {
  modelFile: string;
  malicious: string;
  minProbability: number;
  action: string;
  dropScope: string;
  dropHoldS: number;
  cooldownS: number;
  maxTracked: number;
}

/** The model shipped in the package (npm run train), used when modelFile is blank. */
export const SHIPPED_MODEL = path.join(__dirname, '..', '..', '..', '..', 'models', 'flows.forest.json');

export const flowClassifySchema: Schema<FlowClassifySettings> = {
  modelFile: { type: 'string', maxLength: 4096, default: '', label: 'Model', help: 'a .json forest (docs/flow-classify.md) or an .onnx model, relative to the Node-RED user directory; blank: the shipped model (trained on lab traffic: retrain on your network)' },
  malicious: { type: 'string', maxLength: 1000, default: '', label: 'Malicious classes', help: 'comma-separated classes that raise alerts; blank: those the model marks malicious' },
  minProbability: { type: 'number', min: 0, max: 1, default: 0.6, label: 'Min probability', help: 'a malicious class below this probability raises nothing' },
  action: { type: 'enum', values: ['alert', 'drop'], default: 'alert', label: 'On malicious flow', help: "alert only, or alert and set verdict 'drop' on the flow's later packets (inline, nfqueue-in)" },
  dropScope: { type: 'enum', values: ['flow', 'source'], default: 'flow', label: 'Drop', help: "in drop mode: the condemned flow's later packets, or every later packet of its source (only for classes whose source is the attacker)" },
  dropHoldS: { type: 'number', min: 1, max: 86_400, default: 600, unit: 's', label: 'Drop for', help: 'how long after the judgement packets are dropped (packet time)' },
  cooldownS: { type: 'number', min: 0, max: 86_400, default: 60, unit: 's', label: 'Cooldown', help: 'one alert per class and source within this time; later ones are counted into the next' },
  maxTracked: { type: 'int', min: 1, max: 10_000_000, default: 20_000, unit: 'entries', label: 'Track', help: 'most condemned flows or sources and alert cooldowns kept' },
};

export const ML_RULES = defineRules({
  source: { rule: 'ml.flow.src', sid: 1000201, signature: 'flow judged malicious by the model; its source is the attacker', category: 'anomaly', severity: 'high', tracks: 'src' },
  flow: { rule: 'ml.flow', sid: 1000202, signature: 'flow judged malicious by the model', category: 'anomaly', severity: 'medium', tracks: 'network' },
});

/** A flow record with the model's judgement (flow-classify's third output). */
export interface JudgedFlow extends FlowRecord {
  mlClass: string;
  probability: number;
  malicious: boolean;
}

export interface FlowClassifyStats {
  flows: number;
  malicious: number;
  alerts: number;
  suppressed: number;
  packets: number;
  dropped: number;
}

/** Identity fields a model may use besides the features. */
const IDENTITY_FEATURES: Readonly<Record<string, (r: FlowRecord) => number>> = {
  'Src Port': (r) => r.sport,
  'Dst Port': (r) => r.dport,
};

function forestModel(forest: Forest, file: string): FlowModel & { forest: Forest } {
  return {
    kind: `forest ${path.basename(file)} (${forest.trees} trees)`,
    forest,
    features: forest.features,
    classes: forest.classes,
    malicious: forest.malicious,
    offender: forest.offender,
    predictBatch: (rows, n) => Promise.resolve(Array.from({ length: n }, (_, i) => forest.predict(rows.subarray(i * forest.features.length)))),
  };
}

/** Load the model `file` (a forest .json or an .onnx); a ModelError says why it cannot be used. */
export async function loadFlowModel(file: string): Promise<FlowModel> {
  if (/\.onnx$/i.test(file)) return loadOnnxModel(file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ModelError(`cannot read model ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelError(`model ${file} is not JSON: ${(err as Error).message}`);
  }
  try {
    return forestModel(new Forest(json), file);
  } catch (err) {
    throw new ModelError(`model ${file}: ${(err as Error).message}`);
  }
}

const newHold = (): { until: number } => ({ until: 0 });

export class FlowClassifier {
  private settings: FlowClassifySettings;
  private maliciousSet = new Set<number>();
  private offenderSet = new Set<number>();
  /** Per model feature, how to read it from a record. */
  private readers: ((r: FlowRecord) => number)[] = [];
  /** Per model feature, its index in FLOW_FEATURES (-1: an identity field such as 'Dst Port'). */
  private featureIndex: Int32Array;
  private row: Float64Array;
  /** The forest reading flow-meter's values in FLOW_FEATURES order (no row copied), when every model feature is a flow feature. */
  private direct: Forest | undefined;
  private prediction: Prediction = { classIndex: 0, probability: 0 };
  private readonly suppress: Suppressor;
  private flows: BoundedTable<number | string, { until: number }>;
  private sources: BoundedTable<AddrKey, { until: number }>;
  private readonly key: FlowKey = { key: 0, key2: 0 };
  readonly stats: FlowClassifyStats = { flows: 0, malicious: 0, alerts: 0, suppressed: 0, packets: 0, dropped: 0 };

  private constructor(
    readonly detector: string,
    readonly model: FlowModel,
    settings: FlowClassifySettings,
  ) {
    this.settings = settings;
    this.row = new Float64Array(model.features.length);
    this.featureIndex = new Int32Array(0);
    this.suppress = new Suppressor(settings.maxTracked, settings.cooldownS * 1000);
    this.flows = new BoundedTable(settings.maxTracked, newHold, 0);
    this.sources = new BoundedTable(settings.maxTracked, newHold, 0);
    const known = new Set<string>([...FLOW_FEATURES, ...Object.keys(IDENTITY_FEATURES)]);
    const missing = model.features.filter((f) => !known.has(f));
    if (missing.length) throw new ModelError(`the model needs features a flow record does not have: ${missing.join(', ')} (flow-meter gives CICFlowMeter's names, see docs/flow-features.md)`);
    this.featureIndex = Int32Array.from(model.features, (name) => FLOW_FEATURES.indexOf(name as (typeof FLOW_FEATURES)[number]));
    this.readers = model.features.map((name) => IDENTITY_FEATURES[name] ?? ((r: FlowRecord) => r.features[name as (typeof FLOW_FEATURES)[number]]));
    const forest = (model as { forest?: Forest }).forest;
    this.direct = forest !== undefined && this.featureIndex.every((i) => i >= 0) ? forest.withFeatureMap(this.featureIndex) : undefined;
    this.applyClasses();
  }

  /** Load the configured model (relative paths from `baseDir`) and build the engine; throws with the reason. */
  static async create(detector: string, settings: Partial<FlowClassifySettings>, baseDir: string): Promise<FlowClassifier> {
    const s = applySettings(flowClassifySchema, defaultsOf(flowClassifySchema), settings);
    const file = s.modelFile.trim() === '' ? SHIPPED_MODEL : path.resolve(baseDir, s.modelFile);
    return new FlowClassifier(detector, await loadFlowModel(file), s);
  }

  /** Build on a model already loaded (tests, the bench). */
  static withModel(detector: string, model: FlowModel, settings: Partial<FlowClassifySettings> = {}): FlowClassifier {
    return new FlowClassifier(detector, model, applySettings(flowClassifySchema, defaultsOf(flowClassifySchema), settings));
  }

  get config(): Readonly<FlowClassifySettings> {
    return this.settings;
  }

  /** New settings other than the model (a new model is a new engine); throws naming what is wrong. */
  configure(patch: unknown): void {
    const next = applySettings(flowClassifySchema, this.settings, patch);
    const prev = this.settings;
    this.settings = next;
    try {
      this.applyClasses();
    } catch (err) {
      this.settings = prev;
      this.applyClasses();
      throw err;
    }
    this.suppress.cooldownMs = next.cooldownS * 1000;
    this.suppress.cap = next.maxTracked;
    this.flows.cap = next.maxTracked;
    this.sources.cap = next.maxTracked;
  }

  private applyClasses(): void {
    const named = this.settings.malicious.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const list = named.length ? named : this.model.malicious;
    const unknown = list.filter((c) => !this.model.classes.includes(c));
    if (unknown.length && this.model.classes.length) throw new ModelError(`malicious classes not in the model: ${unknown.join(', ')} (its classes: ${this.model.classes.join(', ')})`);
    this.maliciousSet = new Set(list.map((c) => this.model.classes.indexOf(c)));
    this.offenderSet = new Set(this.model.offender.map((c) => this.model.classes.indexOf(c)));
  }

  reset(): void {
    this.suppress.clear();
    this.flows.clear();
    this.sources.clear();
    for (const k of Object.keys(this.stats) as (keyof FlowClassifyStats)[]) this.stats[k] = 0;
  }

  /** The model's input row for `r` (reused buffer): by index from flow-meter's hidden values when present, else by name. */
  private rowOf(r: FlowRecord, into: Float64Array, at: number): Float64Array {
    const values = featureValues(r);
    const idx = this.featureIndex;
    for (let f = 0; f < idx.length; f++) into[at + f] = values !== undefined && idx[f] >= 0 ? values[idx[f]] : this.readers[f](r);
    return into;
  }

  /** Judge records with a forest, synchronously; null when the model is not a forest (use judge). */
  judgeSync(records: readonly FlowRecord[], alerts: Alert[]): JudgedFlow[] | null {
    const forest = (this.model as { forest?: Forest }).forest;
    if (forest === undefined) return null;
    const judged: JudgedFlow[] = new Array<JudgedFlow>(records.length);
    const direct = this.direct;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      // flow-meter's values as they are when the model only needs flow features, else the model's row.
      const values = direct !== undefined ? featureValues(r) : undefined;
      const p = values !== undefined ? (direct as Forest).predict(values, this.prediction) : forest.predict(this.rowOf(r, this.row, 0), this.prediction);
      judged[i] = this.verdict(r, p.classIndex, p.probability, alerts, forest);
    }
    return judged;
  }

  /** Judge records with any model. */
  async judge(records: readonly FlowRecord[], alerts: Alert[]): Promise<JudgedFlow[]> {
    const sync = this.judgeSync(records, alerts);
    if (sync) return sync;
    const nf = this.model.features.length;
    const rows = new Float64Array(records.length * nf);
    records.forEach((r, i) => this.rowOf(r, rows, i * nf));
    const predictions = await this.model.predictBatch(rows, records.length);
    return records.map((r, i) => this.verdict(r, predictions[i].classIndex, predictions[i].probability, alerts));
  }

  private verdict(r: FlowRecord, classIndex: number, probability: number, alerts: Alert[], forest?: Forest): JudgedFlow {
    this.stats.flows++;
    const mlClass = this.model.classes[classIndex] ?? String(classIndex);
    const malicious = this.maliciousSet.has(classIndex) && probability >= this.settings.minProbability && !linkScoped(r.src, r.dst);
    if (malicious) {
      this.stats.malicious++;
      const alert = this.alertFor(r, classIndex, mlClass, probability, forest);
      if (alert) alerts.push(alert);
      if (this.settings.action === 'drop') this.condemn(r, classIndex);
    }
    // The record itself carries the judgement on (no copy per flow): the message is flow-classify's now.
    const judged = r as JudgedFlow;
    judged.mlClass = mlClass;
    judged.probability = probability;
    judged.malicious = malicious;
    return judged;
  }

  private alertFor(r: FlowRecord, classIndex: number, mlClass: string, probability: number, forest?: Forest): Alert | null {
    const info: RuleInfo = this.offenderSet.has(classIndex) ? ML_RULES.source : ML_RULES.flow;
    const make = (count: number): Alert => {
      const pct = (probability * 100).toFixed(1);
      const f = r.features;
      let evidence: string | undefined;
      if (forest) {
        this.rowOf(r, this.row, 0);
        const top = forest.pathFeatures(this.row).slice(0, 3);
        evidence = top.map(({ index, trees }) => `${forest.features[index]}=${round(this.row[index])} (tested by ${trees} of ${forest.trees} trees)`).join('; ');
      }
      const a = makeAlert(info, {
        ts: r.end,
        src: r.src,
        dst: r.dst,
        proto: r.proto,
        sport: r.sport,
        dport: r.dport,
        count,
        windowMs: Math.round(f['Flow Duration'] / 1000),
        threshold: this.settings.minProbability,
        reason: `flow ${r.src}:${r.sport} → ${r.dst}:${r.dport} ${r.proto} judged ${mlClass} with probability ${pct}% by the ${this.model.kind} (${f['Total Fwd Packet']}+${f['Total Bwd packets']} packets in ${(f['Flow Duration'] / 1e6).toFixed(3)} s, ended by ${r.reason})${count > 1 ? `; ${count - 1} more such flow(s) from this source in the cooldown` : ''}`,
        evidence,
        detector: this.detector,
        action: this.settings.action === 'drop' ? 'drop' : 'alert',
      });
      a.signature = `ML: ${mlClass} flow`;
      a.mlClass = mlClass;
      a.probability = Math.round(probability * 1000) / 1000;
      return a;
    };
    // Records may end out of time order (a flush sends the stalest first), so without a cooldown nothing is suppressed at all.
    const alert = this.settings.cooldownS === 0 ? make(1) : this.suppress.offer(`${info.rule}|${mlClass}`, addrKey(r.src), r.end, make);
    if (alert) this.stats.alerts++;
    else this.stats.suppressed++;
    return alert;
  }

  private condemn(r: FlowRecord, classIndex: number): void {
    const until = r.end + this.settings.dropHoldS * 1000;
    if (this.settings.dropScope === 'source' && this.offenderSet.has(classIndex)) {
      this.sources.touch(addrKey(r.src), r.end).until = until;
      return;
    }
    flowKeyInto(r, this.key);
    this.flows.touch(this.key.key, r.end, this.key.key2).until = until;
  }

  /** Drop mode: set verdict 'drop' on packets of condemned flows or sources; returns how many. */
  verdicts(packets: readonly Packet[]): number {
    this.stats.packets += packets.length;
    if (this.settings.action !== 'drop' || (this.flows.size === 0 && this.sources.size === 0)) return 0;
    let dropped = 0;
    for (const p of packets) {
      let hold = this.sources.size ? this.sources.get(srcKey(p)) : undefined;
      if (hold === undefined && this.flows.size) {
        flowKeyInto(p, this.key);
        hold = this.flows.get(this.key.key, this.key.key2);
      }
      if (hold !== undefined && p.ts <= hold.until) {
        p.verdict = 'drop';
        dropped++;
      }
    }
    this.stats.dropped += dropped;
    return dropped;
  }

  async close(): Promise<void> {
    await this.model.close?.();
  }
}

function round(v: number): number {
  return Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 1000) / 1000;
}

/**
 * Flows the model cannot judge: link-local, multicast, broadcast or
 * unspecified addresses on either end (neighbour discovery, DHCP, mDNS,
 * router advertisements). Models are trained on routed unicast flows, and
 * these one- or two-packet exchanges look like probes to them (on the demo
 * capture IPv6 link-local flows were judged scans and brute force, with `::`
 * as the offender). They are never malicious here; lan-watch watches them.
 */
export function linkScoped(src: string, dst: string): boolean {
  return scoped(src) || scoped(dst);
}

function scoped(a: string): boolean {
  if (a.includes(':')) {
    const lower = a.toLowerCase();
    return lower === '::' || lower.startsWith('ff') || /^fe[89ab]/.test(lower);
  }
  const first = Number(a.slice(0, a.indexOf('.')));
  return (first >= 224 && first <= 239) || a === '255.255.255.255' || a === '0.0.0.0' || a.startsWith('169.254.');
}
