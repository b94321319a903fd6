/**
 * The dense part of the nlu model in TF.js: pooled vector → (ReLU hidden layers) → logits, softmax
 * cross-entropy, and Adam on TF.js variables. Our own Adam rather than tf.train.adam because the latter
 * restores its β-power accumulators with pow() instead of the repeated products it trained with, which
 * breaks bit-exact resume; here the bias correction is one float64 number per step, from the step count.
 *
 * Every tensor has an owner: the variables belong to this object until dispose(); each batch runs in
 * tidy(). Loss and correct counts accumulate in variables and are read once per epoch.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';
import type { Tf } from '../tf.js';
import { adamStepSize, type AdamSettings } from './sparse-embedding.js';

/** Running sums over the examples seen since the last reset. */
export interface HeadTotals {
  lossSum: number;
  correct: number;
}

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

export class DenseHead {
  private readonly params: tfjs.Variable[];
  private readonly m: tfjs.Variable[];
  private readonly v: tfjs.Variable[];
  private readonly lossSum: tfjs.Variable;
  private readonly correct: tfjs.Variable;
  private readonly numClasses: number;

  constructor(
    private readonly tf: Tf,
    readonly sizes: readonly number[],
    initial: readonly Float32Array[],
  ) {
    const shapes = headShapes(sizes);
    this.numClasses = sizes[sizes.length - 1];
    // trainable=false: nothing may reach these through TF.js's own optimizers; we update them by hand.
    // Built in tidy: a variable shares its initial tensor's data, and that tensor itself must not outlive it.
    const make = (t: () => tfjs.Tensor) => tf.tidy(() => tf.variable(t(), false));
    this.params = shapes.map((s, i) => make(() => tf.tensor(initial[i], s, 'float32')));
    this.m = shapes.map((s) => make(() => tf.zeros(s, 'float32')));
    this.v = shapes.map((s) => make(() => tf.zeros(s, 'float32')));
    this.lossSum = make(() => tf.scalar(0));
    this.correct = make(() => tf.scalar(0));
  }

  private logits(x: tfjs.Tensor, params: readonly tfjs.Tensor[]): tfjs.Tensor2D {
    const tf = this.tf;
    let h = x as tfjs.Tensor2D;
    for (let l = 0; l < params.length; l += 2) {
      h = tf.add(tf.matMul(h, params[l] as tfjs.Tensor2D), params[l + 1]);
      if (l + 2 < params.length) h = tf.relu(h);
    }
    return h;
  }

  /** Adds this batch's summed loss (over examples with a known label, i.e. label ≥ 0) and correct count. */
  private accumulate(logits: tfjs.Tensor2D, labels: tfjs.Tensor1D, perExample: tfjs.Tensor1D): void {
    const tf = this.tf;
    this.lossSum.assign(tf.add(this.lossSum, tf.sum(perExample)));
    this.correct.assign(tf.add(this.correct, tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'))));
  }

  private perExampleLoss(logits: tfjs.Tensor2D, labels: tfjs.Tensor1D): tfjs.Tensor1D {
    const tf = this.tf;
    // oneHot(-1) is all zeros, so an unknown label adds no loss (it still counts as wrong).
    const target = tf.oneHot(labels, this.numClasses);
    return tf.losses.softmaxCrossEntropy(target, logits, undefined, 0, tf.Reduction.NONE) as tfjs.Tensor1D;
  }

  /**
   * One training step on `n` pooled examples (`x`, [n, dim]) with labels: mean cross-entropy, gradients
   * for the head and for `x`, Adam step `t`. Returns dLoss/dx for the sparse table.
   */
  trainStep(x: Float32Array, n: number, labels: Int32Array, adam: AdamSettings, t: number): Float32Array {
    const tf = this.tf;
    const dim = this.sizes[0];
    return tf.tidy(() => {
      const xt = tf.tensor2d(x.subarray(0, n * dim), [n, dim]);
      const yt = tf.tensor1d(labels.subarray(0, n), 'int32');
      let kept: tfjs.Tensor[] = [];
      const f = (...inputs: tfjs.Tensor[]): tfjs.Scalar => {
        const logits = this.logits(inputs[0], inputs.slice(1));
        const perExample = this.perExampleLoss(logits, yt);
        // The gradient scope frees its intermediates; keep what the accumulators need past it.
        kept = [tf.keep(logits), tf.keep(perExample)];
        return tf.mean(perExample);
      };
      try {
        const { grads } = tf.valueAndGrads(f)([xt, ...this.params]);
        this.accumulate(kept[0] as tfjs.Tensor2D, yt, kept[1] as tfjs.Tensor1D);
        const step = adamStepSize(adam, t);
        for (let i = 0; i < this.params.length; i++) {
          const g = grads[i + 1];
          const m = tf.add(tf.mul(this.m[i], adam.beta1), tf.mul(g, 1 - adam.beta1));
          const v = tf.add(tf.mul(this.v[i], adam.beta2), tf.mul(tf.square(g), 1 - adam.beta2));
          this.m[i].assign(m);
          this.v[i].assign(v);
          this.params[i].assign(tf.sub(this.params[i], tf.div(tf.mul(m, step), tf.add(tf.sqrt(v), adam.epsilon))));
        }
        return grads[0].dataSync() as Float32Array;
      } finally {
        for (const k of kept) k.dispose();
      }
    });
  }

  /** Accumulates loss and correct count of `n` examples without training (validation). */
  evaluate(x: Float32Array, n: number, labels: Int32Array): void {
    const tf = this.tf;
    const dim = this.sizes[0];
    tf.tidy(() => {
      const yt = tf.tensor1d(labels.subarray(0, n), 'int32');
      const logits = this.logits(tf.tensor2d(x.subarray(0, n * dim), [n, dim]), this.params);
      this.accumulate(logits, yt, this.perExampleLoss(logits, yt));
    });
  }

  /** Reads the running sums (one read-back) and resets them. */
  takeTotals(): HeadTotals {
    const tf = this.tf;
    const values = tf.tidy(() => tf.stack([this.lossSum, this.correct]).dataSync());
    tf.tidy(() => {
      this.lossSum.assign(tf.scalar(0));
      this.correct.assign(tf.scalar(0));
    });
    return { lossSum: values[0], correct: values[1] };
  }

  /** Parameters, then first moments, then second moments, each as a copy. */
  getState(): Float32Array[] {
    return [...this.params, ...this.m, ...this.v].map((t) => t.dataSync() as Float32Array);
  }

  getWeights(): Float32Array[] {
    return this.params.map((t) => t.dataSync() as Float32Array);
  }

  /** Restores what getState returned, bit for bit. */
  setState(arrays: readonly Float32Array[]): void {
    const tf = this.tf;
    const all = [...this.params, ...this.m, ...this.v];
    if (arrays.length !== all.length) throw new RangeError(`head state has ${arrays.length} arrays, expected ${all.length}`);
    tf.tidy(() => all.forEach((variable, i) => variable.assign(tf.tensor(arrays[i], variable.shape, 'float32'))));
  }

  dispose(): void {
    for (const t of [...this.params, ...this.m, ...this.v, this.lossSum, this.correct]) t.dispose();
  }
}
