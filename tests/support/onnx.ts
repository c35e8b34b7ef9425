/**
 * A small ONNX file written byte by byte (no Python, no onnx package): a
 * JSON forest as an ai.onnx.ml TreeEnsembleClassifier whose scores are the
 * trees' averaged leaf distributions (soft voting), with the flow features
 * and classes named in metadata_props as flow-classify reads them. Field
 * numbers from onnx.proto (ModelProto, GraphProto, NodeProto,
 * AttributeProto, ValueInfoProto, TypeProto, OperatorSetIdProto).
 */
import type { ForestJson } from '../../lib/detect/ml/forest';

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

const key = (field: number, wire: number): Buffer => varint(field * 8 + wire);
const bytes = (field: number, b: Buffer): Buffer => Buffer.concat([key(field, 2), varint(b.length), b]);
const str = (field: number, s: string): Buffer => bytes(field, Buffer.from(s, 'utf8'));
const int = (field: number, n: number): Buffer => Buffer.concat([key(field, 0), varint(n)]);
const msg = (field: number, ...parts: Buffer[]): Buffer => bytes(field, Buffer.concat(parts));

/** AttributeProto types. */
const FLOATS = 6;
const INTS = 7;
const STRING = 3;
const STRINGS = 8;

function attrInts(name: string, values: number[]): Buffer {
  return msg(5, str(1, name), int(20, INTS), bytes(8, Buffer.concat(values.map(varint))));
}
function attrFloats(name: string, values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return msg(5, str(1, name), int(20, FLOATS), bytes(7, b));
}
function attrStrings(name: string, values: string[]): Buffer {
  return msg(5, str(1, name), int(20, STRINGS), ...values.map((v) => str(9, v)));
}
function attrString(name: string, value: string): Buffer {
  return msg(5, str(1, name), int(20, STRING), str(4, value));
}

/** ValueInfoProto of a tensor: elem type 1 float, 7 int64; dims a number or a symbolic name. */
function tensorInfo(name: string, elem: number, dims: (number | string)[]): Buffer {
  const shape = Buffer.concat(dims.map((d) => msg(1, typeof d === 'number' ? int(1, d) : str(2, d))));
  return Buffer.concat([str(1, name), msg(2, msg(1, int(1, elem), msg(2, shape)))]);
}

/** The forest as an ONNX model; `metadata` entries become metadata_props (e.g. features, classes). */
export function forestToOnnx(forest: ForestJson, metadata: Record<string, string>): Buffer {
  const a = { treeids: [] as number[], nodeids: [] as number[], featureids: [] as number[], values: [] as number[], modes: [] as string[], trueids: [] as number[], falseids: [] as number[] };
  const c = { treeids: [] as number[], nodeids: [] as number[], ids: [] as number[], weights: [] as number[] };
  const k = forest.classes.length;
  forest.trees.forEach((tree, t) => {
    tree.nodes.forEach((node, n) => {
      a.treeids.push(t);
      a.nodeids.push(n);
      if ('value' in node) {
        a.featureids.push(0);
        a.values.push(0);
        a.modes.push('LEAF');
        a.trueids.push(0);
        a.falseids.push(0);
        const sum = node.value.reduce((x, y) => x + y, 0);
        for (let cls = 0; cls < k; cls++) {
          c.treeids.push(t);
          c.nodeids.push(n);
          c.ids.push(cls);
          c.weights.push(sum > 0 ? node.value[cls] / sum / forest.trees.length : 0);
        }
      } else {
        a.featureids.push(node.feature);
        a.values.push(node.threshold);
        a.modes.push('BRANCH_LT');
        a.trueids.push(node.left);
        a.falseids.push(node.right);
      }
    });
  });
  const nf = forest.features.length;
  const node = msg(
    1,
    str(1, 'X'),
    str(2, 'label'),
    str(2, 'probabilities'),
    str(3, 'forest'),
    str(4, 'TreeEnsembleClassifier'),
    str(7, 'ai.onnx.ml'),
    attrInts('classlabels_int64s', forest.classes.map((_, i) => i)),
    attrInts('nodes_treeids', a.treeids),
    attrInts('nodes_nodeids', a.nodeids),
    attrInts('nodes_featureids', a.featureids),
    attrFloats('nodes_values', a.values),
    attrStrings('nodes_modes', a.modes),
    attrInts('nodes_truenodeids', a.trueids),
    attrInts('nodes_falsenodeids', a.falseids),
    attrInts('class_treeids', c.treeids),
    attrInts('class_nodeids', c.nodeids),
    attrInts('class_ids', c.ids),
    attrFloats('class_weights', c.weights),
    attrString('post_transform', 'NONE'),
  );
  const graph = msg(7, node, str(2, 'flows'), msg(11, tensorInfo('X', 1, ['N', nf])), msg(12, tensorInfo('label', 7, ['N'])), msg(12, tensorInfo('probabilities', 1, ['N', k])));
  const opsets = Buffer.concat([msg(8, str(1, ''), int(2, 17)), msg(8, str(1, 'ai.onnx.ml'), int(2, 3))]);
  const meta = Buffer.concat(Object.entries(metadata).map(([k2, v]) => msg(14, str(1, k2), str(2, v))));
  return Buffer.concat([int(1, 8), str(2, 'node-red-contrib-ips test'), graph, opsets, meta]);
}
