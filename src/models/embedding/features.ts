/**
 * Texts → the sparse bags the embedding encoder pools. Features are the shared hashed n-grams
 * (text-features.ts); weights are sublinear TF-IDF, L2-normalised per text. Every hash bucket has a fixed
 * random ±1/√dim row derived from (seed, bucket), so before any training the pooled vector is a random
 * projection of the TF-IDF vector and cosines approximate TF-IDF cosines (Johnson–Lindenstrauss): the
 * encoder starts as the classic baseline and training only has to improve on it.
 *
 * Buckets seen in at least `minCount` training texts get a trainable row (initialised to their random
 * row); all others, including n-grams first met at serving time, keep their random row. That is how an
 * unseen word still matches itself in another sentence, as it would under TF-IDF.
 */
import { hashFeatures, type TextFeatureConfig } from '../text/text-features.js';
import type { FeatureMatrix } from '../nlu/features.js';
import { poolRows } from '../kernels/sparse-embedding.js';

/** The featuriser and the row layout of an encoder; stored with every export and checkpoint. */
export interface EmbeddingFeatureSpace {
  readonly config: TextFeatureConfig;
  readonly dim: number;
  /** Seed of the fixed random rows (drawn from the job's Rng). */
  readonly seed: number;
  /** Number of training texts the document frequencies were counted on. */
  readonly docCount: number;
  /** Buckets with a trainable row, ascending; row i is bucket `buckets[i]`. */
  readonly buckets: Uint32Array;
  /** Smoothed IDF of each trainable row. */
  readonly idf: Float32Array;
  /** bucket → trainable row, or -1. */
  readonly lookup: Int32Array;
}

/** lowbias32 (Wellons): a cheap integer hash with good avalanche, enough to draw row signs. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Added (times chunk + 1) to a bucket's key to draw each 32-entry chunk of its random row (the golden ratio's bits). */
export const RANDOM_ROW_CHUNK_STEP = 0x9e3779b9;

/** Writes bucket's fixed random row (each entry ±1/√dim) into `out` at `offset`. */
export function randomRow(seed: number, bucket: number, dim: number, out: Float32Array, offset: number): void {
  const scale = Math.fround(1 / Math.sqrt(dim));
  const key = mix32((bucket ^ mix32(seed)) >>> 0);
  for (let chunk = 0; chunk * 32 < dim; chunk++) {
    const bits = mix32((key + Math.imul(chunk + 1, RANDOM_ROW_CHUNK_STEP)) >>> 0);
    const end = Math.min(dim, chunk * 32 + 32);
    for (let d = chunk * 32; d < end; d++) out[offset + d] = (bits >>> (d & 31)) & 1 ? scale : -scale;
  }
}

/** sklearn's smooth IDF: ln((1 + n) / (1 + df)) + 1; an unseen n-gram (df 0) gets the largest. */
export function smoothIdf(docCount: number, df: number): number {
  return Math.log((1 + docCount) / (1 + df)) + 1;
}

/**
 * Counts document frequencies over the training texts and gives rows to buckets in ≥ minCount of them,
 * the `maxRows` most frequent when there are more (ties by bucket id, so the choice is deterministic).
 */
export function buildFeatureSpace(texts: readonly string[], config: TextFeatureConfig, dim: number, seed: number, minCount: number, maxRows: number): EmbeddingFeatureSpace {
  const df = new Map<number, number>();
  const scratch: number[] = [];
  for (const text of texts) {
    scratch.length = 0;
    for (const b of new Set(hashFeatures(text, config, scratch))) df.set(b, (df.get(b) ?? 0) + 1);
  }
  let kept = [...df].filter(([, n]) => n >= minCount);
  if (kept.length > maxRows) kept = kept.sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, maxRows);
  const buckets = Uint32Array.from(kept, ([b]) => b).sort();
  const idf = Float32Array.from(buckets, (b) => smoothIdf(texts.length, df.get(b) as number));
  return featureSpaceFrom(config, dim, seed >>> 0, texts.length, buckets, idf);
}

/** Rebuilds the bucket → row lookup of a stored feature space. */
export function featureSpaceFrom(config: TextFeatureConfig, dim: number, seed: number, docCount: number, buckets: Uint32Array, idf: Float32Array): EmbeddingFeatureSpace {
  const lookup = new Int32Array(1 << config.hashBits).fill(-1);
  for (let r = 0; r < buckets.length; r++) lookup[buckets[r]] = r;
  return { config, dim, seed, docCount, buckets, idf, lookup };
}

/** The trainable rows' initial values: each bucket's random row. */
export function initialTable(space: EmbeddingFeatureSpace): Float32Array {
  const table = new Float32Array(space.buckets.length * space.dim);
  for (let r = 0; r < space.buckets.length; r++) randomRow(space.seed, space.buckets[r], space.dim, table, r * space.dim);
  return table;
}

/**
 * Above this many bytes the fixed parts of a data set are not kept as dense vectors but rebuilt from
 * their buckets at every pooling (~15 % slower on STS-B): memory then grows with the features, not with
 * texts × dim (200,000 texts at dim 256 would need 200 MB).
 */
export const FIXED_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Texts as two CSR matrices: trainable rows (`matrix`) and buckets without a row (`fixedBuckets`, pooled
 * through their random rows: the fixed part). Pooled vector = table rows pooled + fixed part.
 */
export interface EmbeddingBags {
  readonly matrix: FeatureMatrix;
  readonly fixedOffsets: Uint32Array;
  readonly fixedBuckets: Uint32Array;
  readonly fixedWeights: Float32Array;
  /** The fixed part of every text ([count, dim]), when it fits FIXED_CACHE_BYTES; else null. */
  readonly fixedDense: Float32Array | null;
  readonly seed: number;
  readonly dim: number;
}

export function featurizeTexts(texts: readonly string[], space: EmbeddingFeatureSpace): EmbeddingBags {
  const { dim } = space;
  const offsets = new Uint32Array(texts.length + 1);
  const fixedOffsets = new Uint32Array(texts.length + 1);
  const rows: number[] = [];
  const weights: number[] = [];
  const fixedBuckets: number[] = [];
  const fixedWeights: number[] = [];
  const counts = new Map<number, number>();
  const scratch: number[] = [];
  texts.forEach((text, i) => {
    counts.clear();
    scratch.length = 0;
    for (const b of hashFeatures(text, space.config, scratch)) counts.set(b, (counts.get(b) ?? 0) + 1);
    // Ascending buckets: the order of the sums, and so every float, depends on the text alone.
    const buckets = [...counts.keys()].sort((a, b) => a - b);
    const raw = buckets.map((b) => {
      const r = space.lookup[b];
      return (1 + Math.log(counts.get(b) as number)) * (r >= 0 ? space.idf[r] : smoothIdf(space.docCount, 0));
    });
    const norm = Math.sqrt(raw.reduce((s, w) => s + w * w, 0));
    buckets.forEach((b, k) => {
      const r = space.lookup[b];
      (r >= 0 ? rows : fixedBuckets).push(r >= 0 ? r : b);
      (r >= 0 ? weights : fixedWeights).push(raw[k] / norm);
    });
    offsets[i + 1] = rows.length;
    fixedOffsets[i + 1] = fixedBuckets.length;
  });
  const bags = {
    matrix: { count: texts.length, offsets, rows: Int32Array.from(rows), weights: Float32Array.from(weights) },
    fixedOffsets,
    fixedBuckets: Uint32Array.from(fixedBuckets),
    fixedWeights: Float32Array.from(fixedWeights),
    fixedDense: null,
    seed: space.seed,
    dim,
  };
  if (texts.length * dim * 4 > FIXED_CACHE_BYTES) return bags;
  const fixedDense = new Float32Array(texts.length * dim);
  const sum = new Float64Array(dim);
  const random = new Float32Array(dim);
  for (let i = 0; i < texts.length; i++) {
    fixedPart(bags, i, sum, random);
    fixedDense.set(sum, i * dim);
  }
  return { ...bags, fixedDense };
}

/** Text i's fixed part, summed in float64 into `sum` (`random` is scratch of length dim). */
function fixedPart(bags: Omit<EmbeddingBags, 'fixedDense'>, i: number, sum: Float64Array, random: Float32Array): void {
  const { dim } = bags;
  sum.fill(0);
  for (let k = bags.fixedOffsets[i]; k < bags.fixedOffsets[i + 1]; k++) {
    randomRow(bags.seed, bags.fixedBuckets[k], dim, random, 0);
    const w = bags.fixedWeights[k];
    for (let d = 0; d < dim; d++) sum[d] += w * random[d];
  }
}

/**
 * Pooled bags of texts `order[start..end)` into `out` ([n, dim]): trainable rows through the shared
 * poolRows, then the fixed part (rounded to float32 first, cached or not, so both paths give the same
 * floats). Training, evaluation and the predictor all pool here, so they agree bit for bit.
 */
export function poolBags(table: Float32Array, dim: number, bags: EmbeddingBags, order: ArrayLike<number>, start: number, end: number, out: Float32Array): void {
  poolRows(table, dim, bags.matrix, order, start, end, out);
  const dense = bags.fixedDense;
  const sum = dense ? undefined : new Float64Array(dim);
  const random = dense ? undefined : new Float32Array(dim);
  const fround = Math.fround;
  for (let b = 0; b < end - start; b++) {
    const o = b * dim;
    const text = order[start + b];
    if (dense) {
      const f = text * dim;
      for (let d = 0; d < dim; d++) out[o + d] += dense[f + d];
    } else if (sum && random) {
      if (bags.fixedOffsets[text] === bags.fixedOffsets[text + 1]) continue;
      fixedPart(bags, text, sum, random);
      for (let d = 0; d < dim; d++) out[o + d] += fround(sum[d]);
    }
  }
}
