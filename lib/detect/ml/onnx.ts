/**
 * ONNX models for flow-classify through onnxruntime-node, an optional
 * dependency loaded only when an `.onnx` model is configured (so the pack
 * installs and runs without it). A classifier exported from scikit-learn
 * (skl2onnx, `zipmap=False`) runs unchanged, provided the file says which
 * flow features its input columns are: the model's metadata_props entry
 * `features` (a JSON array or comma-separated names, in input-column order),
 * or one input per feature named after it. `classes`, `malicious` and
 * `offender` entries name the classes the same way (docs/flow-classify.md).
 *
 * onnxruntime-node does not expose metadata_props, so the few top-level
 * fields needed are read from the protobuf here (ModelProto field 14,
 * StringStringEntryProto key 1 / value 2).
 */
import fs from 'node:fs';
import { ModelError, type Prediction } from './forest';

/** What flow-classify needs of a model: its feature and class names, and batch prediction. */
export interface FlowModel {
  readonly kind: string;
  readonly features: readonly string[];
  readonly classes: readonly string[];
  readonly malicious: readonly string[];
  readonly offender: readonly string[];
  predictBatch(rows: Float64Array, n: number): Promise<Prediction[]>;
  close?(): Promise<void>;
}

function varint(b: Buffer, at: { o: number }): number {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (at.o >= b.length) throw new ModelError('not an ONNX file: the protobuf ends inside a number');
    const byte = b[at.o++];
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) return v;
    mul *= 128;
    if (mul > 2 ** 63) throw new ModelError('not an ONNX file: a protobuf number is too long');
  }
}

/** The (field, bytes) pairs of length-delimited fields of one protobuf message; other wire types skipped. */
function fields(b: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  const at = { o: 0 };
  while (at.o < b.length) {
    const tag = varint(b, at);
    const wire = tag & 7;
    if (wire === 0) varint(b, at);
    else if (wire === 1) at.o += 8;
    else if (wire === 5) at.o += 4;
    else if (wire === 2) {
      const len = varint(b, at);
      if (at.o + len > b.length) throw new ModelError('not an ONNX file: a protobuf field runs past the end');
      out.push([Math.floor(tag / 8), b.subarray(at.o, at.o + len)]);
      at.o += len;
    } else throw new ModelError(`not an ONNX file: protobuf wire type ${wire}`);
    if (at.o > b.length) throw new ModelError('not an ONNX file: the protobuf ends inside a field');
  }
  return out;
}

/** ModelProto's metadata_props as a plain object. */
export function onnxMetadata(model: Buffer): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [field, bytes] of fields(model)) {
    if (field !== 14) continue;
    let key = '';
    let value = '';
    for (const [f, v] of fields(bytes)) {
      if (f === 1) key = v.toString('utf8');
      else if (f === 2) value = v.toString('utf8');
    }
    meta[key] = value;
  }
  return meta;
}

function nameList(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  if (text.trim().startsWith('[')) {
    try {
      const v: unknown = JSON.parse(text);
      if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
    } catch {
      // fall through to the comma-separated reading
    }
  }
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

type Ort = typeof import('onnxruntime-node');

async function loadRuntime(): Promise<Ort> {
  try {
    return (await import('onnxruntime-node')) as Ort;
  } catch (err) {
    throw new ModelError(`ONNX models need onnxruntime-node, an optional dependency that is not installed or does not load here (${(err as Error).message.split('\n')[0]}): run npm install onnxruntime-node in the Node-RED user directory, or use a model in the JSON forest format`);
  }
}

/** Load an ONNX classifier; a ModelError says why it cannot be used. */
export async function loadOnnxModel(file: string): Promise<FlowModel> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new ModelError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const meta = onnxMetadata(bytes);
  const ort = await loadRuntime();
  let session: import('onnxruntime-node').InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (err) {
    throw new ModelError(`${file}: onnxruntime cannot load it: ${(err as Error).message}`);
  }
  const perFeatureInputs = session.inputNames.length > 1;
  const features = perFeatureInputs ? [...session.inputNames] : nameList(meta.features);
  if (features === undefined) throw new ModelError(`${file}: the model does not say which flow features its input columns are: add a metadata_props entry "features" (names in column order) or name one input per feature`);
  const probOutput = session.outputNames.find((n) => /prob|score/i.test(n)) ?? session.outputNames[session.outputNames.length - 1];
  const classesMeta = nameList(meta.classes);
  let classes: string[] = classesMeta ?? [];
  const malicious = nameList(meta.malicious) ?? [];
  const offender = nameList(meta.offender) ?? [];
  const inputName = session.inputNames[0];
  const model: FlowModel = {
    kind: `ONNX model ${file.split('/').pop()}`,
    features,
    get classes() {
      return classes;
    },
    malicious,
    offender,
    async predictBatch(rows: Float64Array, n: number): Promise<Prediction[]> {
      const nf = features.length;
      const feeds: Record<string, import('onnxruntime-node').Tensor> = {};
      if (perFeatureInputs) {
        features.forEach((name, f) => {
          const col = new Float32Array(n);
          for (let i = 0; i < n; i++) col[i] = rows[i * nf + f];
          feeds[name] = new ort.Tensor('float32', col, [n, 1]);
        });
      } else {
        feeds[inputName] = new ort.Tensor('float32', Float32Array.from(rows.subarray(0, n * nf)), [n, nf]);
      }
      const result = await session.run(feeds, [probOutput]);
      const probs = result[probOutput];
      if (!probs || probs.dims.length !== 2 || !(probs.data instanceof Float32Array)) throw new ModelError(`${file}: output ${probOutput} is not a [rows, classes] float tensor of probabilities (export scikit-learn classifiers with zipmap disabled)`);
      const k = probs.dims[1];
      if (classes.length === 0) classes = Array.from({ length: k }, (_, c) => String(c));
      if (classes.length !== k) throw new ModelError(`${file}: metadata names ${classes.length} classes, the model gives ${k} probabilities`);
      const out: Prediction[] = [];
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let c = 1; c < k; c++) if (probs.data[i * k + c] > probs.data[i * k + best]) best = c;
        out.push({ classIndex: best, probability: probs.data[i * k + best] });
      }
      return out;
    },
    close: () => session.release(),
  };
  return model;
}
