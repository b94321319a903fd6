/**
 * The vision network: conv3×3(c1) → ReLU → maxpool 2×2 → conv3×3(c2) → ReLU (→ maxpool 2×2 when the map
 * is still ≥ 8×8) → dense softmax. Its parameter layout and initialisation are shared by training (which
 * runs on onnxruntime: vision-train.ts, src/models/graph/cnn-graphs.ts) and the plain-JS forward pass
 * that serves exported models (vision-forward.ts).
 */
import type { Rng } from '../kernels/rng.js';

export interface CnnLayout {
  height: number;
  width: number;
  channels: number;
  filters: [number, number];
  classes: number;
}

/** Maps this small and smaller are not pooled a second time: 4×4 is already coarse for 8×8 digits. */
const SECOND_POOL_MIN_SIDE = 8;
/** Examples per onnxruntime forward pass in validation: bigger batches only save per-run cost. */
export const EVAL_BATCH_SIZE = 512;

export function hasSecondPool(l: CnnLayout): boolean {
  return Math.min(l.height, l.width) / 2 >= SECOND_POOL_MIN_SIDE;
}

/** Features entering the dense layer. */
export function flatFeatures(l: CnnLayout): number {
  const f = hasSecondPool(l) ? 4 : 2;
  return (l.height / f) * (l.width / f) * l.filters[1];
}

/** Shapes of the parameters in `params` order: W1 [9c, c1] (im2col layout), b1, W2 [3,3,c1,c2], b2, W3 [flat, classes], b3. */
export function cnnParamShapes(l: CnnLayout): number[][] {
  const [c1, c2] = l.filters;
  return [[9 * l.channels, c1], [c1], [3, 3, c1, c2], [c2], [flatFeatures(l), l.classes], [l.classes]];
}

export function cnnParamSizes(l: CnnLayout): number[] {
  return cnnParamShapes(l).map((s) => s.reduce((p, q) => p * q, 1));
}

/**
 * Fresh parameters drawn from `rng`: He-uniform for the convolutions (a ReLU follows each), Glorot-uniform
 * for the dense layer (a softmax follows), zero biases.
 */
export function initCnnParams(l: CnnLayout, rng: Rng): Float32Array {
  const sizes = cnnParamSizes(l);
  const theta = new Float32Array(sizes.reduce((p, q) => p + q, 0));
  const limits = [Math.sqrt(6 / (9 * l.channels)), 0, Math.sqrt(6 / (9 * l.filters[0])), 0, Math.sqrt(6 / (flatFeatures(l) + l.classes)), 0];
  let offset = 0;
  sizes.forEach((size, i) => {
    for (let k = 0; k < size && limits[i] > 0; k++) theta[offset + k] = (2 * rng.next() - 1) * limits[i];
    offset += size;
  });
  return theta;
}
