/**
 * The cheap ends of a training step, in plain JS: the softmax cross-entropy's loss and correct count, which
 * the trainers sum from each onnxruntime step's logits, and Adam on a flat parameter vector (FlatAdam), the
 * reference the ONNX step graphs' Adam is tested against (test/models/graph). Both were the JS half of the
 * TF.js steps before onnxruntime.
 *
 * All arithmetic is float64, rounded to float32 on store, in a fixed order, so runs repeat bit for bit and
 * a resumed run continues from exactly the float32 moments it saved.
 */
import { adamStepSize, type AdamSettings } from './sparse-embedding.js';
import type { EpochMetrics } from '../types.js';

/** Loss summed over the batch (labels ≥ 0 only) and how many argmax predictions matched the label. */
export interface BatchTotals {
  lossSum: number;
  correct: number;
}

/** A classifier epoch's metrics: the training sums over `samples`, and validation's loss and accuracy (NaN when skipped). */
export function classifierEpochMetrics(trained: BatchTotals, samples: number, val: { loss: number; accuracy: number }): EpochMetrics {
  const n = Math.max(samples, 1);
  return { loss: trained.lossSum / n, accuracy: trained.correct / n, val_loss: val.loss, val_accuracy: val.accuracy, samples };
}

/**
 * Softmax cross-entropy of `logits` ([n, classes], row-major) against the one-hot `labels`, summed, and the
 * count of rows whose argmax is the label. A label of -1 (unknown to the model) adds no loss and counts as
 * wrong.
 */
export function softmaxCrossEntropy(logits: Float32Array, labels: ArrayLike<number>, n: number, classes: number): BatchTotals {
  let lossSum = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const o = i * classes;
    const label = labels[i];
    let max = logits[o];
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (logits[o + c] > max) {
        max = logits[o + c];
        best = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[o + c] - max);
    const logSum = Math.log(sum);
    if (label >= 0) {
      lossSum += logSum - (logits[o + label] - max);
      if (best === label) correct++;
    }
  }
  return { lossSum, correct };
}

/** Adam's moments for a flat parameter vector, updated in place by one JS loop. */
export class FlatAdam {
  readonly m: Float32Array;
  readonly v: Float32Array;

  constructor(readonly size: number) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** One Adam step `t` (1-based) of `params` along `grad` (both `size` long). */
  step(params: Float32Array, grad: Float32Array, adam: AdamSettings, t: number): void {
    const { m, v, size } = this;
    const { beta1, beta2, epsilon } = adam;
    const c1 = 1 - beta1;
    const c2 = 1 - beta2;
    const step = adamStepSize(adam, t);
    const fround = Math.fround;
    for (let i = 0; i < size; i++) {
      const g = grad[i];
      const mi = (m[i] = fround(beta1 * m[i] + c1 * g));
      const vi = (v[i] = fround(beta2 * v[i] + c2 * g * g));
      params[i] -= (step * mi) / (Math.sqrt(vi) + epsilon);
    }
  }

  /** Restores moments saved from `m` and `v`, checking their sizes. */
  setMoments(m: Float32Array, v: Float32Array): void {
    if (m.length !== this.size || v.length !== this.size) throw new RangeError(`adam moments have ${m.length}/${v.length} values, expected ${this.size}`);
    this.m.set(m);
    this.v.set(v);
  }
}
