/**
 * The vision network: conv3×3(c1) → ReLU → maxpool 2×2 → conv3×3(c2) → ReLU (→ maxpool 2×2 when the map
 * is still ≥ 8×8) → dense softmax. Its parameter layout and initialisation are shared by training (which
 * runs on onnxruntime: vision-train.ts, src/models/graph/cnn-graphs.ts) and the TF.js forward pass here,
 * which serves exported models (vision-predictor.ts): the predictor's interface is synchronous, and
 * onnxruntime's runs are not.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Rng } from '../rng.js';
import type { Tf } from '../tf.js';
import { im2col } from './vision-ops.js';

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

function isWasmBackend(backend: unknown): backend is BackendWasm {
  return typeof (backend as Partial<BackendWasm>).typedArrayFromHeap === 'function';
}

export class VisionCnn {
  /** The flat parameters in `cnnParamShapes` order; W1 and b1 together are one [9c + 1, c1] matrix, W2 and b2 one [9·c1 + 1, c2]. */
  readonly params: Float32Array;
  private readonly k1: number;
  private readonly flat: number;
  /** Offsets in `params` of W1 (with b1), W2, b2, W3 and b3. */
  private readonly at: { w1: number; w2: number; b2: number; w3: number; b3: number };
  /** Scratch arrays by name, grown to the largest batch seen: a step allocates nothing big. */
  private readonly scratch = new Map<string, Float32Array>();

  /** A network with a copy of `initial` as its parameters. */
  constructor(
    readonly tf: Tf,
    readonly layout: CnnLayout,
    initial: Float32Array,
  ) {
    const [c1, c2] = layout.filters;
    this.k1 = 9 * layout.channels + 1;
    this.flat = flatFeatures(layout);
    const w2 = this.k1 * c1;
    const b2 = w2 + 9 * c1 * c2;
    const w3 = b2 + c2;
    const b3 = w3 + this.flat * layout.classes;
    this.at = { w1: 0, w2, b2, w3, b3 };
    if (initial.length !== b3 + layout.classes) throw new RangeError(`cnn parameters have ${initial.length} values, the layout needs ${b3 + layout.classes}`);
    this.params = Float32Array.from(initial);
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

  /** Logits [n, classes] of examples `order[start..end)` of `data` ([count, h, w, c]), in a scratch array. */
  logits(data: Float32Array, order: ArrayLike<number>, start: number, end: number): Float32Array {
    let logits: Float32Array = new Float32Array(0);
    // Handed out of tidy() through a variable: tidy walks a returned typed array element by element.
    this.tf.tidy(() => {
      logits = this.forward(data, order, start, end).logits;
    });
    return logits;
  }

  private forward(data: Float32Array, order: ArrayLike<number>, start: number, end: number): { logits: Float32Array } {
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
    return { logits: this.read(logits, 'logits') };
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
