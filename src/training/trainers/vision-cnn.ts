/**
 * The vision network: conv3×3(c1) → ReLU → maxpool 2×2 → conv3×3(c2) → ReLU (→ maxpool 2×2 when the map
 * is still ≥ 8×8) → dense softmax, with a hand-written backward pass.
 *
 * The parameters live in one JS Float32Array, `params` (Adam updates them in JS, see vision-train.ts); each
 * pass uploads the layers it needs as tensors (a copy into the wasm heap, microseconds). The matmuls,
 * convolutions and pools run on TF.js (XNNPACK), the rest in JS (vision-ops.ts), and the backward pass is
 * written out instead of taken from tf.grad: tf.grad over customGrad ops cost ~25 kernels more per step
 * (Split/Concat of a flat variable, Equal/Resize pool masks, Transposes, a Gather, the loss), computed the
 * patches' gradient nobody needs and kept every intermediate alive. Measured per optdigits step (batch 64,
 * 2-core machine, loaded): 11.0–11.7 ms of CPU before, 7.7–8.6 after, of which ~5.5 ms are the second
 * convolution's forward, input gradient and filter gradient, each at XNNPACK's matmul speed.
 * The same forward serves training, validation and the predictor, so a served model computes exactly what
 * was trained.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Rng } from '../rng.js';
import type { Tf } from '../tf.js';
import { flipFilter, im2col, patchesT, routeToWinners, transpose, type MapShape } from './vision-ops.js';

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

/** The loss's part of a step: reads the logits [n, classes] and writes d(loss)/d(logits) into `dLogits`. */
export type LossGradient = (logits: Float32Array, dLogits: Float32Array) => void;

/** What the backward pass needs from the forward one; its tensors belong to the caller's tidy(). */
interface Forward {
  n: number;
  logits: Float32Array;
  /** The first layer's patches [rows, 9c + 1], its ReLU output [n, h, w, c1] and that pooled. */
  cols: tfjs.Tensor2D;
  first: tfjs.Tensor4D;
  pooled1: tfjs.Tensor4D;
  /** The second convolution's ReLU output [n, h/2, w/2, c2] and the dense layer's input [n, flat]. */
  relu2: tfjs.Tensor4D;
  flat: tfjs.Tensor2D;
}

function isWasmBackend(backend: unknown): backend is BackendWasm {
  return typeof (backend as Partial<BackendWasm>).typedArrayFromHeap === 'function';
}

export class VisionCnn {
  /** The flat parameters in `cnnParamShapes` order; W1 and b1 together are one [9c + 1, c1] matrix, W2 and b2 one [9·c1 + 1, c2]. */
  readonly params: Float32Array;
  private readonly k1: number;
  private readonly k2: number;
  private readonly flat: number;
  /** Offsets in `params` of W1 (with b1), W2, b2, W3 and b3. */
  private readonly at: { w1: number; w2: number; b2: number; w3: number; b3: number };
  /** Scratch arrays by name, grown to the largest batch seen: a step allocates nothing big. */
  private readonly scratch = new Map<string, Float32Array>();

  /** A network with a copy of `initial` as its parameters, in shared memory so a worker thread can read them. */
  constructor(
    readonly tf: Tf,
    readonly layout: CnnLayout,
    initial: Float32Array,
    copy = true,
  ) {
    const [c1, c2] = layout.filters;
    this.k1 = 9 * layout.channels + 1;
    this.k2 = 9 * c1 + 1;
    this.flat = flatFeatures(layout);
    const w2 = this.k1 * c1;
    const b2 = w2 + 9 * c1 * c2;
    const w3 = b2 + c2;
    const b3 = w3 + this.flat * layout.classes;
    this.at = { w1: 0, w2, b2, w3, b3 };
    if (initial.length !== b3 + layout.classes) throw new RangeError(`cnn parameters have ${initial.length} values, the layout needs ${b3 + layout.classes}`);
    this.params = copy ? new Float32Array(new SharedArrayBuffer(initial.byteLength)) : initial;
    if (copy) this.params.set(initial);
  }

  /** A network whose parameters are `params` itself, not a copy: a worker's view of the trainer's. */
  static sharing(tf: Tf, layout: CnnLayout, params: Float32Array): VisionCnn {
    return new VisionCnn(tf, layout, params, false);
  }

  private buffer(name: string, size: number): Float32Array {
    let a = this.scratch.get(name);
    if (!a || a.length < size) {
      a = new Float32Array(size);
      this.scratch.set(name, a);
    }
    return a.subarray(0, size);
  }

  /**
   * A copy of `t`'s values in the scratch array `name`. On the wasm backend it copies straight out of the
   * heap: dataSync() allocates a fresh buffer each time, 0.30 ms for the first layer's 131k floats against
   * 0.012 ms for this copy.
   */
  private read(t: tfjs.Tensor, name: string): Float32Array {
    const out = this.buffer(name, t.size);
    const backend = this.tf.backend();
    out.set(isWasmBackend(backend) ? (backend.typedArrayFromHeap(t) as Float32Array) : (t.dataSync() as Float32Array));
    return out;
  }

  private param(from: number, to: number): Float32Array {
    return this.params.subarray(from, to);
  }

  private shapes(n: number): { s1: MapShape; x2: MapShape; s2: MapShape } {
    const { height: h, width: w, filters } = this.layout;
    return {
      s1: { n, height: h, width: w, channels: filters[0] },
      x2: { n, height: h / 2, width: w / 2, channels: filters[0] },
      s2: { n, height: h / 2, width: w / 2, channels: filters[1] },
    };
  }

  /** Logits [n, classes] of examples `order[start..end)` of `data` ([count, h, w, c]), in a scratch array. */
  logits(data: Float32Array, order: ArrayLike<number>, start: number, end: number): Float32Array {
    let logits: Float32Array = new Float32Array(0);
    // Handed out of tidy() through a variable: tidy walks a returned typed array element by element.
    this.tf.tidy(() => {
      logits = this.forward(data, order, start, end).logits;
    });
    return logits;
  }

  /**
   * One forward and backward pass over examples `order[start..end)` of `data`: `loss` turns the logits into
   * their gradient, and the gradient of every parameter lands in `grad` (`params` order, overwritten).
   */
  gradient(data: Float32Array, order: ArrayLike<number>, start: number, end: number, loss: LossGradient, grad: Float32Array): void {
    const dLogits = this.buffer('dLogits', (end - start) * this.layout.classes);
    this.tf.tidy(() => {
      const fwd = this.forward(data, order, start, end);
      loss(fwd.logits, dLogits);
      this.backward(fwd, dLogits, grad);
    });
  }

  private forward(data: Float32Array, order: ArrayLike<number>, start: number, end: number): Forward {
    const { tf, layout: l, at, k1 } = this;
    const [c1, c2] = l.filters;
    const n = end - start;
    const rows = n * l.height * l.width;
    const colsData = this.buffer('cols', rows * k1);
    im2col(data, l, order, start, end, colsData);
    const cols = tf.tensor2d(colsData, [rows, k1]);
    // ReLU before the pool: the same as after it (max and ReLU commute), and free inside the matmul.
    const first = tf.reshape(tf.fused.matMul({ a: cols, b: tf.tensor2d(this.param(at.w1, at.w2), [k1, c1]), activation: 'relu' }), [n, l.height, l.width, c1]) as tfjs.Tensor4D;
    const pooled1 = tf.maxPool(first, 2, 2, 'valid');
    const filter = tf.tensor4d(this.param(at.w2, at.b2), [3, 3, c1, c2]);
    const relu2 = tf.fused.conv2d({ x: pooled1, filter, bias: tf.tensor1d(this.param(at.b2, at.w3)), strides: 1, pad: 'same', activation: 'relu' });
    const flat = tf.reshape(hasSecondPool(l) ? tf.maxPool(relu2, 2, 2, 'valid') : relu2, [n, this.flat]) as tfjs.Tensor2D;
    const w3 = tf.tensor2d(this.param(at.w3, at.b3), [this.flat, l.classes]);
    const logits = tf.fused.matMul({ a: flat, b: w3, bias: tf.tensor1d(this.param(at.b3, at.b3 + l.classes)) });
    return { n, logits: this.read(logits, 'logits'), cols, first, pooled1, relu2, flat };
  }

  /**
   * Every parameter's gradient from `dLogits`, into `grad`. Each product takes the operand order that needs
   * no Transpose kernel (transposeA/transposeB would take the backend's slow matmul path): the transposed
   * copies (dLogitsᵀ, W3ᵀ, the patches, the flipped filter, the first layer's gradient) are made in JS.
   */
  private backward(fwd: Forward, dLogits: Float32Array, grad: Float32Array): void {
    const { tf, layout: l, at, k1, k2, flat } = this;
    const [c1, c2] = l.filters;
    const classes = l.classes;
    const { n } = fwd;
    const { s1, x2, s2 } = this.shapes(n);

    // Dense layer: dW3ᵀ = dLogitsᵀ @ flat ([classes, flat]), db3 = column sums, dFlat = dLogits @ W3ᵀ.
    const dLogitsT = this.buffer('dLogitsT', n * classes);
    transpose(dLogits, n, classes, dLogitsT);
    transpose(this.read(tf.matMul(tf.tensor2d(dLogitsT, [classes, n]), fwd.flat), 'dW3T'), classes, flat, grad.subarray(at.w3, at.b3));
    for (let j = 0; j < classes; j++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += dLogits[i * classes + j];
      grad[at.b3 + j] = sum;
    }
    const w3T = this.buffer('w3T', flat * classes);
    transpose(this.param(at.w3, at.b3), flat, classes, w3T);
    const dFlat = tf.matMul(tf.tensor2d(dLogits, [n, classes]), tf.tensor2d(w3T, [classes, flat]));

    // Second convolution: back through its ReLU (and pool), then its filter and bias gradients in one matmul.
    const positions = n * s2.height * s2.width;
    let dz: tfjs.Tensor2D;
    if (hasSecondPool(l)) {
      const dzData = this.buffer('dz', positions * c2);
      routeToWinners(this.read(fwd.relu2, 'relu2'), this.read(fwd.flat, 'pooled2'), this.read(dFlat, 'dFlat'), s2, dzData, c2, 1);
      dz = tf.tensor2d(dzData, [positions, c2]);
    } else {
      dz = tf.mul(tf.reshape(dFlat, [positions, c2]), tf.reshape(tf.step(fwd.relu2), [positions, c2]));
    }
    const pooled1 = this.read(fwd.pooled1, 'pooled1');
    const colsT2 = this.buffer('colsT2', k2 * positions);
    patchesT(pooled1, x2, this.buffer('pooled1T', pooled1.length), colsT2);
    const dW2 = this.read(tf.matMul(tf.tensor2d(colsT2, [k2, positions]), dz), 'dW2');
    grad.set(dW2, at.w2);

    // Back to the first layer's pooled output, through its pool and ReLU, then its filter and bias gradients.
    const flipped = this.buffer('flipped', 9 * c1 * c2);
    flipFilter(this.param(at.w2, at.b2), c1, c2, flipped);
    const dy = tf.reshape(dz, [n, s2.height, s2.width, c2]) as tfjs.Tensor4D;
    const dPooled1 = this.read(tf.conv2d(dy, tf.tensor4d(flipped, [3, 3, c2, c1]), 1, 'same'), 'dPooled1');
    const rows = n * l.height * l.width;
    const dFirstT = this.buffer('dFirstT', c1 * rows);
    routeToWinners(this.read(fwd.first, 'first'), pooled1, dPooled1, s1, dFirstT, 1, rows);
    transpose(this.read(tf.matMul(tf.tensor2d(dFirstT, [c1, rows]), fwd.cols), 'dW1T'), c1, k1, grad.subarray(at.w1, at.w2));
  }

  /** Class probabilities for `count` inputs in `data` ([count, h, w, c]), row-major [count, classes]. */
  probabilities(data: Float32Array, count: number): Float32Array {
    const classes = this.layout.classes;
    const out = new Float32Array(count * classes);
    const order = Uint32Array.from({ length: count }, (_, i) => i);
    for (let start = 0; start < count; start += EVAL_BATCH_SIZE) {
      const end = Math.min(start + EVAL_BATCH_SIZE, count);
      const logits = this.logits(data, order, start, end);
      this.tf.tidy(() => {
        out.set(this.tf.softmax(this.tf.tensor2d(logits, [end - start, classes])).dataSync() as Float32Array, start * classes);
      });
    }
    return out;
  }

  /** A copy of the parameters. */
  getParams(): Float32Array {
    return Float32Array.from(this.params);
  }

  setParams(values: Float32Array): void {
    if (values.length !== this.params.length) throw new RangeError(`cnn parameters have ${values.length} values, expected ${this.params.length}`);
    this.params.set(values);
  }

  /** Drops the scratch arrays; every tensor lives inside one call's tidy(). */
  dispose(): void {
    this.scratch.clear();
  }
}
