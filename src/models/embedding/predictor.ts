/**
 * Serves an exported embedding model in plain JS: a text is ~150 hashes, a pooled sum (and with a
 * projection one dim×dim matrix-vector product), far below the fixed cost of a call into a native engine
 * (p50 0.2 ms on STS-B sentences). Pooling goes through the same function as training, so the bag is bit
 * for bit the trainer's; normalisation and the projection run in float64, so vectors agree with the
 * onnxruntime forward to float32 rounding.
 */
import { TrainingInvalidRequest } from '../../errors.js';
import { featurizeTexts, poolBags } from './features.js';
import { readEmbeddingModel, type EmbeddingModel, type EmbeddingValidation } from './files.js';
import type { Predictor } from '../types.js';

export interface EmbeddingPrediction extends Record<string, unknown> {
  /** Unit-length vector. */
  embedding: number[];
  dim: number;
}

/**
 * Cosine similarity of two vectors of equal length (for unit vectors, their dot product). Normalises
 * anyway, so vectors that went through JSON or another encoder compare correctly; 0 when either is zero.
 */
export function similarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw TrainingInvalidRequest(`vectors to compare must have the same length, got ${a.length} and ${b.length}`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/** The unit vector of one text under `model`; throws TrainingInvalidRequest naming `field` when it has no words. */
export function encodeText(model: EmbeddingModel, text: string, field = 'input.text'): Float64Array {
  const { space, table, projection } = model;
  const dim = space.dim;
  const bags = featurizeTexts([text], space);
  if (bags.matrix.rows.length === 0 && bags.fixedBuckets.length === 0) {
    throw TrainingInvalidRequest(`${field} has no letters or digits to embed`);
  }
  const pooled = new Float32Array(dim);
  poolBags(table, dim, bags, [0], 0, 1, pooled);
  const z = new Float64Array(dim);
  unitVector(pooled, 0, dim, projection, z, 0);
  return z;
}

/**
 * Writes the unit vector of the pooled bag `pooled[at..at + dim)` — through the projection [W, b] when
 * there is one — into `out[outAt..outAt + dim)`, in float64 until stored. Serving and the trainer's
 * validation figures both go through here; an all-zero vector stays zero.
 */
export function unitVector(pooled: ArrayLike<number>, at: number, dim: number, projection: readonly Float32Array[], out: Float64Array | Float32Array, outAt: number): void {
  const z = new Float64Array(dim);
  if (projection.length === 2) {
    const [w, bias] = projection;
    z.set(bias);
    for (let i = 0; i < dim; i++) {
      const xi = pooled[at + i];
      if (xi === 0) continue;
      const row = i * dim;
      for (let j = 0; j < dim; j++) z[j] += xi * w[row + j];
    }
  } else {
    for (let j = 0; j < dim; j++) z[j] = pooled[at + j];
  }
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += z[j] * z[j];
  norm = Math.sqrt(norm);
  for (let j = 0; j < dim; j++) out[outAt + j] = norm > 0 ? z[j] / norm : 0;
}

export class EmbeddingPredictor implements Predictor {
  readonly modelType = 'embedding' as const;

  constructor(private readonly model: EmbeddingModel) {}

  get dim(): number {
    return this.model.space.dim;
  }

  /** Validation figures recorded at export (Spearman, recall@1, and the untrained encoder's). */
  get validation(): EmbeddingValidation | null {
    return this.model.validation;
  }

  /** `{text}` → `{embedding, dim}`; TrainingInvalidRequest naming `input.text` when it is missing or empty. */
  predict(input: Record<string, unknown>): EmbeddingPrediction {
    const text = input !== null && typeof input === 'object' ? input.text : undefined;
    if (typeof text !== 'string' || text.trim() === '') throw TrainingInvalidRequest('input.text must be a non-empty string');
    return { embedding: Array.from(encodeText(this.model, text)), dim: this.dim };
  }

  dispose(): void {
    // Plain arrays only: nothing to free beyond what the garbage collector takes.
  }
}

export async function loadEmbeddingPredictor(dir: string): Promise<EmbeddingPredictor> {
  return new EmbeddingPredictor(await readEmbeddingModel(dir));
}
