/**
 * Graphs for the embedding encoder (src/models/embedding/head.ts says what the loss is for):
 * pooled bags `x` [2n, dim] (the n first texts, then the n second texts) → optional linear map
 * z = x·W + b → unit vectors u = z / √(|z|² + 10⁻¹²), and the training loss of a batch of n pairs
 *
 *   total = wc · Σ_i pos_i · ((lse_j L[i,·] + lse_j L[·,i]) / 2 − s·cos_i) / max(Σ pos, 1)
 *         + wr · rank,
 *   L = s · ua·ubᵀ + negative_mask,  cos_i = ua_i·ub_i,  diff[i,j] = cos_j − cos_i,
 *   rank = Σ R ⊙ softplus(λ·diff) / max(Σ R, 10⁻⁶)                 (pairwise, R = rank_weight)
 *        | log(1 + Σ_{R>0} exp(λ·diff))                             (cosent)
 *
 * Backward, written out (dTotal = 1; a_i = wc·pos_i / max(Σ pos, 1)):
 *   dL = (a_i·softmax_row(L)[i,j] + a_j·softmax_col(L)[i,j]) / 2,  d(ua·ubᵀ) = s·dL,  dcos_i = −s·a_i
 *   pairwise: ddiff = wr·R·λ·σ(λ·diff) / max(Σ R, 10⁻⁶);  cosent: ddiff = wr·λ·exp(λ·diff − rank) where R > 0
 *   dcos_j += Σ_i ddiff[i,j] − Σ_i ddiff[j,i]
 *   dua = dsim·ub + dcos ⊙ ub,  dub = dsimᵀ·ua + dcos ⊙ ua
 *   dz = (du − u·Σ_d(du ⊙ u)) / √(|z|² + 10⁻¹²);  dx = dz·Wᵀ, dW = xᵀ·dz, db = Σ_rows dz (or dx = dz)
 *
 * Inputs: `x`, `positive` [n] (1 for a positive pair), `negative_mask` [n, n] (0 or MASKED), `rank_weight`
 * [n, n]; with a projection `W` [dim, dim], `b` [dim] (and for the step `step_size`, `m_W`, `m_b`, `v_W`,
 * `v_b`). Outputs: `loss` (the total), `logits` (L, for the retrieval count), `grad_x`, and the step's
 * `new_<state>` or the gradient graph's `grad_W`, `grad_b`.
 */
import { adamUpdate, type AdamConstants } from './adam.js';
import { GraphBuilder, type Dim } from './builder.js';
import { newName } from './dense-graphs.js';
import { add, concat, div, exp, gemm, greater, identity, max, mul, reduceLogSumExp, reduceSum, reshape, sigmoid, softmax, softplus, split, sqrt, sub, unsqueeze, where } from './ops.js';

/** Added to masked logits: exp of it is 0 in float32, yet it stays finite so gradients never see NaN. */
export const MASKED = -1e4;

export interface ContrastiveLoss {
  rankLoss: 'cosent' | 'pairwise';
  /** s: InfoNCE logit scale (inverse temperature). */
  contrastiveScale: number;
  /** λ: scale of cosine differences in the ranking loss. */
  rankScale: number;
  contrastiveWeight: number;
  rankWeight: number;
}

/** What a graph computes: a training step, loss and gradients (for checks), or the loss alone (validation). */
export type ContrastiveGraphKind = 'step' | 'gradient' | 'loss';

/** Parameter names with a projection, in state order (then m_ and v_ of each). */
export const PROJECTION_PARAMS = ['W', 'b'] as const;

const PAIRS: Dim = 'pairs';
const TEXTS: Dim = 'texts';

export interface Encoded {
  z: string;
  u: string;
  /** √(|z|² + 10⁻¹²) per row, [2n, 1]. */
  norm: string;
}

/** z = x·W + b (or x without a projection), then unit rows u; exported for the portable embedding export. */
export function encodeUnitRows(g: GraphBuilder, x: string, params: readonly string[]): Encoded {
  const z = params.length === 0 ? x : gemm(g, x, params[0], { c: params[1] });
  // The epsilon keeps an all-zero bag (no known n-gram) at zero instead of NaN.
  const norm = sqrt(g, add(g, reduceSum(g, mul(g, z, z), [1], true), g.scalar(1e-12)));
  return { z, u: div(g, z, norm), norm };
}

interface LossParts {
  loss: string;
  ua: string;
  ub: string;
  logits: string;
  diff: string;
  /** a_i = wc·pos_i / max(Σ pos, 1). */
  anchorWeight: string;
  rankWeight: string;
  /** The ranking loss before its weight. */
  rank: string;
}

function lossForward(g: GraphBuilder, u: string, loss: ContrastiveLoss): LossParts {
  const positive = g.input('positive', [PAIRS]);
  const negativeMask = g.input('negative_mask', [PAIRS, PAIRS]);
  const rankWeight = g.input('rank_weight', [PAIRS, PAIRS]);
  const [ua, ub] = split(g, u, 0, 2);
  const s = g.scalar(loss.contrastiveScale);
  const logits = add(g, mul(g, gemm(g, ua, ub, { transB: true }), s), negativeMask, 'logits');
  const cos = reduceSum(g, mul(g, ua, ub), [1]);
  const perPair = sub(g, div(g, add(g, reduceLogSumExp(g, logits, [1]), reduceLogSumExp(g, logits, [0])), g.scalar(2)), mul(g, cos, s));
  const anchors = max(g, reduceSum(g, positive, [0]), g.scalar(1));
  const contrastive = div(g, reduceSum(g, mul(g, perPair, positive), [0]), anchors);
  const anchorWeight = div(g, mul(g, positive, g.scalar(loss.contrastiveWeight)), anchors);
  const diff = sub(g, unsqueeze(g, cos, [0]), unsqueeze(g, cos, [1]));
  const lambdaDiff = mul(g, diff, g.scalar(loss.rankScale));
  let rank: string;
  if (loss.rankLoss === 'pairwise') {
    rank = div(g, reduceSum(g, mul(g, rankWeight, softplus(g, lambdaDiff)), [0, 1]), max(g, reduceSum(g, rankWeight, [0, 1]), g.scalar(1e-6)));
  } else {
    const ranked = where(g, greater(g, rankWeight, g.scalar(0)), lambdaDiff, g.scalar(MASKED));
    // log(1 + Σ exp(ranked)): the leading 0 is the "1 +".
    rank = reduceLogSumExp(g, concat(g, [g.initializer('cosent_one', Float32Array.of(0), [1]), reshape(g, ranked, [-1])], 0), [0]);
  }
  const total = add(g, mul(g, contrastive, g.scalar(loss.contrastiveWeight)), mul(g, rank, g.scalar(loss.rankWeight)), 'loss');
  return { loss: total, ua, ub, logits, diff, anchorWeight, rankWeight, rank };
}

/** ∂total/∂u ([2n, dim]) from the forward's parts. */
function lossBackward(g: GraphBuilder, f: LossParts, loss: ContrastiveLoss): string {
  const s = g.scalar(loss.contrastiveScale);
  const half = g.scalar(0.5);
  const rowTerm = mul(g, unsqueeze(g, f.anchorWeight, [1]), softmax(g, f.logits, 1));
  const colTerm = mul(g, unsqueeze(g, f.anchorWeight, [0]), softmax(g, f.logits, 0));
  const dSim = mul(g, mul(g, add(g, rowTerm, colTerm), half), s);
  const lambda = g.scalar(loss.rankScale);
  const lambdaDiff = mul(g, f.diff, lambda);
  let dDiff: string;
  if (loss.rankLoss === 'pairwise') {
    const w = div(g, mul(g, f.rankWeight, g.scalar(loss.rankWeight)), max(g, reduceSum(g, f.rankWeight, [0, 1]), g.scalar(1e-6)));
    dDiff = mul(g, mul(g, w, sigmoid(g, lambdaDiff)), lambda);
  } else {
    const p = exp(g, sub(g, lambdaDiff, f.rank));
    dDiff = where(g, greater(g, f.rankWeight, g.scalar(0)), mul(g, p, g.scalar(loss.rankWeight * loss.rankScale)), g.scalar(0));
  }
  const dCos = sub(g, sub(g, reduceSum(g, dDiff, [0]), reduceSum(g, dDiff, [1])), mul(g, f.anchorWeight, s));
  const dCosCol = unsqueeze(g, dCos, [1]);
  const dua = add(g, gemm(g, dSim, f.ub), mul(g, dCosCol, f.ub));
  const dub = add(g, gemm(g, dSim, f.ua, { transA: true }), mul(g, dCosCol, f.ua));
  return concat(g, [dua, dub], 0);
}

/** ∂/∂z of the normalisation, given ∂/∂u. */
function normalizeBackward(g: GraphBuilder, e: Encoded, du: string): string {
  const along = reduceSum(g, mul(g, du, e.u), [1], true);
  return div(g, sub(g, du, mul(g, e.u, along)), e.norm);
}

/**
 * The encoder's graph of the given kind for width `dim`, with or without the projection, as ONNX bytes.
 * `adam` is needed for a step with a projection (without one the step has no parameters to update).
 */
export function buildContrastiveGraph(kind: ContrastiveGraphKind, dim: number, projection: boolean, loss: ContrastiveLoss, adam?: AdamConstants): Uint8Array {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${String(dim)}`);
  const g = new GraphBuilder(`contrastive_${kind}`);
  const shapes = [[dim, dim], [dim]];
  const x = g.input('x', [TEXTS, dim]);
  const params = projection ? PROJECTION_PARAMS.map((n, i) => g.input(n, shapes[i])) : [];
  const e = encodeUnitRows(g, x, params);
  const f = lossForward(g, e.u, loss);
  g.output(f.loss, []);
  g.output(f.logits, [PAIRS, PAIRS]);
  if (kind === 'loss') return g.encode();

  const dz = normalizeBackward(g, e, lossBackward(g, f, loss));
  if (!projection) {
    g.output(identity(g, dz, 'grad_x'), [TEXTS, dim]);
    return g.encode();
  }
  g.output(gemm(g, dz, params[0], { transB: true, out: 'grad_x' }), [TEXTS, dim]);
  const grads = [gemm(g, x, dz, { transA: true }), reduceSum(g, dz, [0])];
  if (kind === 'gradient') {
    PROJECTION_PARAMS.forEach((n, i) => g.output(identity(g, grads[i], `grad_${n}`), shapes[i]));
    return g.encode();
  }
  if (!adam) throw new RangeError('a step graph with a projection needs the Adam constants');
  const stepSize = g.input('step_size', []);
  const ms = PROJECTION_PARAMS.map((n, i) => g.input(`m_${n}`, shapes[i]));
  const vs = PROJECTION_PARAMS.map((n, i) => g.input(`v_${n}`, shapes[i]));
  params.forEach((p, i) => adamUpdate(g, { w: p, grad: grads[i], m: ms[i], v: vs[i], stepSize }, adam, { w: newName(p), m: newName(ms[i]), v: newName(vs[i]) }));
  for (const group of [params, ms, vs]) group.forEach((p, i) => g.output(newName(p), shapes[i]));
  return g.encode();
}
