/**
 * Layers as forward and hand-written backward subgraphs. Weights are [in, out] (row-major, the layout
 * OrtDenseHead and the voice/nlu exports use), activations [batch, features].
 *
 * Backward formulas (y = x·W + b; L the loss; dy = ∂L/∂y):
 *   dW = xᵀ·dy, db = Σ_rows dy, dx = dy·Wᵀ
 *   ReLU: dx = dy where the layer's output > 0, else 0 (the derivative taken at 0 is 0)
 *   softmax cross-entropy, mean over the batch's n rows, targets t (one-hot, or smoothed; an all-zero row
 *   for an example with no known label): L = −(1/n) Σ t·log softmax(z), ∂L/∂z = (softmax(z)·Σt − t) / n
 */
import type { GraphBuilder } from './builder.js';
import { div, gemm, greater, identity, logSoftmax, mul, neg, reduceSum, relu, rowCount, softmax, sub, where } from './ops.js';

/** y = x·W + b, then ReLU when `activation` is 'relu'. */
export function denseForward(g: GraphBuilder, x: string, w: string, b: string, activation: 'relu' | 'linear', out?: string): string {
  if (activation === 'linear') return gemm(g, x, w, { c: b, out });
  return relu(g, gemm(g, x, w, { c: b }), out);
}

/** Gradients of a dense layer given dy = ∂L/∂y; dx only when asked (the first layer's input is data). */
export function denseBackward(g: GraphBuilder, x: string, w: string, dy: string, wantDx: boolean, names: { dW?: string; db?: string; dx?: string } = {}): { dW: string; db: string; dx?: string } {
  const dW = gemm(g, x, dy, { transA: true, out: names.dW });
  const db = reduceSum(g, dy, [0], false, names.db);
  const dx = wantDx ? gemm(g, dy, w, { transB: true, out: names.dx }) : undefined;
  return { dW, db, dx };
}

/** ∂L/∂(ReLU input) from the ReLU's output `y` and ∂L/∂y. */
export function reluBackward(g: GraphBuilder, y: string, dy: string, out?: string): string {
  const zero = g.scalar(0);
  const dx = where(g, greater(g, y, zero), dy, zero);
  return out === undefined ? dx : identity(g, dx, out);
}

/**
 * Mean softmax cross-entropy of `logits` ([n, C]) against `targets` ([n, C]) and its gradient w.r.t. the
 * logits. Rows whose targets sum to 0 (no known label) add no loss and no gradient but count in n.
 */
export function softmaxCrossEntropy(g: GraphBuilder, logits: string, targets: string, names: { loss?: string; dLogits?: string } = {}): { loss: string; dLogits: string } {
  const n = rowCount(g, logits);
  const logP = logSoftmax(g, logits);
  const loss = div(g, neg(g, reduceSum(g, mul(g, targets, logP), [0, 1])), n, names.loss);
  return { loss, dLogits: crossEntropyGradient(g, logits, targets, n, names.dLogits) };
}

/** ∂L/∂logits of softmaxCrossEntropy alone (a step whose loss is taken in JS from the logits), `n` the row count. */
export function crossEntropyGradient(g: GraphBuilder, logits: string, targets: string, n = rowCount(g, logits), out?: string): string {
  const rowMass = reduceSum(g, targets, [1], true);
  return div(g, sub(g, mul(g, softmax(g, logits), rowMass), targets), n, out);
}

