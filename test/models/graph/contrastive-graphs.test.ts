/**
 * The embedding encoder's graphs: the gradient graph (normalisation, similarity matrix, masked in-batch
 * softmax cross-entropy in both directions with its temperature, the ranking loss, the projection)
 * against finite differences of a float64 JS loss written out independently, the step graph's Adam
 * against the JS Adam, and the loss-only graph against the same reference.
 */
import { describe, expect, it } from 'vitest';
import { buildContrastiveGraph, MASKED, type ContrastiveLoss } from '../../../src/models/graph/contrastive-graphs.js';
import { Rng } from '../../../src/models/kernels/rng.js';
import { FlatAdam } from '../../../src/models/kernels/dense-step.js';
import { adamStepSize, type AdamSettings } from '../../../src/models/kernels/sparse-embedding.js';
import { maxRelError, numericGradient, randomArray, runGraph } from './reference.js';

const ADAM: AdamSettings = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
const DIM = 5;
const N = 4;

interface Batch {
  x: Float32Array;
  positive: Float32Array;
  negativeMask: Float32Array;
  rankWeight: Float32Array;
}

/** Four pairs: three positives, pair 3's text shared with pair 1 (masked), scored pairs ranked by gap. */
function batch(rng: Rng): Batch {
  const negativeMask = new Float32Array(N * N);
  negativeMask[1 * N + 3] = MASKED;
  negativeMask[3 * N + 1] = MASKED;
  const scores = [4.5, 1, NaN, 3];
  const rankWeight = Float32Array.from({ length: N * N }, (_, k) => {
    const [i, j] = [Math.floor(k / N), k % N];
    return scores[i] > scores[j] ? scores[i] - scores[j] : 0;
  });
  return { x: randomArray(rng, 2 * N * DIM, 1, 0.05), positive: Float32Array.of(1, 0, 1, 1), negativeMask, rankWeight };
}

const logSumExp = (v: readonly number[]): number => {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
};
const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

/** The total loss in float64, straight from the definition in embedding-head.ts. */
function loss64(x: ArrayLike<number>, w: ArrayLike<number> | undefined, bias: ArrayLike<number> | undefined, b: Batch, l: ContrastiveLoss): number {
  const u: number[][] = [];
  for (let r = 0; r < 2 * N; r++) {
    const z = Array.from({ length: DIM }, (_, k) => {
      if (!w || !bias) return x[r * DIM + k];
      let s = bias[k];
      for (let j = 0; j < DIM; j++) s += x[r * DIM + j] * w[j * DIM + k];
      return s;
    });
    const norm = Math.sqrt(z.reduce((s, v) => s + v * v, 0) + 1e-12);
    u.push(z.map((v) => v / norm));
  }
  const dot = (p: number[], q: number[]): number => p.reduce((s, v, k) => s + v * q[k], 0);
  const logits = (i: number, j: number): number => l.contrastiveScale * dot(u[i], u[N + j]) + b.negativeMask[i * N + j];
  const cos = Array.from({ length: N }, (_, i) => dot(u[i], u[N + i]));
  let contrastive = 0;
  let anchors = 0;
  for (let i = 0; i < N; i++) {
    if (b.positive[i] === 0) continue;
    anchors++;
    const row = Array.from({ length: N }, (_, j) => logits(i, j));
    const col = Array.from({ length: N }, (_, j) => logits(j, i));
    contrastive += (logSumExp(row) + logSumExp(col)) / 2 - l.contrastiveScale * cos[i];
  }
  contrastive /= Math.max(anchors, 1);
  let rank: number;
  if (l.rankLoss === 'pairwise') {
    let sum = 0;
    let weight = 0;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const r = b.rankWeight[i * N + j];
        sum += r * softplus(l.rankScale * (cos[j] - cos[i]));
        weight += r;
      }
    }
    rank = sum / Math.max(weight, 1e-6);
  } else {
    const terms = [0];
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) if (b.rankWeight[i * N + j] > 0) terms.push(l.rankScale * (cos[j] - cos[i]));
    rank = logSumExp(terms);
  }
  return l.contrastiveWeight * contrastive + l.rankWeight * rank;
}

function feeds(b: Batch, params?: { w: Float32Array; bias: Float32Array }): Record<string, [Float32Array, number[]]> {
  const f: Record<string, [Float32Array, number[]]> = {
    x: [b.x, [2 * N, DIM]],
    positive: [b.positive, [N]],
    negative_mask: [b.negativeMask, [N, N]],
    rank_weight: [b.rankWeight, [N, N]],
  };
  if (params) Object.assign(f, { W: [params.w, [DIM, DIM]], b: [params.bias, [DIM]] });
  return f;
}

const LOSSES: ContrastiveLoss[] = [
  { rankLoss: 'pairwise', contrastiveScale: 20, rankScale: 5, contrastiveWeight: 1, rankWeight: 1 },
  { rankLoss: 'cosent', contrastiveScale: 3, rankScale: 2, contrastiveWeight: 0.7, rankWeight: 1.3 },
];

describe('contrastive gradient graph', () => {
  it.each(LOSSES)('gives ∂loss/∂x the gradient finite differences of the float64 loss give, without a projection ($rankLoss)', async (l) => {
    const b = batch(new Rng(8));
    const out = await runGraph(buildContrastiveGraph('gradient', DIM, false, l), feeds(b));
    expect(out.loss[0]).toBeCloseTo(loss64(b.x, undefined, undefined, b, l), 4);
    const numeric = numericGradient((x) => loss64(x, undefined, undefined, b, l), b.x);
    // The check is not vacuous: the gradient is far from zero.
    expect(Math.max(...numeric.map(Math.abs))).toBeGreaterThan(0.05);
    expect(maxRelError(out.grad_x, numeric)).toBeLessThan(1e-4);
  });

  it.each(LOSSES)('gives x, W and b their finite-difference gradients with a projection ($rankLoss)', async (l) => {
    const rng = new Rng(9);
    const b = batch(rng);
    const w = Float32Array.from({ length: DIM * DIM }, (_, k) => (k % (DIM + 1) === 0 ? 1 : 0) + 0.3 * (2 * rng.next() - 1));
    const bias = randomArray(rng, DIM, 0.2);
    const out = await runGraph(buildContrastiveGraph('gradient', DIM, true, l), feeds(b, { w, bias }));
    expect(out.loss[0]).toBeCloseTo(loss64(b.x, w, bias, b, l), 4);
    expect(maxRelError(out.grad_x, numericGradient((x) => loss64(x, w, bias, b, l), b.x))).toBeLessThan(1e-4);
    expect(maxRelError(out.grad_W, numericGradient((p) => loss64(b.x, p, bias, b, l), w))).toBeLessThan(1e-4);
    expect(maxRelError(out.grad_b, numericGradient((p) => loss64(b.x, w, p, b, l), bias))).toBeLessThan(1e-4);
  });
});

describe('contrastive loss and step graphs', () => {
  it('gives the loss of the float64 reference from the loss-only graph', async () => {
    const b = batch(new Rng(10));
    const l = LOSSES[1];
    const out = await runGraph(buildContrastiveGraph('loss', DIM, false, l), feeds(b));
    expect(out.loss[0]).toBeCloseTo(loss64(b.x, undefined, undefined, b, l), 4);
    expect(out.grad_x).toBeUndefined();
  });

  it("updates W and b by Adam on the gradient graph's gradients", async () => {
    const rng = new Rng(11);
    const b = batch(rng);
    const l = LOSSES[0];
    const w = Float32Array.from({ length: DIM * DIM }, (_, k) => (k % (DIM + 1) === 0 ? 1 : 0));
    const bias = new Float32Array(DIM);
    const grads = await runGraph(buildContrastiveGraph('gradient', DIM, true, l), feeds(b, { w, bias }));
    const zeros = (n: number): Float32Array => new Float32Array(n);
    const step = await runGraph(buildContrastiveGraph('step', DIM, true, l, ADAM), {
      ...feeds(b, { w, bias }),
      step_size: [Float32Array.of(adamStepSize(ADAM, 1)), []],
      m_W: [zeros(DIM * DIM), [DIM, DIM]],
      m_b: [zeros(DIM), [DIM]],
      v_W: [zeros(DIM * DIM), [DIM, DIM]],
      v_b: [zeros(DIM), [DIM]],
    });
    const flat = Float32Array.of(...w, ...bias);
    const adam = new FlatAdam(flat.length);
    adam.step(flat, Float32Array.of(...grads.grad_W, ...grads.grad_b), ADAM, 1);
    expect(maxRelError(step.new_W, flat.subarray(0, DIM * DIM))).toBeLessThan(1e-6);
    expect(maxRelError(step.new_b, flat.subarray(DIM * DIM))).toBeLessThan(1e-6);
    expect(maxRelError(step.grad_x, grads.grad_x)).toBe(0);
    // The first Adam step moves every weight with a gradient by about the learning rate.
    expect(Math.abs(step.new_W[0] - w[0])).toBeGreaterThan(0.005);
  });
});
