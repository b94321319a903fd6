/**
 * The embedding model as a portable ONNX graph (onnx-export.ts): a text's hashed feature ids in, its unit
 * vector out, computing what EmbeddingPredictor does (embedding-features.ts):
 *
 *   distinct ids b with counts n_b (Unique) → weight (1 + ln n_b)·idf_b, L2-normalised over the text,
 *   idf_b the row's stored idf or, for a bucket without a row, ln((1 + docs) / 1) + 1
 *   → Σ weight · vector_b, vector_b the trained row or, without one, the bucket's fixed random ±1/√dim row
 *   → (projection) → unit length.
 *
 * The random rows are drawn inside the graph with the very hash the trainer uses (lowbias32, in exact
 * 32-bit arithmetic: uint32-ops.ts), so n-grams never seen in training still match themselves.
 */
import { GraphBuilder } from '../graph/builder.js';
import { encodeUnitRows } from '../graph/contrastive-graphs.js';
import { add, div, identity, matMul, mul, reduceSum, sqrt, sub, unsqueeze } from '../graph/ops.js';
import { addU32, bitsOf, lowbias32, xorU32 } from '../graph/uint32-ops.js';
import { RANDOM_ROW_CHUNK_STEP, smoothIdf } from './features.js';
import type { EmbeddingModel } from './files.js';
import { PortableGraph, textFeaturisation, type OnnxDescription } from '../kernels/onnx-export.js';

type V = string;

/** randomRow (embedding-features.ts) of every bucket id in `buckets` (int64 [m]): float [m, dim]. */
export function randomRows(g: GraphBuilder, buckets: V, seed: number, dim: number): V {
  const key = lowbias32(g, xorU32(g, buckets, lowbias32(g, g.ints([seed >>> 0]))));
  const chunks = Math.ceil(dim / 32);
  const steps = g.ints(Array.from({ length: chunks }, (_, c) => Math.imul(c + 1, RANDOM_ROW_CHUNK_STEP) >>> 0));
  const chunkBits = lowbias32(g, addU32(g, unsqueeze(g, key, [1]), steps));
  let bits = g.node('Reshape', [bitsOf(g, chunkBits), g.ints([-1, chunks * 32])]);
  if (chunks * 32 !== dim) bits = g.node('Slice', [bits, g.ints([0]), g.ints([dim]), g.ints([1])]);
  const scale = Math.fround(1 / Math.sqrt(dim));
  return sub(g, mul(g, g.node('Cast', [bits], { to: { int: 1 } }), g.scalar(2 * scale)), g.scalar(scale));
}

export function buildEmbeddingOnnx(model: EmbeddingModel): { bytes: Uint8Array; description: OnnxDescription } {
  const { space } = model;
  const { dim } = space;
  const rows = space.buckets.length;
  const p = new PortableGraph(new GraphBuilder('trinity_embedding'));
  const g = p.g;
  g.meta('model_type', 'embedding');
  const ids = p.input({
    name: 'feature_ids',
    dtype: 'int64',
    shape: ['features'],
    description: `The hashed n-gram bucket ids of one text, each in [0, 2^${space.config.hashBits}), repeats kept (featurisation in onnx.json / the manifest). At least one: J-Prime refuses a text without any.`,
  });
  const [buckets, , , counts] = g.nodeN('Unique', [ids], { sorted: { int: 1 } }, 4);
  // Row `rows` stands for "no trained row"; it indexes only the idf table, whose last entry is an unseen n-gram's idf.
  const bucketRow = new Int32Array(space.lookup.length);
  for (let b = 0; b < bucketRow.length; b++) bucketRow[b] = space.lookup[b] < 0 ? rows : space.lookup[b];
  const idf = new Float32Array(rows + 1);
  idf.set(space.idf);
  idf[rows] = smoothIdf(space.docCount, 0);
  const row = g.node('Gather', [g.initializer('bucket_row', bucketRow, [bucketRow.length]), buckets], { axis: { int: 0 } });
  const noRow = g.initializer('no_row', Int32Array.of(rows), []);
  const trained = g.node('Less', [row, noRow]);
  const rawWeight = mul(g, add(g, g.node('Log', [g.node('Cast', [counts], { to: { int: 1 } })]), g.scalar(1)), g.node('Gather', [g.initializer('idf', idf, [rows + 1]), row], { axis: { int: 0 } }));
  const weight = div(g, rawWeight, sqrt(g, reduceSum(g, mul(g, rawWeight, rawWeight), [0], true)));
  // A table with no rows still needs one to gather from; every bucket then takes its random row.
  const table = rows > 0 ? model.table : new Float32Array(dim);
  const safeRow = g.node('Where', [trained, row, g.initializer('row_zero', Int32Array.of(0), [])]);
  const trainedVectors = g.node('Gather', [g.initializer('ngram_table', table, [Math.max(rows, 1), dim]), safeRow], { axis: { int: 0 } });
  const vectors = g.node('Where', [unsqueeze(g, trained, [1]), trainedVectors, randomRows(g, buckets, space.seed, dim)]);
  const pooled = matMul(g, unsqueeze(g, weight, [0]), vectors);
  const projection = model.projection.length === 2 ? [g.initializer('W', model.projection[0], [dim, dim]), g.initializer('b', model.projection[1], [dim])] : [];
  identity(g, encodeUnitRows(g, pooled, projection).u, 'embedding');
  p.output({ name: 'embedding', dtype: 'float32', shape: [1, dim], description: 'The text as a unit vector; the similarity of two texts is the dot product of theirs.' });
  const featurisation = {
    ...textFeaturisation(space.config),
    weights: 'inside the graph: sublinear TF-IDF ((1 + ln count)·idf per distinct id), L2-normalised per text',
    random_rows: 'inside the graph: n-grams without a trained row use a fixed random ±1/√dim row drawn from (seed, bucket)',
    seed: space.seed,
  };
  return { bytes: g.encode(), description: p.describe({ featurisation }) };
}
