/**
 * Serves an exported voice model in plain JS: featurising a clip costs milliseconds, the dense layers a
 * few thousand multiply-adds, far below the fixed cost of a call into a native engine. The layers run in
 * float64 on the float32 weights, so probabilities agree with the onnxruntime forward to float32 rounding;
 * the threshold was calibrated through this very function, so `authenticated` means what the export says.
 */
import { readVoiceModel, type VoiceModel } from './files.js';
import { standardise } from './data.js';
import { inputVector } from './input.js';
import type { Predictor } from '../types.js';

/** How many ranked users a prediction lists. */
export const VOICE_TOP_K = 5;

export interface VoicePrediction extends Record<string, unknown> {
  user: string;
  confidence: number;
  /** confidence ≥ threshold: the voice is taken to be `user`'s. */
  authenticated: boolean;
  /** The calibrated threshold the decision used. */
  threshold: number;
  top_k: { user: string; score: number }[];
}

/**
 * out += a · w[row .. row + out.length): a function of its own so V8 optimises it by its calls; as the
 * inner loop of denseLogits it was compiled on stack and discarded at the loop's exit, row after row,
 * when an export calibrates on hundreds of vectors.
 */
function addScaledRow(out: Float64Array, w: Float32Array, row: number, a: number): void {
  for (let j = 0; j < out.length; j++) out[j] += a * w[row + j];
}

/** Logits of a dense ReLU stack for one standardised vector, in float64. */
export function denseLogits(sizes: readonly number[], head: readonly Float32Array[], x: ArrayLike<number>): Float64Array {
  let h: ArrayLike<number> = x;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const w = head[2 * l];
    const out = Float64Array.from(head[2 * l + 1]);
    const nOut = sizes[l + 1];
    for (let i = 0; i < sizes[l]; i++) {
      const hi = h[i];
      if (hi !== 0) addScaledRow(out, w, i * nOut, hi);
    }
    if (l + 2 < sizes.length) for (let j = 0; j < nOut; j++) out[j] = Math.max(0, out[j]);
    h = out;
  }
  return h as Float64Array;
}

export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) max = Math.max(max, logits[j]);
  const p = Float64Array.from(logits, (z) => Math.exp(z - max));
  const sum = p.reduce((a, b) => a + b, 0);
  for (let j = 0; j < p.length; j++) p[j] /= sum;
  return p;
}

export class VoicePredictor implements Predictor {
  readonly modelType = 'voice' as const;
  private readonly x: Float32Array;

  constructor(private readonly model: VoiceModel) {
    this.x = new Float32Array(model.layerSizes[0]);
  }

  get labels(): readonly string[] {
    return this.model.labels;
  }

  get threshold(): number {
    return this.model.calibration.threshold;
  }

  /** Logits for an already standardised feature vector (what training and calibration see). */
  logitsOf(x: ArrayLike<number>): Float64Array {
    return denseLogits(this.model.layerSizes, this.model.head, x);
  }

  /** Logits for one input; throws TrainingInvalidRequest naming the field on bad input. */
  logits(input: Record<string, unknown>): Float64Array {
    standardise(inputVector(input, this.model.featurizer), this.model.mean, this.model.std, this.x);
    return this.logitsOf(this.x);
  }

  predict(input: Record<string, unknown>): VoicePrediction {
    const p = softmax(this.logits(input));
    const ranked = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
    const top = ranked.slice(0, VOICE_TOP_K).map((j) => ({ user: this.model.labels[j], score: p[j] }));
    const threshold = this.threshold;
    return { user: top[0].user, confidence: top[0].score, authenticated: top[0].score >= threshold, threshold, top_k: top };
  }

  dispose(): void {
    // Plain arrays only: nothing to free beyond what the garbage collector takes.
  }
}

export async function loadVoicePredictor(dir: string): Promise<VoicePredictor> {
  return new VoicePredictor(await readVoiceModel(dir));
}
