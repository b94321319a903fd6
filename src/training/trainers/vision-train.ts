/**
 * Training state of the vision network: Adam over the flat parameter vector, the step, and running
 * loss/correct sums. The loss (softmax cross-entropy against label-smoothed targets, with its gradient) and
 * Adam are plain JS (dense-step.ts): TF.js spent ~12 element-wise kernels over all 29k parameters on Adam,
 * and argMax/Equal/Cast/Sum/assign on the running sums, every step. Here they cost one read-back of the
 * logits and one JS loop over the parameters, and the sums stay JS numbers.
 *
 * Our own Adam rather than tf.train.adam, because that one restores its β-power accumulators with pow()
 * instead of the repeated products it trained with, which breaks bit-exact resume: the bias correction is
 * one float64 number per step, from the step count, and the checkpoint holds the float32 parameters and
 * moments exactly as the next step reads them.
 */
import { FlatAdam, softmaxCrossEntropy } from './dense-step.js';
import type { AdamSettings } from './sparse-embedding.js';
import { EVAL_BATCH_SIZE, type VisionCnn } from './vision-cnn.js';
import type { ShardedGradient } from './vision-shards.js';

/** Running sums over the examples seen since the last reset. */
export interface CnnTotals {
  lossSum: number;
  correct: number;
}

/** One training batch: examples `order[start..end)` of the training images, whose class ids are `labels` (all known). */
export interface TrainStep {
  labels: Int32Array;
  order: ArrayLike<number>;
  start: number;
  end: number;
  /** ε: targets are (1 − ε)·one-hot + ε/classes. */
  labelSmoothing: number;
}

export class CnnOptimizer {
  private readonly adam: FlatAdam;
  private readonly grad: Float32Array;
  private totals: CnnTotals = { lossSum: 0, correct: 0 };

  /** `gradient` computes the batches' gradients for `cnn` (on one or two threads). */
  constructor(
    private readonly cnn: VisionCnn,
    private readonly gradient: ShardedGradient,
  ) {
    this.adam = new FlatAdam(cnn.params.length);
    this.grad = new Float32Array(cnn.params.length);
  }

  private add(t: CnnTotals): void {
    this.totals.lossSum += t.lossSum;
    this.totals.correct += t.correct;
  }

  /**
   * One Adam step `t` (1-based) on the mean cross-entropy of one batch against its smoothed targets. The
   * loss added to the running sums is against the plain labels, as validation's is.
   */
  trainStep(step: TrainStep, adam: AdamSettings, t: number): void {
    const { labels, order, start, end, labelSmoothing } = step;
    this.add(this.gradient.gradient(order, labels, start, end, labelSmoothing, this.grad));
    this.adam.step(this.cnn.params, this.grad, adam, t);
  }

  /** Accumulates loss and correct count of `count` examples without training; label -1 counts wrong and adds no loss. */
  evaluate(data: Float32Array, labels: Int32Array, count: number): void {
    const { cnn } = this;
    const order = Uint32Array.from({ length: count }, (_, i) => i);
    for (let start = 0; start < count; start += EVAL_BATCH_SIZE) {
      const end = Math.min(start + EVAL_BATCH_SIZE, count);
      this.add(softmaxCrossEntropy(cnn.logits(data, order, start, end), labels.subarray(start, end), end - start, cnn.layout.classes));
    }
  }

  /** Stops the gradient's worker thread; safe to call twice. */
  close(): void {
    this.gradient.close();
  }

  /** The running sums, which start again from zero. */
  takeTotals(): CnnTotals {
    const t = this.totals;
    this.totals = { lossSum: 0, correct: 0 };
    return t;
  }

  /** Copies of Adam's first and second moments. */
  getMoments(): { m: Float32Array; v: Float32Array } {
    return { m: Float32Array.from(this.adam.m), v: Float32Array.from(this.adam.v) };
  }

  setMoments(m: Float32Array, v: Float32Array): void {
    this.adam.setMoments(m, v);
  }
}
