/**
 * Training state of the vision network: Adam moments for the flat parameter vector, the step, and running
 * loss/correct sums. Our own Adam rather than tf.train.adam because that one restores its β-power
 * accumulators with pow() instead of the repeated products it trained with, which breaks bit-exact resume;
 * here the bias correction is one float64 number per step, from the step count (as in the nlu head).
 *
 * Every tensor has an owner: the variables belong to this object until dispose(); each batch runs in one
 * tidy(); loss and correct counts accumulate in variables and are read back once per epoch.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { adamStepSize, type AdamSettings } from './sparse-embedding.js';
import { EVAL_BATCH_SIZE, type VisionCnn } from './vision-cnn.js';

/** Running sums over the examples seen since the last reset. */
export interface CnnTotals {
  lossSum: number;
  correct: number;
}

/** One training batch: examples `order[start..end)` of `data` ([count, h, w, c]) with class ids `labels` (all known). */
export interface TrainStep {
  data: Float32Array;
  labels: Int32Array;
  order: ArrayLike<number>;
  start: number;
  end: number;
  /** ε: targets are (1 − ε)·one-hot + ε/classes. */
  labelSmoothing: number;
}

export class CnnOptimizer {
  private readonly m: tfjs.Variable;
  private readonly v: tfjs.Variable;
  private readonly lossSum: tfjs.Variable;
  private readonly correct: tfjs.Variable;
  private labels = new Int32Array(0);

  constructor(private readonly cnn: VisionCnn) {
    const { tf } = cnn;
    const size = cnn.theta.size;
    // Made in tidy(): a variable copies its initial tensor, which would otherwise outlive dispose().
    this.m = tf.tidy(() => tf.variable(tf.zeros([size], 'float32'), false));
    this.v = tf.tidy(() => tf.variable(tf.zeros([size], 'float32'), false));
    this.lossSum = tf.tidy(() => tf.variable(tf.scalar(0), false));
    this.correct = tf.tidy(() => tf.variable(tf.scalar(0), false));
  }

  private batchLabels(labels: Int32Array, order: ArrayLike<number>, start: number, end: number): Int32Array {
    if (this.labels.length < end - start) this.labels = new Int32Array(end - start);
    for (let b = start; b < end; b++) this.labels[b - start] = labels[order[b]];
    return this.labels.subarray(0, end - start);
  }

  /** Adds a batch's summed loss and correct count to the running sums (inside the caller's tidy). */
  private accumulate(logits: tfjs.Tensor2D, perExample: tfjs.Tensor1D, y: tfjs.Tensor1D): void {
    const { tf } = this.cnn;
    this.lossSum.assign(tf.add(this.lossSum, tf.sum(perExample)));
    this.correct.assign(tf.add(this.correct, tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'))));
  }

  /** One Adam step `t` (1-based) on the mean cross-entropy of one batch against its smoothed targets. */
  trainStep(step: TrainStep, adam: AdamSettings, t: number): void {
    const { cnn } = this;
    const { tf } = cnn;
    const { data, labels, order, start, end, labelSmoothing } = step;
    const classes = cnn.layout.classes;
    tf.tidy(() => {
      const batch = cnn.patches(data, order, start, end, true);
      const y = tf.tensor1d(this.batchLabels(labels, order, start, end), 'int32');
      const oneHot = tf.oneHot(y, classes);
      const target = (labelSmoothing > 0 ? tf.add(tf.mul(oneHot, 1 - labelSmoothing), labelSmoothing / classes) : oneHot) as tfjs.Tensor2D;
      let kept: tfjs.Tensor[] = [];
      const f = (...inputs: tfjs.Tensor[]): tfjs.Scalar => {
        const logits = cnn.logits(inputs[0], batch);
        const perExample = cnn.ops.softmaxCrossEntropy(logits, target);
        // The gradient scope frees its intermediates; keep what the running sums need past it.
        kept = [tf.keep(logits), tf.keep(perExample)];
        return tf.mean(perExample);
      };
      try {
        const { grads } = tf.valueAndGrads(f)([cnn.theta]);
        this.accumulate(kept[0] as tfjs.Tensor2D, kept[1] as tfjs.Tensor1D, y);
        const g = grads[0];
        const m = tf.add(tf.mul(this.m, adam.beta1), tf.mul(g, 1 - adam.beta1));
        const v = tf.add(tf.mul(this.v, adam.beta2), tf.mul(tf.square(g), 1 - adam.beta2));
        this.m.assign(m);
        this.v.assign(v);
        const step = adamStepSize(adam, t);
        cnn.theta.assign(tf.sub(cnn.theta, tf.div(tf.mul(m, step), tf.add(tf.sqrt(v), adam.epsilon))));
      } finally {
        for (const k of kept) k.dispose();
      }
    });
  }

  /** Accumulates loss and correct count of `count` examples without training; label -1 counts wrong and adds no loss. */
  evaluate(data: Float32Array, labels: Int32Array, count: number): void {
    const { cnn } = this;
    const { tf } = cnn;
    const order = Uint32Array.from({ length: count }, (_, i) => i);
    for (let start = 0; start < count; start += EVAL_BATCH_SIZE) {
      const end = Math.min(start + EVAL_BATCH_SIZE, count);
      tf.tidy(() => {
        const y = tf.tensor1d(labels.subarray(start, end), 'int32');
        const logits = cnn.logits(cnn.theta, cnn.patches(data, order, start, end, false));
        this.accumulate(logits, cnn.ops.softmaxCrossEntropy(logits, tf.oneHot(y, cnn.layout.classes) as tfjs.Tensor2D), y);
      });
    }
  }

  /** Reads the running sums (one read-back) and resets them. */
  takeTotals(): CnnTotals {
    const { tf } = this.cnn;
    const both = tf.tidy(() => tf.stack([this.lossSum, this.correct]));
    let values: Float32Array;
    try {
      values = both.dataSync() as Float32Array;
    } finally {
      both.dispose();
    }
    tf.tidy(() => {
      this.lossSum.assign(tf.scalar(0));
      this.correct.assign(tf.scalar(0));
    });
    return { lossSum: values[0], correct: values[1] };
  }

  /** Copies of Adam's first and second moments. */
  getMoments(): { m: Float32Array; v: Float32Array } {
    return { m: Float32Array.from(this.m.dataSync() as Float32Array), v: Float32Array.from(this.v.dataSync() as Float32Array) };
  }

  setMoments(m: Float32Array, v: Float32Array): void {
    const { tf } = this.cnn;
    if (m.length !== this.m.size || v.length !== this.v.size) throw new RangeError(`adam moments have ${m.length}/${v.length} values, expected ${this.m.size}`);
    tf.tidy(() => {
      this.m.assign(tf.tensor1d(m, 'float32'));
      this.v.assign(tf.tensor1d(v, 'float32'));
    });
  }

  dispose(): void {
    for (const t of [this.m, this.v, this.lossSum, this.correct]) t.dispose();
  }
}
