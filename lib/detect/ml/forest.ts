/**
 * Decision trees and random forests in a documented JSON format
 * (docs/flow-classify.md, "Model format"), evaluated here without any
 * library: what `npm run train` writes (models/flows.forest.json) and what a
 * model trained elsewhere can be converted to.
 *
 * Trees are flattened at load into typed arrays (feature, threshold, left,
 * right per node; leaves keep their class distribution in one Float32Array),
 * so judging a flow is a walk of a few array cells per tree with no object
 * touched: a 30-tree forest of depth ≤ 12 judges well over 200,000 flows/s
 * (npm run bench flow-classify). A split sends a row left when
 * `value < threshold` (ml-cart's rule); NaN goes right.
 */

/** The JSON format, as written to and read from a `.forest.json` file. */
export interface ForestJson {
  format: 'ips-forest';
  version: 1;
  /** Feature names, in the order `feature` indices of the nodes refer to. */
  features: string[];
  /** Class names, in the order of leaf distributions. */
  classes: string[];
  /**
   * 'hard': each tree votes for the class its leaf gives most weight (first
   * on ties), the class with most votes wins (first to reach its count on
   * ties), probability = its share of the votes (ml-random-forest's
   * prediction); 'soft': leaf distributions are averaged (scikit-learn's).
   */
  voting: 'hard' | 'soft';
  trees: { nodes: ForestNode[] }[];
  /** Classes judged malicious unless the node's setting says otherwise. */
  malicious?: string[];
  /** Of those, the classes whose flows are started by the attacker from its own address: their alerts name the flow's source as offender. */
  offender?: string[];
  /** Anything else (how it was trained, on what, its scores). */
  meta?: Record<string, unknown>;
}

/** A split (`feature`, `threshold`, child indices in the tree's `nodes`) or a leaf (`value`: weight per class). */
export type ForestNode = { feature: number; threshold: number; left: number; right: number } | { value: number[] };

/** One judgement: the class index, its probability, and for explaining it the feature indices tested on the way (most used first). */
export interface Prediction {
  classIndex: number;
  probability: number;
}

export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

const isInt = (v: unknown, max: number): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) < max;

/** A forest checked and flattened, ready to judge rows (feature values in `features` order). */
export class Forest {
  readonly features: readonly string[];
  readonly classes: readonly string[];
  readonly voting: 'hard' | 'soft';
  readonly malicious: readonly string[];
  readonly offender: readonly string[];
  readonly trees: number;
  private readonly roots: Int32Array;
  private readonly feature: Int32Array;
  private readonly threshold: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  /** Leaf → offset of its distribution in `dist`; leaf → its top class. */
  private readonly distAt: Int32Array;
  private readonly top: Int32Array;
  private readonly dist: Float32Array;
  private readonly votes: Float64Array;

  constructor(json: unknown) {
    const m = Forest.check(json);
    this.features = m.features;
    this.classes = m.classes;
    this.voting = m.voting;
    this.malicious = m.malicious ?? [];
    this.offender = m.offender ?? [];
    this.trees = m.trees.length;
    const k = m.classes.length;
    const total = m.trees.reduce((n, t) => n + t.nodes.length, 0);
    this.roots = new Int32Array(this.trees);
    this.feature = new Int32Array(total);
    this.threshold = new Float64Array(total);
    this.left = new Int32Array(total);
    this.right = new Int32Array(total);
    this.distAt = new Int32Array(total);
    this.top = new Int32Array(total);
    const leaves = m.trees.reduce((n, t) => n + t.nodes.filter((x) => 'value' in x).length, 0);
    this.dist = new Float32Array(leaves * k);
    this.votes = new Float64Array(k);
    let base = 0;
    let leaf = 0;
    m.trees.forEach((tree, ti) => {
      this.roots[ti] = base;
      tree.nodes.forEach((node, i) => {
        const at = base + i;
        if ('value' in node) {
          this.feature[at] = -1;
          const sum = node.value.reduce((a, b) => a + b, 0);
          let best = 0;
          for (let c = 0; c < k; c++) {
            this.dist[leaf * k + c] = sum > 0 ? node.value[c] / sum : 0;
            if (node.value[c] > node.value[best]) best = c;
          }
          this.distAt[at] = leaf * k;
          this.top[at] = best;
          leaf++;
        } else {
          this.feature[at] = node.feature;
          this.threshold[at] = node.threshold;
          this.left[at] = base + node.left;
          this.right[at] = base + node.right;
        }
      });
      base += tree.nodes.length;
    });
  }

  /** The format checked: every reason it cannot be used, in one ModelError. */
  static check(json: unknown): ForestJson {
    const problems: string[] = [];
    const m = json as Partial<ForestJson>;
    if (m === null || typeof m !== 'object') throw new ModelError('a forest model must be a JSON object');
    if (m.format !== 'ips-forest' || m.version !== 1) problems.push(`format must be "ips-forest" version 1, got ${JSON.stringify(m.format)} version ${JSON.stringify(m.version)}`);
    const strings = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s !== '');
    if (!strings(m.features)) problems.push('features must be a non-empty array of feature names');
    if (!strings(m.classes) || m.classes.length < 2) problems.push('classes must be an array of at least two class names');
    if (m.voting !== 'hard' && m.voting !== 'soft') problems.push(`voting must be "hard" or "soft", got ${JSON.stringify(m.voting)}`);
    if (!Array.isArray(m.trees) || m.trees.length === 0) problems.push('trees must be a non-empty array');
    for (const key of ['malicious', 'offender'] as const) {
      const list = m[key];
      if (list === undefined) continue;
      if (!Array.isArray(list) || !list.every((c) => typeof c === 'string' && m.classes?.includes(c))) problems.push(`${key} must list class names of the model`);
    }
    if (problems.length) throw new ModelError(problems.join('; '));
    const nf = (m.features as string[]).length;
    const k = (m.classes as string[]).length;
    (m.trees as ForestJson['trees']).forEach((tree, ti) => {
      const nodes = tree?.nodes;
      if (!Array.isArray(nodes) || nodes.length === 0) return problems.push(`tree ${ti}: nodes must be a non-empty array`);
      nodes.forEach((node, i) => {
        const where = `tree ${ti} node ${i}`;
        if (node !== null && typeof node === 'object' && 'value' in node) {
          if (!Array.isArray(node.value) || node.value.length !== k || !node.value.every((v) => typeof v === 'number' && v >= 0 && Number.isFinite(v))) problems.push(`${where}: value must be ${k} weights >= 0`);
          return;
        }
        const s = node as { feature?: unknown; threshold?: unknown; left?: unknown; right?: unknown };
        if (!isInt(s?.feature, nf)) problems.push(`${where}: feature must be an index below ${nf}`);
        if (typeof s?.threshold !== 'number' || Number.isNaN(s.threshold)) problems.push(`${where}: threshold must be a number`);
        // Children after their parent: no cycles, every walk ends at a leaf.
        if (!isInt(s?.left, nodes.length) || (s.left as number) <= i || !isInt(s?.right, nodes.length) || (s.right as number) <= i) problems.push(`${where}: left and right must be indices of later nodes of the tree`);
      });
      return undefined;
    });
    if (problems.length) throw new ModelError(problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : ''));
    return m as ForestJson;
  }

  /** Judge one row of feature values (in `features` order); writes into and returns `out`. */
  predict(row: ArrayLike<number>, out: Prediction = { classIndex: 0, probability: 0 }): Prediction {
    const votes = this.votes;
    votes.fill(0);
    const { feature, threshold, left, right } = this;
    let best = 0;
    let bestCount = 0;
    for (let t = 0; t < this.trees; t++) {
      let n = this.roots[t];
      let f = feature[n];
      while (f >= 0) {
        n = row[f] < threshold[n] ? left[n] : right[n];
        f = feature[n];
      }
      if (this.voting === 'hard') {
        // ml-random-forest's mode: the first class to reach the highest count wins.
        const c = this.top[n];
        if (++votes[c] > bestCount) {
          bestCount = votes[c];
          best = c;
        }
      } else {
        const at = this.distAt[n];
        for (let c = 0; c < votes.length; c++) votes[c] += this.dist[at + c];
      }
    }
    if (this.voting === 'soft') {
      for (let c = 1; c < votes.length; c++) if (votes[c] > votes[best]) best = c;
      bestCount = votes[best];
    }
    out.classIndex = best;
    out.probability = bestCount / this.trees;
    return out;
  }

  /** The features tested on the way to `row`'s leaves, with how many trees tested each, most first (explaining one judgement). */
  pathFeatures(row: ArrayLike<number>): { index: number; trees: number }[] {
    const seen = new Map<number, number>();
    for (let t = 0; t < this.trees; t++) {
      const mine = new Set<number>();
      for (let n = this.roots[t]; this.feature[n] >= 0; n = row[this.feature[n]] < this.threshold[n] ? this.left[n] : this.right[n]) mine.add(this.feature[n]);
      for (const f of mine) seen.set(f, (seen.get(f) ?? 0) + 1);
    }
    return [...seen].map(([index, trees]) => ({ index, trees })).sort((a, b) => b.trees - a.trees || a.index - b.index);
  }
}
