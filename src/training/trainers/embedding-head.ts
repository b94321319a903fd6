/**
 * The dense part of the embedding encoder in TF.js: pooled bag → optional linear map (identity at start,
 * so the untrained encoder is the TF-IDF-like bag) → L2 normalisation, and the training loss:
 *
 * - in-batch negatives (InfoNCE / MultipleNegativesRanking, symmetric): each positive pair's texts must be
 *   each other's nearest among the batch's other texts;
 * - a ranking loss on scored pairs: every pair with a higher score should get a higher cosine than every
 *   lower-scored pair in the batch. It uses the whole 0–5 scale, which InfoNCE cannot, and being about
 *   order it optimises what Spearman measures without forcing cosines onto the score scale. `pairwise`
 *   (RankNet, weighted by the score gap) is the default; `cosent` (Su 2022) is the log-sum-exp form.
 *
 * Adam by hand on TF.js variables, as DenseHead does, for bit-exact resume. Every batch runs in tidy();
 * running sums live in variables and are read back once per epoch.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { takeValues, type Tf } from '../tf.js';
import { adamStepSize, type AdamSettings } from './sparse-embedding.js';

/** Added to masked logits: exp of it is 0 in float32, yet it stays finite so gradients never see NaN. */
export const MASKED = -1e4;

/** One batch of `n` pairs, pooled; masks are [n, n] row-major, 0 where allowed and MASKED elsewhere. */
export interface PairBatch {
  /** [2n, dim]: the n first texts, then the n second texts. */
  x: Float32Array;
  n: number;
  /** [n]: 1 where pair i is a positive (an anchor for InfoNCE), else 0. */
  positive: Float32Array;
  /** In-batch negatives allowed: masks j ≠ i whose text repeats one of pair i's (not a true negative). */
  negativeMask: Float32Array;
  /** Ranking: s_i − s_j where pair i has a higher score than pair j (both scored), else 0. */
  rankWeight: Float32Array;
}

export interface LossWeights {
  rankLoss: 'cosent' | 'pairwise';
  contrastiveScale: number;
  rankScale: number;
  contrastiveWeight: number;
  rankWeight: number;
}

/** Running sums since the last reset: summed batch loss × pairs, correct retrievals, anchors retrieved. */
export interface HeadTotals {
  lossSum: number;
  correct: number;
  anchors: number;
}

export class EmbeddingHead {
  /** W [dim, dim] and b [dim] when projecting; empty for a bare bag. */
  private readonly params: tfjs.Variable[];
  private readonly m: tfjs.Variable[];
  private readonly v: tfjs.Variable[];
  private readonly sums: tfjs.Variable;

  constructor(
    private readonly tf: Tf,
    readonly dim: number,
    projection: boolean,
    private readonly weights: LossWeights,
  ) {
    const shapes = projection ? [[dim, dim], [dim]] : [];
    this.params = shapes.map((s) => tf.variable(s.length === 2 ? tf.eye(dim) : tf.zeros(s), false));
    this.m = shapes.map((s) => tf.variable(tf.zeros(s), false));
    this.v = shapes.map((s) => tf.variable(tf.zeros(s), false));
    this.sums = tf.variable(tf.zeros([3]), false);
  }

  /** Unit vectors of pooled rows `x` ([n, dim]). */
  private encode(x: tfjs.Tensor2D, params: readonly tfjs.Tensor[]): tfjs.Tensor2D {
    const tf = this.tf;
    const z = params.length === 0 ? x : tf.add(tf.matMul(x, params[0] as tfjs.Tensor2D), params[1]);
    // The epsilon keeps an all-zero bag (no known n-gram) at zero instead of NaN.
    return tf.div(z, tf.sqrt(tf.add(tf.sum(tf.square(z), 1, true), 1e-12)));
  }

  /** Total loss of the batch, with the positives retrieved correctly and the number of positives. */
  private forward(batch: PairBatch, x: tfjs.Tensor, params: readonly tfjs.Tensor[]): { total: tfjs.Scalar; hits: tfjs.Scalar; anchors: tfjs.Scalar } {
    const tf = this.tf;
    const { n } = batch;
    const w = this.weights;
    const u = this.encode(x as tfjs.Tensor2D, params);
    const [ua, ub] = tf.split(u, 2, 0) as [tfjs.Tensor2D, tfjs.Tensor2D];
    const sim = tf.matMul(ua, ub, false, true);
    const cos = tf.sum(tf.mul(ua, ub), 1);
    const positive = tf.tensor1d(batch.positive.subarray(0, n));
    const anchors = tf.sum(positive);
    // InfoNCE in both directions: a_i among the b's and b_i among the a's.
    const logits = tf.add(tf.mul(sim, w.contrastiveScale), tf.tensor2d(batch.negativeMask.subarray(0, n * n), [n, n]));
    const own = tf.mul(cos, w.contrastiveScale);
    const perPair = tf.sub(tf.div(tf.add(tf.logSumExp(logits, 1), tf.logSumExp(logits, 0)), 2), own);
    const contrastive = tf.div(tf.sum(tf.mul(perPair, positive)), tf.maximum(anchors, 1));
    const diff = tf.sub(tf.reshape(cos, [1, n]), tf.reshape(cos, [n, 1])) as tfjs.Tensor2D;
    const rankWeight = tf.tensor2d(batch.rankWeight.subarray(0, n * n), [n, n]);
    const rank = w.rankLoss === 'cosent' ? this.cosent(diff, rankWeight) : this.pairwise(diff, rankWeight);
    const total = tf.add(tf.mul(contrastive, w.contrastiveWeight), tf.mul(rank, w.rankWeight)) as tfjs.Scalar;
    const hits = tf.sum(tf.mul(tf.cast(tf.equal(tf.argMax(logits, 1), tf.range(0, n, 1, 'int32')), 'float32'), positive)) as tfjs.Scalar;
    return { total, hits, anchors: anchors as tfjs.Scalar };
  }

  /** CoSENT: log(1 + Σ_{s_i > s_j} exp(λ (cos_j − cos_i))); the leading 0 is the "1 +". */
  private cosent(diff: tfjs.Tensor2D, rankWeight: tfjs.Tensor2D): tfjs.Scalar {
    const tf = this.tf;
    const n = diff.shape[0];
    const ranked = tf.where(tf.greater(rankWeight, 0), tf.mul(diff, this.weights.rankScale), tf.fill([n, n], MASKED));
    return tf.logSumExp(tf.concat([tf.zeros([1]), tf.reshape(ranked, [n * n])]));
  }

  /**
   * Pairwise logistic ranking (RankNet): the mean over ordered pairs of softplus(λ (cos_j − cos_i)),
   * each weighted by its score gap. Every pair counts, not mostly the worst one as under CoSENT's
   * log-sum-exp, which is closer to what a rank correlation over the whole set measures.
   */
  private pairwise(diff: tfjs.Tensor2D, rankWeight: tfjs.Tensor2D): tfjs.Scalar {
    const tf = this.tf;
    const total = tf.sum(tf.mul(rankWeight, tf.softplus(tf.mul(diff, this.weights.rankScale))));
    return tf.div(total, tf.maximum(tf.sum(rankWeight), 1e-6));
  }

  private accumulate(n: number, total: tfjs.Scalar, hits: tfjs.Scalar, anchors: tfjs.Scalar): void {
    const tf = this.tf;
    this.sums.assign(tf.add(this.sums, tf.stack([tf.mul(total, n), hits, anchors])));
  }

  /** One training step (Adam step `t`); returns dLoss/dx ([2n, dim]) for the n-gram table. */
  trainStep(batch: PairBatch, adam: AdamSettings, t: number): Float32Array {
    const tf = this.tf;
    const dx = tf.tidy(() => {
      const xt = tf.tensor2d(batch.x.subarray(0, 2 * batch.n * this.dim), [2 * batch.n, this.dim]);
      let kept: tfjs.Scalar[] = [];
      const f = (...inputs: tfjs.Tensor[]): tfjs.Scalar => {
        const r = this.forward(batch, inputs[0], inputs.slice(1));
        // The gradient scope frees its intermediates; keep what the running sums need past it.
        kept = [tf.keep(r.hits), tf.keep(r.anchors)];
        return r.total;
      };
      let value: tfjs.Scalar;
      let grads: tfjs.Tensor[];
      try {
        ({ value, grads } = tf.valueAndGrads(f)([xt, ...this.params]));
        this.accumulate(batch.n, value, kept[0], kept[1]);
      } finally {
        for (const k of kept) k.dispose();
      }
      const step = adamStepSize(adam, t);
      for (let i = 0; i < this.params.length; i++) {
        const g = grads[i + 1];
        const m = tf.add(tf.mul(this.m[i], adam.beta1), tf.mul(g, 1 - adam.beta1));
        const v = tf.add(tf.mul(this.v[i], adam.beta2), tf.mul(tf.square(g), 1 - adam.beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        this.params[i].assign(tf.sub(this.params[i], tf.div(tf.mul(m, step), tf.add(tf.sqrt(v), adam.epsilon))));
      }
      return grads[0];
    });
    return takeValues(dx);
  }

  /** Adds the batch's loss and retrievals to the running sums without training (validation). */
  evaluate(batch: PairBatch): void {
    const tf = this.tf;
    tf.tidy(() => {
      const r = this.forward(batch, tf.tensor2d(batch.x.subarray(0, 2 * batch.n * this.dim), [2 * batch.n, this.dim]), this.params);
      this.accumulate(batch.n, r.total, r.hits, r.anchors);
    });
  }

  /** Unit vectors of `n` pooled rows (one read-back). */
  embed(x: Float32Array, n: number): Float32Array {
    const tf = this.tf;
    return takeValues(tf.tidy(() => this.encode(tf.tensor2d(x.subarray(0, n * this.dim), [n, this.dim]), this.params)));
  }

  /** Reads the running sums (one read-back) and resets them. */
  takeTotals(): HeadTotals {
    const tf = this.tf;
    const s = this.sums.dataSync();
    tf.tidy(() => this.sums.assign(tf.zeros([3])));
    return { lossSum: s[0], correct: s[1], anchors: s[2] };
  }

  /** W and b (empty for a bare bag), as copies. */
  getWeights(): Float32Array[] {
    return this.params.map((t) => t.dataSync() as Float32Array);
  }

  /** Parameters, then first moments, then second moments. */
  getState(): Float32Array[] {
    return [...this.params, ...this.m, ...this.v].map((t) => t.dataSync() as Float32Array);
  }

  /** Restores what getState returned, bit for bit. */
  setState(arrays: readonly Float32Array[]): void {
    const tf = this.tf;
    const all = [...this.params, ...this.m, ...this.v];
    if (arrays.length !== all.length) throw new RangeError(`embedding head state has ${arrays.length} arrays, expected ${all.length}`);
    tf.tidy(() => all.forEach((variable, i) => variable.assign(tf.tensor(arrays[i], variable.shape, 'float32'))));
  }

  dispose(): void {
    for (const t of [...this.params, ...this.m, ...this.v, this.sums]) t.dispose();
  }
}
