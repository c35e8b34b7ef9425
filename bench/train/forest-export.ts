/**
 * ml-random-forest's trained classifier → the JSON forest format of
 * lib/detect/ml/forest.ts. Each tree was trained on a subset of the columns
 * (feature bagging), so its split columns are mapped back through the
 * forest's `indexes`; leaves keep ml-cart's class distribution, padded to
 * every class (a tree that never saw the last classes has shorter ones).
 */
import type { ForestJson, ForestNode } from '../../lib/detect/ml/forest';

/** The parts of a trained ml-cart node read here. */
interface CartNode {
  splitColumn?: number;
  splitValue?: number;
  left?: CartNode;
  right?: CartNode;
  distribution?: { to1DArray(): number[] };
}

/** The parts of a trained ml-random-forest classifier read here. */
export interface TrainedForest {
  indexes: number[][];
  estimators: { root: CartNode }[];
}

function flatten(root: CartNode, columns: number[], classes: number): ForestNode[] {
  const nodes: ForestNode[] = [];
  const visit = (n: CartNode): number => {
    const at = nodes.length;
    if (n.left && n.right && n.splitColumn !== undefined && n.splitValue !== undefined) {
      const split = { feature: columns[n.splitColumn], threshold: n.splitValue, left: 0, right: 0 };
      nodes.push(split);
      split.left = visit(n.left);
      split.right = visit(n.right);
    } else {
      const d = n.distribution?.to1DArray() ?? [];
      nodes.push({ value: Array.from({ length: classes }, (_, c) => Math.round((d[c] ?? 0) * 1e6) / 1e6) });
    }
    return at;
  };
  visit(root);
  return nodes;
}

export function exportForest(rf: TrainedForest, features: string[], classes: string[], extra: Partial<ForestJson>): ForestJson {
  return {
    format: 'ips-forest',
    version: 1,
    features,
    classes,
    voting: 'hard',
    ...extra,
    trees: rf.estimators.map((e, i) => ({ nodes: flatten(e.root, rf.indexes[i], classes.length) })),
  };
}
