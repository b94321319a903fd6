/**
 * The dense classifier on TF.js that the nlu and voice trainers used before their step moved to
 * onnxruntime (dense-head-ort.ts); `npm run bench -- onnx-dense` keeps it as the engine to compare with, and
 * initHeadWeights/headShapes here are shared by both. Input vector → (ReLU hidden layers) → logits, softmax
 * cross-entropy, Adam. The matmuls run on TF.js; the parameters, Adam's moments, the loss and its gradient
 * w.r.t. the logits live in JS (dense-step.ts says why: on the wasm backend those are kernel dispatch, not
 * arithmetic). The backward pass is written out, not taped: the tape records and replays every op of the
 * forward pass, and TF.js's matMul gradient uses the transposed-operand path, ~10× a plain matmul here.
 *
 * One training step is: upload the batch and the parameters, one fused matmul (+ bias, + ReLU) per layer,
 * read the logits back, loss and dLogits in JS, one matmul per weight gradient and per propagated layer,
 * a read-back of each gradient (and of dLoss/dInput when the caller has a learnt input layer), Adam in JS.
 * Each step runs in one tidy(), so no tensor outlives it.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';
import { takeValues, type Tf } from '../tf.js';
import { FlatAdam, softmaxCrossEntropy, type BatchTotals } from './dense-step.js';
import type { AdamSettings } from './sparse-embedding.js';

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

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);


export class DenseHead {
  /** W0, b0, W1, b1, ... back to back; the arrays below are views into it. */
  private readonly flat: Float32Array;
  private readonly views: Float32Array[];
  /** The gradient of `flat`, same layout, and its per-tensor views. */
  private readonly grad: Float32Array;
  private readonly gradViews: Float32Array[];
  private readonly shapes: number[][];
  private readonly adam: FlatAdam;
  private readonly numClasses: number;
  private totals: BatchTotals = { lossSum: 0, correct: 0 };
  private dLogits = new Float32Array(0);

  constructor(
    private readonly tf: Tf,
    readonly sizes: readonly number[],
    initial: readonly Float32Array[],
  ) {
    this.shapes = headShapes(sizes);
    if (initial.length !== this.shapes.length) throw new RangeError(`head has ${initial.length} arrays, expected ${this.shapes.length}`);
    this.numClasses = sizes[sizes.length - 1];
    this.flat = new Float32Array(this.shapes.reduce((a, s) => a + sizeOf(s), 0));
    this.views = splitViews(this.flat, this.shapes);
    this.views.forEach((v, i) => v.set(initial[i]));
    this.grad = new Float32Array(this.flat.length);
    this.gradViews = splitViews(this.grad, this.shapes);
    this.adam = new FlatAdam(this.flat.length);
  }

  /** Uploads the parameters as tensors (inside the caller's tidy). */
  private paramTensors(): tfjs.Tensor[] {
    return this.views.map((v, i) => this.tf.tensor(v, this.shapes[i], 'float32'));
  }

  /** Post-activation outputs of every layer: [x, h1, ..., logits]. */
  private forward(x: tfjs.Tensor2D, params: readonly tfjs.Tensor[]): tfjs.Tensor2D[] {
    const out = [x];
    for (let l = 0; l < params.length; l += 2) {
      const hidden = l + 2 < params.length;
      out.push(this.tf.fused.matMul({ a: out[out.length - 1], b: params[l] as tfjs.Tensor2D, bias: params[l + 1], activation: hidden ? 'relu' : 'linear' }) as tfjs.Tensor2D);
    }
    return out;
  }

  private input(x: Float32Array, n: number): tfjs.Tensor2D {
    return this.tf.tensor2d(x.subarray(0, n * this.sizes[0]), [n, this.sizes[0]]);
  }

  private add(t: BatchTotals): void {
    this.totals.lossSum += t.lossSum;
    this.totals.correct += t.correct;
  }

  /**
   * One training step on `n` examples (`x`, [n, dim]) with labels (≥ 0): mean cross-entropy, Adam step
   * `t`. With `inputGradient`, returns dLoss/dx ([n, dim]) for a learnt input layer; otherwise undefined.
   */
  trainStep(x: Float32Array, n: number, labels: Int32Array, adam: AdamSettings, t: number, inputGradient: true): Float32Array;
  trainStep(x: Float32Array, n: number, labels: Int32Array, adam: AdamSettings, t: number, inputGradient: false): undefined;
  trainStep(x: Float32Array, n: number, labels: Int32Array, adam: AdamSettings, t: number, inputGradient: boolean): Float32Array | undefined {
    const tf = this.tf;
    const classes = this.numClasses;
    if (this.dLogits.length < n * classes) this.dLogits = new Float32Array(n * classes);
    let dx: Float32Array | undefined;
    tf.tidy(() => {
      const params = this.paramTensors();
      const acts = this.forward(this.input(x, n), params);
      this.add(softmaxCrossEntropy(acts[acts.length - 1].dataSync() as Float32Array, labels, n, classes, 0, this.dLogits));
      let dy: tfjs.Tensor2D = tf.tensor2d(this.dLogits.subarray(0, n * classes), [n, classes]);
      for (let l = params.length - 2; l >= 0; l -= 2) {
        const below = acts[l / 2];
        // Plain matmuls on explicit transposes: the transposed-operand matmul is the slow path here
        // (measured 450 µs against 45 µs for the first layer's weight gradient of the voice MLP).
        this.readInto(l, tf.matMul(tf.transpose(below), dy));
        this.readInto(l + 1, tf.sum(dy, 0));
        if (l === 0 && !inputGradient) break;
        const dBelow: tfjs.Tensor2D = tf.matMul(dy, tf.transpose(params[l] as tfjs.Tensor2D));
        if (l === 0) dx = dBelow.dataSync() as Float32Array;
        // ReLU's gradient: pass where the layer's output was positive (step(0) = 0, as relu' is taken at 0).
        else dy = tf.mul(dBelow, tf.step(below)) as tfjs.Tensor2D;
      }
    });
    this.adam.step(this.flat, this.grad, adam, t);
    return dx;
  }

  /**
   * Copies parameter i's gradient into its place in the flat gradient. Read inside tidy() and never
   * returned from it: tidy walks a returned typed array element by element (see takeValues).
   */
  private readInto(i: number, g: tfjs.Tensor): void {
    this.gradViews[i].set(g.dataSync() as Float32Array);
  }

  /** Accumulates loss and correct count of `n` examples without training (validation); label -1 counts wrong. */
  evaluate(x: Float32Array, n: number, labels: Int32Array): void {
    const logits = takeValues(this.tf.tidy(() => this.forward(this.input(x, n), this.paramTensors()).pop() as tfjs.Tensor2D));
    this.add(softmaxCrossEntropy(logits, labels, n, this.numClasses));
  }

  /** The running sums since the last call, then resets them. */
  takeTotals(): BatchTotals {
    const t = this.totals;
    this.totals = { lossSum: 0, correct: 0 };
    return t;
  }

  /** Parameters, then first moments, then second moments, each per tensor (W0, b0, ...) and as a copy. */
  getState(): Float32Array[] {
    return [this.flat, this.adam.m, this.adam.v].flatMap((a) => splitViews(a, this.shapes).map((v) => v.slice()));
  }

  getWeights(): Float32Array[] {
    return this.views.map((v) => v.slice());
  }

  /** Restores what getState returned, bit for bit. */
  setState(arrays: readonly Float32Array[]): void {
    const k = this.shapes.length;
    if (arrays.length !== 3 * k) throw new RangeError(`head state has ${arrays.length} arrays, expected ${3 * k}`);
    const targets = [this.flat, this.adam.m, this.adam.v].flatMap((a) => splitViews(a, this.shapes));
    targets.forEach((target, i) => {
      if (arrays[i].length !== target.length) throw new RangeError(`head state array ${i} has ${arrays[i].length} values, expected ${target.length}`);
      target.set(arrays[i]);
    });
  }

  /** Nothing to free: the head holds no tensors between steps. Kept so owners need not know. */
  dispose(): void {}
}

/** Views of `flat` cut into consecutive pieces of the given shapes. */
function splitViews(flat: Float32Array, shapes: readonly number[][]): Float32Array[] {
  let offset = 0;
  return shapes.map((s) => {
    const view = flat.subarray(offset, offset + sizeOf(s));
    offset += view.length;
    return view;
  });
}
