/**
 * Serves an exported vision model: reads the input exactly as training did (vision-input.ts) and runs the
 * network's forward pass in plain JS (VisionForward; synchronous, as a Predictor is). Training runs the
 * same network on onnxruntime; test/training/vision-cnn.test.ts holds the two to the same logits within
 * 1e-5, and any process serving an export predicts the same bits.
 */
import { VisionForward } from './forward.js';
import { layoutOf, readVisionModel, type VisionModel } from './files.js';
import { inputSize, readVisionInput, toModelInput } from './input.js';
import type { Predictor } from '../types.js';

/** How many ranked labels a prediction lists. */
export const VISION_TOP_K = 5;

export interface VisionPrediction extends Record<string, unknown> {
  label: string;
  confidence: number;
  top_k: { label: string; score: number }[];
}

export class VisionPredictor implements Predictor {
  readonly modelType = 'vision' as const;
  private readonly input: Float32Array;

  constructor(
    private readonly model: VisionModel,
    private readonly cnn: VisionForward,
  ) {
    this.input = new Float32Array(inputSize(model.geometry));
  }

  get labels(): readonly string[] {
    return this.model.labels;
  }

  /** Class probabilities for one input (the experience `input` shape), in label order. */
  probabilities(input: Record<string, unknown>): Float32Array {
    toModelInput(readVisionInput(input), this.model.geometry, this.input, 0);
    return this.cnn.probabilities(this.input, 1);
  }

  predict(input: Record<string, unknown>): VisionPrediction {
    const p = this.probabilities(input);
    const ranked = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
    const top = ranked.slice(0, VISION_TOP_K).map((j) => ({ label: this.model.labels[j], score: p[j] }));
    return { label: top[0].label, confidence: top[0].score, top_k: top };
  }

  dispose(): void {
    // Plain arrays only: nothing to free beyond what the garbage collector takes.
  }
}

export async function loadVisionPredictor(dir: string): Promise<VisionPredictor> {
  const model = await readVisionModel(dir);
  return new VisionPredictor(model, new VisionForward(layoutOf(model), model.params));
}
