/**
 * Serves an exported nlu model in plain JS: one example is a few hundred hashes and a few thousand
 * multiply-adds, far below TF.js's per-op cost, and no wasm has to load. Pooling goes through the same
 * function training uses; the dense layers run in float64 on the float32 weights, so probabilities agree
 * with the TF.js forward to float32 rounding.
 */
import { TrainingInvalidRequest } from '../../errors.js';
import { featurizeText, inputText } from './nlu-features.js';
import { readNluModel, type NluModel } from './nlu-files.js';
import { poolRows } from './sparse-embedding.js';
import type { Predictor } from './types.js';

/** How many ranked intents a prediction lists. */
export const NLU_TOP_K = 5;

export interface NluPrediction extends Record<string, unknown> {
  intent: string;
  confidence: number;
  top_k: { intent: string; score: number }[];
}

export class NluPredictor implements Predictor {
  readonly modelType = 'nlu' as const;
  private readonly pooled: Float32Array;
  private readonly single = [0];
  /**
   * For a linear head, each table row already multiplied by W ([rows, classes]): the logits are then a
   * weighted sum of ~100 short rows instead of ~100 rows of the wide table, which serving reads at random
   * and which does not fit in cache. Same algebra (W·mean(rows) = mean(W·rows)); float64 throughout.
   */
  private readonly projected: Float64Array | null;

  constructor(private readonly model: NluModel) {
    this.pooled = new Float32Array(model.layerSizes[0]);
    this.projected = model.layerSizes.length === 2 ? projectTable(model) : null;
  }

  get labels(): readonly string[] {
    return this.model.labels;
  }

  /** Class probabilities for one text, in label order. */
  probabilities(text: string): Float64Array {
    const { model } = this;
    const x = featurizeText(text, model.vocab);
    if (this.projected) return this.linearProbabilities(x.rows, x.weights);
    poolRows(model.table, model.layerSizes[0], x, this.single, 0, 1, this.pooled);
    let h: ArrayLike<number> = this.pooled;
    const sizes = model.layerSizes;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const w = model.head[2 * l];
      const out = Float64Array.from(model.head[2 * l + 1]);
      const nOut = sizes[l + 1];
      for (let i = 0; i < sizes[l]; i++) {
        const hi = h[i];
        if (hi === 0) continue;
        const row = i * nOut;
        for (let j = 0; j < nOut; j++) out[j] += hi * w[row + j];
      }
      if (l + 2 < sizes.length) for (let j = 0; j < nOut; j++) out[j] = Math.max(0, out[j]);
      h = out;
    }
    return softmaxInPlace(h as Float64Array);
  }

  private linearProbabilities(rows: Int32Array, weights: Float32Array): Float64Array {
    const nOut = this.model.layerSizes[1];
    const logits = Float64Array.from(this.model.head[1]);
    const projected = this.projected!;
    for (let k = 0; k < rows.length; k++) {
      const w = weights[k];
      const base = rows[k] * nOut;
      for (let j = 0; j < nOut; j++) logits[j] += w * projected[base + j];
    }
    return softmaxInPlace(logits);
  }

  predict(input: Record<string, unknown>): NluPrediction {
    const text = input === null || typeof input !== 'object' ? undefined : inputText(input);
    if (text === undefined) throw TrainingInvalidRequest('input.text must be a non-empty string');
    const p = this.probabilities(text);
    const ranked = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
    const top = ranked.slice(0, NLU_TOP_K).map((j) => ({ intent: this.model.labels[j], score: p[j] }));
    return { intent: top[0].intent, confidence: top[0].score, top_k: top };
  }

  dispose(): void {
    // Plain arrays only: nothing to free beyond what the garbage collector takes.
  }
}

export async function loadNluPredictor(dir: string): Promise<NluPredictor> {
  return new NluPredictor(await readNluModel(dir));
}

function softmaxInPlace(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const z of logits) max = Math.max(max, z);
  let sum = 0;
  for (let j = 0; j < logits.length; j++) sum += logits[j] = Math.exp(logits[j] - max);
  for (let j = 0; j < logits.length; j++) logits[j] /= sum;
  return logits;
}

/** table · W0 for a linear head: [rows, classes] in float64. */
function projectTable(model: NluModel): Float64Array {
  const [dim, nOut] = model.layerSizes;
  const rows = model.table.length / dim;
  const w = model.head[0];
  const out = new Float64Array(rows * nOut);
  for (let r = 0; r < rows; r++) {
    const t = r * dim;
    const o = r * nOut;
    for (let i = 0; i < dim; i++) {
      const v = model.table[t + i];
      if (v === 0) continue;
      const wi = i * nOut;
      for (let j = 0; j < nOut; j++) out[o + j] += v * w[wi + j];
    }
  }
  return out;
}
