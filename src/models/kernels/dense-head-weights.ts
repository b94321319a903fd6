/**
 * The dense classifier's parameters, shared by the voice and nlu trainers (which train it on onnxruntime:
 * dense-head-ort.ts), their model files and the graph tests: fresh weights and the shapes in file order.
 */
import type { Rng } from './rng.js';

/** Glorot-uniform weights and zero biases for layer sizes `[in, hidden..., out]`, drawn from `rng`. */
export function initHeadWeights(sizes: readonly number[], rng: Rng): Float32Array[] {
  const out: Float32Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const limit = Math.sqrt(6 / (sizes[l] + sizes[l + 1]));
    const w = new Float32Array(sizes[l] * sizes[l + 1]);
    for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * limit;
    out.push(w, new Float32Array(sizes[l + 1]));
  }
  return out;
}

/** Shapes of the parameters, in the order initHeadWeights returns them: W0, b0, W1, b1, ... */
export function headShapes(sizes: readonly number[]): number[][] {
  const shapes: number[][] = [];
  for (let l = 0; l + 1 < sizes.length; l++) shapes.push([sizes[l], sizes[l + 1]], [sizes[l + 1]]);
  return shapes;
}
