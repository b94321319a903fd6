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

  constructor(private readonly model: NluModel) {
    this.pooled = new Float32Array(model.layerSizes[0]);
  }

  get labels(): readonly string[] {
    return this.model.labels;
  }

  /** Class probabilities for one text, in label order. */
  probabilities(text: string): Float64Array {
    const { model } = this;
    const x = featurizeText(text, model.vocab);
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
    const logits = h as Float64Array;
    let max = -Infinity;
    for (const z of logits) max = Math.max(max, z);
    let sum = 0;
    for (let j = 0; j < logits.length; j++) sum += logits[j] = Math.exp(logits[j] - max);
    for (let j = 0; j < logits.length; j++) logits[j] /= sum;
    return logits;
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
