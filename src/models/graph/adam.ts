/**
 * Adam's update as a subgraph, the same rule as FlatAdam (src/models/kernels/dense-step.ts):
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  w ← w − s·m / (√v + ε)
 * with the bias corrections folded into the step size s = lr·√(1−β2^t)/(1−β1^t), which the caller feeds
 * each step as a scalar input (adamStepSize in sparse-embedding.ts): t, the learning-rate schedule and the
 * correction stay in JS, in float64.
 */
import type { GraphBuilder } from './builder.js';
import { add, div, mul, sqrt, sub } from './ops.js';

export interface AdamConstants {
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** New weight, first and second moment of one parameter tensor, under the given output names. */
export function adamUpdate(
  g: GraphBuilder,
  p: { w: string; grad: string; m: string; v: string; stepSize: string },
  c: AdamConstants,
  out: { w: string; m: string; v: string },
): void {
  const m = add(g, mul(g, g.scalar(c.beta1), p.m), mul(g, g.scalar(1 - c.beta1), p.grad), out.m);
  const v = add(g, mul(g, g.scalar(c.beta2), p.v), mul(g, g.scalar(1 - c.beta2), mul(g, p.grad, p.grad)), out.v);
  const update = div(g, mul(g, p.stepSize, m), add(g, sqrt(g, v), g.scalar(c.epsilon)));
  sub(g, p.w, update, out.w);
}
