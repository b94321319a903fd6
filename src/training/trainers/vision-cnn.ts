/**
 * The vision network: conv3×3(c1) → ReLU → maxpool 2×2 → conv3×3(c2) → ReLU (→ maxpool 2×2 when the map
 * is still ≥ 8×8) → dense softmax. All parameters live in one flat TF.js variable, `theta`: the forward
 * pass splits it (one kernel), so its gradient is one concat and Adam runs as a handful of kernels on one
 * vector instead of a handful per layer. The same forward serves training, validation and the predictor,
 * so a served model computes exactly what was trained.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';
import type { Tf } from '../tf.js';
import { createCnnOps, im2col, type CnnOps } from './vision-ops.js';

export interface CnnLayout {
  height: number;
  width: number;
  channels: number;
  filters: [number, number];
  classes: number;
}

/** Maps this small and smaller are not pooled a second time: 4×4 is already coarse for 8×8 digits. */
const SECOND_POOL_MIN_SIDE = 8;
/** Examples per forward pass when no gradient is needed: bigger batches only save per-kernel cost. */
export const EVAL_BATCH_SIZE = 512;

export function hasSecondPool(l: CnnLayout): boolean {
  return Math.min(l.height, l.width) / 2 >= SECOND_POOL_MIN_SIDE;
}

/** Features entering the dense layer. */
export function flatFeatures(l: CnnLayout): number {
  const f = hasSecondPool(l) ? 4 : 2;
  return (l.height / f) * (l.width / f) * l.filters[1];
}

/** Shapes of the parameters in `theta` order: W1 [9c, c1] (im2col layout), b1, W2 [3,3,c1,c2], b2, W3 [flat, classes], b3. */
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

/** One batch of patches for the first layer; `colsT` only when its filter gradient is wanted. */
export interface PatchBatch {
  n: number;
  cols: tfjs.Tensor2D;
  colsT?: tfjs.Tensor2D;
}

export class VisionCnn {
  readonly theta: tfjs.Variable;
  readonly ops: CnnOps;
  private readonly shapes: number[][];
  private readonly sizes: number[];
  private cols = new Float32Array(0);
  private colsT = new Float32Array(0);

  constructor(
    readonly tf: Tf,
    readonly layout: CnnLayout,
    initial: Float32Array,
  ) {
    // W1 and b1 sit next to each other in theta: together they are one [9c + 1, c1] matrix, the
    // patches carry a column of ones for the bias row.
    const shapes = cnnParamShapes(layout);
    const sizes = cnnParamSizes(layout);
    this.shapes = [[shapes[0][0] + 1, shapes[0][1]], ...shapes.slice(2)];
    this.sizes = [sizes[0] + sizes[1], ...sizes.slice(2)];
    const total = this.sizes.reduce((p, q) => p + q, 0);
    if (initial.length !== total) throw new RangeError(`cnn parameters have ${initial.length} values, the layout needs ${total}`);
    // trainable=false: nothing may reach it through TF.js's own optimizers; Adam is ours (exact resume).
    // Made in tidy(): a variable copies its initial tensor, which would otherwise outlive dispose().
    this.theta = tf.tidy(() => tf.variable(tf.tensor1d(initial, 'float32'), false));
    this.ops = createCnnOps(tf);
  }

  /** Logits [n, classes] from the parameters `theta` (the variable, or a tensor under differentiation). */
  logits(theta: tfjs.Tensor, batch: PatchBatch): tfjs.Tensor2D {
    const { tf, ops, layout: l } = this;
    const p = tf.split(theta, this.sizes).map((t, i) => tf.reshape(t, this.shapes[i]));
    const { n, cols, colsT } = batch;
    let first: tfjs.Tensor2D;
    if (colsT) {
      // The patches need no gradient; the filter's is colsT @ dy, with colsT already transposed in JS.
      const layer = tf.customGrad((...args) => {
        const w = args[0] as tfjs.Tensor2D;
        return { value: tf.matMul(cols, w), gradFunc: (dy: tfjs.Tensor2D) => tf.matMul(colsT, dy) };
      }) as (w: tfjs.Tensor2D) => tfjs.Tensor2D;
      first = layer(p[0] as tfjs.Tensor2D);
    } else {
      first = tf.matMul(cols, p[0] as tfjs.Tensor2D);
    }
    let h: tfjs.Tensor4D = ops.poolRelu(tf.reshape(first, [n, l.height, l.width, l.filters[0]]));
    h = tf.add(ops.conv3x3(h, p[1] as tfjs.Tensor4D), p[2]);
    h = hasSecondPool(l) ? ops.poolRelu(h) : tf.relu(h);
    const flat: tfjs.Tensor2D = tf.reshape(h, [n, flatFeatures(l)]);
    return tf.add(ops.matMul(flat, p[3] as tfjs.Tensor2D), p[4]);
  }

  /** Cuts the first layer's patches for `order[start..end)` of `data` into tensors owned by the current scope. */
  patches(data: Float32Array, order: ArrayLike<number>, start: number, end: number, withTranspose: boolean): PatchBatch {
    const { tf, layout: l } = this;
    const n = end - start;
    const rows = n * l.height * l.width;
    const k = 9 * l.channels + 1;
    if (this.cols.length < rows * k) this.cols = new Float32Array(rows * k);
    if (withTranspose && this.colsT.length < rows * k) this.colsT = new Float32Array(rows * k);
    const colsT = withTranspose ? this.colsT.subarray(0, rows * k) : undefined;
    im2col(data, l, order, start, end, this.cols, colsT);
    // tensor2d copies into the backend, so the scratch buffers are free again for the next batch.
    return {
      n,
      cols: tf.tensor2d(this.cols.subarray(0, rows * k), [rows, k]),
      colsT: colsT ? tf.tensor2d(colsT, [k, rows]) : undefined,
    };
  }

  /** Class probabilities for `count` inputs in `data` ([count, h, w, c]), row-major [count, classes]. */
  probabilities(data: Float32Array, count: number): Float32Array {
    const { tf } = this;
    const out = new Float32Array(count * this.layout.classes);
    const order = Uint32Array.from({ length: count }, (_, i) => i);
    for (let start = 0; start < count; start += EVAL_BATCH_SIZE) {
      const end = Math.min(start + EVAL_BATCH_SIZE, count);
      const probs = tf.tidy(() => tf.softmax(this.logits(this.theta, this.patches(data, order, start, end, false))));
      // Read outside tidy: tidy walks whatever it returns, element by element for a typed array.
      try {
        out.set(probs.dataSync() as Float32Array, start * this.layout.classes);
      } finally {
        probs.dispose();
      }
    }
    return out;
  }

  /** A copy of the parameters. */
  getParams(): Float32Array {
    return Float32Array.from(this.theta.dataSync() as Float32Array);
  }

  setParams(values: Float32Array): void {
    const { tf } = this;
    if (values.length !== this.theta.size) throw new RangeError(`cnn parameters have ${values.length} values, expected ${this.theta.size}`);
    tf.tidy(() => this.theta.assign(tf.tensor1d(values, 'float32')));
  }

  dispose(): void {
    this.theta.dispose();
  }
}
