/**
 * Decision trees and random forests in a documented JSON format
 * (docs/flow-classify.md, "Model format"), evaluated here without any
 * library: what `npm run train` writes (models/flows.forest.json) and what a
 * model trained elsewhere can be converted to.
 *
 * Trees are flattened at load into typed arrays, renumbered in preorder so
 * a split's left child is the next node: per node the feature tested (for a
 * leaf, its class under hard voting, its distribution's number under soft),
 * the threshold and the right child. Judging a flow is a walk of two or
 * three array cells per level with no object touched; flow-classify reads
 * the features straight from flow-meter's values (withFeatureMap), so no
 * row is copied (npm run bench flow-classify). A split sends a row left when
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
  /**
   * Per node, trees renumbered in preorder so a split's left child is the
   * next node: `feat` the feature index tested (≥ 0), or for a leaf the
   * complement (~) of its class (hard voting) or of its leaf number (soft);
   * `thr` the threshold; `right` the right child.
   */
  private readonly feat: Int32Array;
  private readonly thr: Float64Array;
  private readonly right: Int32Array;
  /** Soft voting: leaf number × classes → the leaf's class distribution. */
  private readonly dist: Float32Array;
  private readonly votes: Float64Array;
  private readonly source: ForestJson;

  /** `featureMap`: read feature i of the model from index featureMap[i] of the rows given to predict (default: the model's order). */
  constructor(json: unknown, featureMap?: ArrayLike<number>) {
    const m = Forest.check(json);
    this.source = m;
    this.features = m.features;
    this.classes = m.classes;
    this.voting = m.voting;
    this.malicious = m.malicious ?? [];
    this.offender = m.offender ?? [];
    this.trees = m.trees.length;
    const k = m.classes.length;
    const total = m.trees.reduce((n, t) => n + t.nodes.length, 0);
    this.roots = new Int32Array(this.trees);
    this.feat = new Int32Array(total);
    this.thr = new Float64Array(total);
    this.right = new Int32Array(total);
    const leaves = m.trees.reduce((n, t) => n + t.nodes.filter((x) => 'value' in x).length, 0);
    this.dist = new Float32Array(this.voting === 'soft' ? leaves * k : 0);
    this.votes = new Float64Array(k);
    let at = 0;
    let leaf = 0;
    m.trees.forEach((tree, ti) => {
      this.roots[ti] = at;
      // Preorder, left first: the left child of the node placed at `at` is placed at `at + 1`.
      const stack = [0];
      const placed = new Int32Array(tree.nodes.length);
      const splits: number[] = [];
      while (stack.length) {
        const i = stack.pop() as number;
        const node = tree.nodes[i];
        const here = at++;
        placed[i] = here;
        if ('value' in node) {
          const sum = node.value.reduce((a, b) => a + b, 0);
          let best = 0;
          for (let c = 0; c < k; c++) {
            if (this.voting === 'soft') this.dist[leaf * k + c] = sum > 0 ? node.value[c] / sum : 0;
            if (node.value[c] > node.value[best]) best = c;
          }
          this.feat[here] = ~(this.voting === 'soft' ? leaf : best);
          leaf++;
        } else {
          this.feat[here] = featureMap ? featureMap[node.feature] : node.feature;
          this.thr[here] = node.threshold;
          splits.push(i);
          stack.push(node.right, node.left);
        }
      }
      for (const i of splits) this.right[placed[i]] = placed[(tree.nodes[i] as { right: number }).right];
    });
  }

  /** The same forest reading its features from rows in another order: model feature i at index featureMap[i]. */
  withFeatureMap(featureMap: ArrayLike<number>): Forest {
    return new Forest(this.source, featureMap);
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
      const parents = new Uint32Array(nodes.length);
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
        // A tree, not a graph: a node is the child of one split only.
        else if ((parents[s.left as number] += 1) > 1 || (parents[s.right as number] += 1) > 1) problems.push(`${where}: a child of two splits (each node has one parent)`);
      });
      return undefined;
    });
    if (problems.length) throw new ModelError(problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : ''));
    return m as ForestJson;
  }

  /** Judge one row of feature values (in `features` order, or the feature map's); writes into and returns `out`. */
  predict(row: ArrayLike<number>, out: Prediction = { classIndex: 0, probability: 0 }): Prediction {
    const votes = this.votes;
    votes.fill(0);
    const { feat, thr, right, roots } = this;
    let best = 0;
    let bestCount = 0;
    if (this.voting === 'hard') {
      for (let t = 0; t < roots.length; t++) {
        let n = roots[t];
        let f = feat[n];
        while (f >= 0) {
          n = row[f] < thr[n] ? n + 1 : right[n];
          f = feat[n];
        }
        // ml-random-forest's mode: the first class to reach the highest count wins.
        const c = ~f;
        if (++votes[c] > bestCount) {
          bestCount = votes[c];
          best = c;
        }
      }
    } else {
      const k = votes.length;
      for (let t = 0; t < roots.length; t++) {
        let n = roots[t];
        let f = feat[n];
        while (f >= 0) {
          n = row[f] < thr[n] ? n + 1 : right[n];
          f = feat[n];
        }
        const at = ~f * k;
        for (let c = 0; c < k; c++) votes[c] += this.dist[at + c];
      }
      for (let c = 1; c < k; c++) if (votes[c] > votes[best]) best = c;
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
      for (let n = this.roots[t]; this.feat[n] >= 0; n = row[this.feat[n]] < this.thr[n] ? n + 1 : this.right[n]) mine.add(this.feat[n]);
      for (const f of mine) seen.set(f, (seen.get(f) ?? 0) + 1);
    }
    return [...seen].map(([index, trees]) => ({ index, trees })).sort((a, b) => b.trees - a.trees || a.index - b.index);
  }
}
