/**
 * The dense part of the embedding encoder on onnxruntime: pooled bag → optional linear map (identity at
 * start, so the untrained encoder is the TF-IDF-like bag) → L2 normalisation, and the training loss:
 *
 * - in-batch negatives (InfoNCE / MultipleNegativesRanking, symmetric): each positive pair's texts must be
 *   each other's nearest among the batch's other texts;
 * - a ranking loss on scored pairs: every pair with a higher score should get a higher cosine than every
 *   lower-scored pair in the batch. It uses the whole 0–5 scale, which InfoNCE cannot, and being about
 *   order it optimises what Spearman measures without forcing cosines onto the score scale. `pairwise`
 *   (RankNet, weighted by the score gap) is the default; `cosent` (Su 2022) is the log-sum-exp form.
 *
 * A training step is one graph (src/models/graph/contrastive-graphs.ts: forward, the hand-written
 * backward down to the pooled bags, Adam on the projection), its new parameters and moments kept as the
 * next step's inputs. The running sums are kept in JS, from the step's loss and similarity logits. Unit
 * vectors for the validation figures come from the predictor's plain-JS encoder (unitVector), so they are
 * the very vectors an export serves.
 */
import type * as ort from 'onnxruntime-node';
import { buildContrastiveGraph, MASKED, PROJECTION_PARAMS, type ContrastiveLoss } from '../graph/contrastive-graphs.js';
import { newName } from '../graph/dense-graphs.js';
import { floatTensor, openSession, type SessionSettings } from '../graph/session.js';
import { adamStepSize, type AdamSettings } from '../kernels/sparse-embedding.js';

export { MASKED };

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

export type LossWeights = ContrastiveLoss;

/** Running sums since the last reset: summed batch loss × pairs, correct retrievals, anchors retrieved. */
export interface HeadTotals {
  lossSum: number;
  correct: number;
  anchors: number;
}

export class EmbeddingHead {
  /** W [dim, dim] and b [dim] when projecting, then their first and second moments; empty for a bare bag. */
  private state: ort.Tensor[];
  private readonly stateNames: string[];
  private readonly shapes: number[][];
  private totals: HeadTotals = { lossSum: 0, correct: 0, anchors: 0 };

  private constructor(
    readonly dim: number,
    private readonly adam: AdamSettings,
    private readonly sessions: { step: ort.InferenceSession; loss: ort.InferenceSession },
    projection: boolean,
  ) {
    const params = projection ? [...PROJECTION_PARAMS] : [];
    this.stateNames = [...params, ...params.map((n) => `m_${n}`), ...params.map((n) => `v_${n}`)];
    const shapes = projection ? [[dim, dim], [dim]] : [];
    this.shapes = [...shapes, ...shapes, ...shapes];
    this.state = this.shapes.map((s, i) => {
      const a = new Float32Array(s.reduce((x, y) => x * y, 1));
      if (i === 0) for (let d = 0; d < dim; d++) a[d * dim + d] = 1;
      return floatTensor(a, s);
    });
  }

  /** A head of width `dim`, with the projection (identity, zero bias) or without, and its graphs' sessions. */
  static async create(dim: number, projection: boolean, loss: LossWeights, adam: AdamSettings, session: SessionSettings): Promise<EmbeddingHead> {
    const weights: ContrastiveLoss = { rankLoss: loss.rankLoss, contrastiveScale: loss.contrastiveScale, rankScale: loss.rankScale, contrastiveWeight: loss.contrastiveWeight, rankWeight: loss.rankWeight };
    const build = (kind: 'step' | 'loss'): Promise<ort.InferenceSession> => openSession(buildContrastiveGraph(kind, dim, projection, weights, adam), session);
    const [step, lossSession] = await Promise.all([build('step'), build('loss')]);
    return new EmbeddingHead(dim, adam, { step, loss: lossSession }, projection);
  }

  private feeds(batch: PairBatch, withState: boolean): Record<string, ort.Tensor> {
    const { n } = batch;
    const f: Record<string, ort.Tensor> = {
      x: floatTensor(batch.x.subarray(0, 2 * n * this.dim), [2 * n, this.dim]),
      positive: floatTensor(batch.positive.subarray(0, n), [n]),
      negative_mask: floatTensor(batch.negativeMask.subarray(0, n * n), [n, n]),
      rank_weight: floatTensor(batch.rankWeight.subarray(0, n * n), [n, n]),
    };
    const count = withState ? this.stateNames.length : this.shapes.length / 3;
    for (let i = 0; i < count; i++) f[this.stateNames[i]] = this.state[i];
    return f;
  }

  /** Adds a batch's loss and retrievals (row argmax of the similarity logits on its own pair) to the sums. */
  private accumulate(batch: PairBatch, out: ort.InferenceSession.OnnxValueMapType): void {
    const { n } = batch;
    const logits = out.logits.data as Float32Array;
    this.totals.lossSum += (out.loss.data as Float32Array)[0] * n;
    for (let i = 0; i < n; i++) {
      if (batch.positive[i] === 0) continue;
      this.totals.anchors += 1;
      let best = 0;
      for (let j = 1; j < n; j++) if (logits[i * n + j] > logits[i * n + best]) best = j;
      if (best === i) this.totals.correct += 1;
    }
  }

  /** One training step (Adam step `t`, at `adam.learningRate`); returns dLoss/dx ([2n, dim]) for the n-gram table. */
  async trainStep(batch: PairBatch, adam: AdamSettings, t: number): Promise<Float32Array> {
    const { beta1, beta2, epsilon } = this.adam;
    if (adam.beta1 !== beta1 || adam.beta2 !== beta2 || adam.epsilon !== epsilon) throw new RangeError('Adam β1, β2 and ε are fixed in the step graph; only the learning rate may change between steps');
    const feeds = this.feeds(batch, true);
    if (this.state.length > 0) feeds.step_size = floatTensor(Float32Array.of(adamStepSize(adam, t)), []);
    const out = await this.sessions.step.run(feeds);
    if (this.state.length > 0) this.state = this.stateNames.map((name) => out[newName(name)]);
    this.accumulate(batch, out);
    return out.grad_x.data as Float32Array;
  }

  /** Adds the batch's loss and retrievals to the running sums without training (validation). */
  async evaluate(batch: PairBatch): Promise<void> {
    this.accumulate(batch, await this.sessions.loss.run(this.feeds(batch, false)));
  }

  /** The running sums since the last call, then resets them. */
  takeTotals(): HeadTotals {
    const t = this.totals;
    this.totals = { lossSum: 0, correct: 0, anchors: 0 };
    return t;
  }

  /** W and b (empty for a bare bag), as copies. */
  getWeights(): Float32Array[] {
    return this.state.slice(0, this.shapes.length / 3).map((t) => (t.data as Float32Array).slice());
  }

  /** Parameters, then first moments, then second moments (copies). */
  getState(): Float32Array[] {
    return this.state.map((t) => (t.data as Float32Array).slice());
  }

  /** Restores what getState returned, bit for bit. */
  setState(arrays: readonly Float32Array[]): void {
    if (arrays.length !== this.shapes.length) throw new RangeError(`embedding head state has ${arrays.length} arrays, expected ${this.shapes.length}`);
    this.state = this.shapes.map((s, i) => {
      const want = s.reduce((a, b) => a * b, 1);
      if (arrays[i].length !== want) throw new RangeError(`embedding head state array ${i} has ${arrays[i].length} values, expected ${want}`);
      return floatTensor(arrays[i].slice(), s);
    });
  }

  /** Releases the onnxruntime sessions (in the background: nothing waits on them). */
  dispose(): void {
    void Promise.all(Object.values(this.sessions).map((s) => s.release()));
  }
}
