/**
 * The nlu model as a portable ONNX graph (onnx-export.ts): a text's hashed feature ids in, intent
 * probabilities out, computing what NluPredictor does. Each id finds its table row through a dense
 * bucket → row table (ids the vocabulary never saw get weight 0); the pooled
 * vector is Σ w·row / Σ w over the ids with w the row's weight (1, or its idf), the weighted mean the
 * featuriser makes with repeats counted; then the dense head and a softmax.
 */
import { GraphBuilder } from '../graph/builder.js';
import { denseClassifierForward, paramNames, paramShapes } from '../graph/dense-graphs.js';
import { div, matMul, max, reduceSum, softmax, unsqueeze } from '../graph/ops.js';
import type { NluModel } from './files.js';
import { CLASSIFIER_DECISION, classifierOutputs, PortableGraph, textFeaturisation, type OnnxDescription } from '../kernels/onnx-export.js';

/** Keeps Σ w away from 0 for a text with no known feature, whose pooled vector is then 0 as in J-Prime. */
const EMPTY_BAG_GUARD = 1e-30;

export function buildNluOnnx(model: NluModel): { bytes: Uint8Array; description: OnnxDescription } {
  const { vocab, layerSizes: sizes } = model;
  const dim = sizes[0];
  const rows = vocab.buckets.length;
  const p = new PortableGraph(new GraphBuilder('trinity_nlu'));
  const g = p.g;
  g.meta('model_type', 'nlu');
  const ids = p.input({
    name: 'feature_ids',
    dtype: 'int64',
    shape: ['features'],
    description: `The hashed n-gram bucket ids of one text, each in [0, 2^${vocab.config.hashBits}), repeats kept (featurisation in onnx.json / the manifest).`,
  });
  // Row `rows` stands for a bucket the vocabulary never saw: weight 0, and it reads row 0 of the table
  // (through safeRow), which the weight cancels; the table itself is stored as it is, not copied.
  const bucketRow = new Int32Array(vocab.lookup.length);
  // A loop, not Int32Array.from with a map function: 3 ms against 200 for 2^20 buckets.
  for (let b = 0; b < bucketRow.length; b++) bucketRow[b] = vocab.lookup[b] < 0 ? rows : vocab.lookup[b];
  const rowWeight = new Float32Array(rows + 1);
  rowWeight.set(vocab.rowWeight);
  const table = rows > 0 ? model.table : new Float32Array(dim);
  const row = g.node('Gather', [g.initializer('bucket_row', bucketRow, [bucketRow.length]), ids], { axis: { int: 0 } });
  const w = g.node('Gather', [g.initializer('row_weight', rowWeight, [rows + 1]), row], { axis: { int: 0 } });
  const known = g.node('Less', [row, g.initializer('no_row', Int32Array.of(rows), [])]);
  const safeRow = g.node('Where', [known, row, g.initializer('row_zero', Int32Array.of(0), [])]);
  const vectors = g.node('Gather', [g.initializer('ngram_table', table, [Math.max(rows, 1), dim]), safeRow], { axis: { int: 0 } });
  const total = max(g, reduceSum(g, w, [0], true), g.scalar(EMPTY_BAG_GUARD));
  const pooled = div(g, matMul(g, unsqueeze(g, w, [0]), vectors), total);
  const shapes = paramShapes(sizes);
  const params = paramNames(sizes).map((n, i) => g.initializer(n, model.head[i], shapes[i]));
  const acts = denseClassifierForward(g, sizes, params, pooled);
  softmax(g, acts[acts.length - 1], -1, 'probabilities');
  classifierOutputs(p, 1, model.labels);
  const decision: Record<string, unknown> = { ...CLASSIFIER_DECISION };
  if (model.calibration) Object.assign(decision, { in_scope: 'confidence >= threshold', threshold: model.calibration.threshold });
  // J-Prime's second check is on words, which the graph's feature ids do not tell apart: named, not computed.
  const words = model.calibration?.word_support;
  if (words) Object.assign(decision, { in_scope: 'confidence >= threshold and word support (not in this graph)', word_support: { min_doc_freq: words.min_doc_freq, rule: 'the most frequent known word of the text occurs in at least min_doc_freq training utterances' } });
  const featurisation = { ...textFeaturisation(vocab.config), row_weights: vocab.weighting === 'idf' ? 'idf, stored in the graph (row_weight)' : 'all 1 (a plain mean)' };
  const description = p.describe({ labels: model.labels, decision, featurisation });
  return { bytes: g.encode(), description };
}
