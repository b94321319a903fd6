/**
 * Whole graphs for a dense classifier (input → ReLU hidden layers → logits, softmax cross-entropy):
 *
 * - the step graph: one training step, forward, backward and Adam, as one graph. Inputs: the batch `x`
 *   [batch, in], `targets` [batch, classes], `step_size` (Adam's bias-corrected step, a scalar), then every
 *   parameter and its two moments; outputs: `loss`, `logits`, then the new parameters and moments. The
 *   caller feeds the outputs back as the next step's inputs, so the state never leaves float32 and never
 *   round-trips through anything but onnxruntime.
 * - the multi-step graph: the same step in an ONNX Loop over K stacked batches, the state as three flat
 *   vectors: one crossing into onnxruntime for K steps (what DenseStepTrainer runs).
 * - the gradient graph: forward and backward only, gradients out (for checking the backward pass).
 * - the inference graph: `x` in, `logits` and `probabilities` out; the weights stored in the model (an
 *   export), or taken as inputs (evaluating while training, without rebuilding the graph).
 *
 * The batch dimension is symbolic: the last, shorter batch of an epoch runs on the same session.
 */
import { adamUpdate, type AdamConstants } from './adam.js';
import { GraphBuilder, type Dim } from './builder.js';
import { crossEntropyGradient, denseBackward, denseForward, reluBackward, softmaxCrossEntropy } from './layers.js';
import { softmax } from './ops.js';

/** Names of the parameters in order: W0, b0, W1, b1, ... for layer sizes [in, hidden..., out]. */
export function paramNames(sizes: readonly number[]): string[] {
  return Array.from({ length: sizes.length - 1 }, (_, l) => [`W${l}`, `b${l}`]).flat();
}

/** Shapes of the parameters in paramNames order. */
export function paramShapes(sizes: readonly number[]): number[][] {
  return Array.from({ length: sizes.length - 1 }, (_, l) => [[sizes[l], sizes[l + 1]], [sizes[l + 1]]]).flat();
}

/** Input names of the step graph's state: parameters, first moments, second moments. */
export function stateNames(sizes: readonly number[]): string[] {
  const p = paramNames(sizes);
  return [...p, ...p.map((n) => `m_${n}`), ...p.map((n) => `v_${n}`)];
}

/** The step graph's output name for each state input (W0 → new_W0, m_W0 → new_m_W0). */
export const newName = (state: string): string => `new_${state}`;

const BATCH: Dim = 'batch';

/** The output name of ∂loss/∂x in graphs built with `inputGradient`. */
export const INPUT_GRADIENT = 'grad_x';

/** Options of the step and gradient graphs. */
export interface DenseGraphOptions {
  /** Also output ∂(mean loss)/∂x ([batch, in]) as INPUT_GRADIENT. */
  inputGradient?: boolean;
}

function checkSizes(sizes: readonly number[]): void {
  if (sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s > 0)) throw new RangeError(`layer sizes must be ≥ 2 positive integers, got [${sizes.join(', ')}]`);
}

/**
 * Adds the forward pass; returns every layer's output, x first and the logits (named `logits`) last.
 * Exported for graphs that put a layer of their own before the classifier (the portable exports).
 */
export function denseClassifierForward(g: GraphBuilder, sizes: readonly number[], params: readonly string[], x: string, logits = 'logits'): string[] {
  const acts = [x];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const hidden = l + 2 < sizes.length;
    acts.push(denseForward(g, acts[l], params[2 * l], params[2 * l + 1], hidden ? 'relu' : 'linear', hidden ? undefined : logits));
  }
  return acts;
}

/**
 * The gradient of the mean loss w.r.t. each parameter (paramNames order), from the layer outputs; with
 * `inputGradient` also w.r.t. the input `x`, named INPUT_GRADIENT (for a learnt input layer such as nlu's
 * n-gram table, which takes it back to its rows).
 */
function backward(g: GraphBuilder, sizes: readonly number[], params: readonly string[], acts: readonly string[], dLogits: string, gradName: (p: string) => string | undefined, inputGradient: boolean, dxName = INPUT_GRADIENT): string[] {
  const grads: string[] = new Array<string>(params.length);
  let dy = dLogits;
  for (let l = sizes.length - 2; l >= 0; l--) {
    const [w, b] = [params[2 * l], params[2 * l + 1]];
    const r = denseBackward(g, acts[l], w, dy, l > 0 || inputGradient, { dW: gradName(w), db: gradName(b), dx: l === 0 ? dxName : undefined });
    grads[2 * l] = r.dW;
    grads[2 * l + 1] = r.db;
    if (r.dx !== undefined && l > 0) dy = reluBackward(g, acts[l], r.dx);
  }
  return grads;
}


function declareInputs(g: GraphBuilder, sizes: readonly number[]): { x: string; targets: string; params: string[] } {
  const classes = sizes[sizes.length - 1];
  const x = g.input('x', [BATCH, sizes[0]]);
  const targets = g.input('targets', [BATCH, classes]);
  const shapes = paramShapes(sizes);
  const params = paramNames(sizes).map((n, i) => g.input(n, shapes[i]));
  return { x, targets, params };
}

/**
 * One Adam training step of the dense classifier with layer sizes `sizes`, as ONNX bytes, state per tensor.
 * The trainers run buildDenseStepsGraph; this is the reference its steps are checked against bit for bit.
 */
export function buildDenseStepGraph(sizes: readonly number[], adam: AdamConstants, opts: DenseGraphOptions = {}): Uint8Array {
  checkSizes(sizes);
  const g = new GraphBuilder('dense_step');
  const { x, targets, params } = declareInputs(g, sizes);
  const shapes = paramShapes(sizes);
  const stepSize = g.input('step_size', []);
  const ms = params.map((n, i) => g.input(`m_${n}`, shapes[i]));
  const vs = params.map((n, i) => g.input(`v_${n}`, shapes[i]));
  const acts = denseClassifierForward(g, sizes, params, x);
  const { loss, dLogits } = softmaxCrossEntropy(g, acts[acts.length - 1], targets, { loss: 'loss' });
  const grads = backward(g, sizes, params, acts, dLogits, () => undefined, opts.inputGradient === true);
  const classes = sizes[sizes.length - 1];
  g.output(loss, []);
  g.output('logits', [BATCH, classes]);
  if (opts.inputGradient) g.output(INPUT_GRADIENT, [BATCH, sizes[0]]);
  params.forEach((p, i) => adamUpdate(g, { w: p, grad: grads[i], m: ms[i], v: vs[i], stepSize }, adam, { w: newName(p), m: newName(ms[i]), v: newName(vs[i]) }));
  for (const group of [params, ms, vs]) group.forEach((p, i) => g.output(newName(p), shapes[i]));
  return g.encode();
}

/** Where each parameter (paramNames order) starts in the flat parameter vector, and its length. */
export function paramOffsets(sizes: readonly number[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let total = 0;
  for (const shape of paramShapes(sizes)) {
    offsets.push(total);
    total += shape.reduce((a, b) => a * b, 1);
  }
  return { offsets, total };
}

/** The multi-step graph's state inputs (flat vectors); its outputs are newName of each. */
export const FLAT_STATE = ['params', 'm', 'v'] as const;

const STEPS: Dim = 'steps';

/**
 * K Adam steps of the dense classifier in one run: an ONNX Loop over K stacked batches, the parameters and
 * both moments as its loop-carried state. Each iteration is buildDenseStepGraph's step on batch k (the
 * same nodes on the same values, so the same bits), except that the state is three flat vectors
 * (paramOffsets' layout: W0, b0, W1, ... end to end) and Adam runs once over each: one run costs one
 * crossing from JS and three state tensors in and out, where K runs of the per-tensor step cost K crossings
 * and 12 tensors each way per layer pair.
 *
 * Inputs: `x` [K, batch, in], `targets` [K, batch, classes], `step_size` [K], `params`, `m`, `v` [P].
 * Outputs: `logits` [K, batch, classes] (each step's, before its update), `grad_x` [K, batch, in] with
 * `inputGradient`, and `new_params`, `new_m`, `new_v`. K and batch are fixed per run.
 */
export function buildDenseStepsGraph(sizes: readonly number[], adam: AdamConstants, opts: DenseGraphOptions = {}): Uint8Array {
  checkSizes(sizes);
  const g = new GraphBuilder('dense_steps');
  const [dim, classes] = [sizes[0], sizes[sizes.length - 1]];
  const { total } = paramOffsets(sizes);
  const shapes = paramShapes(sizes);
  const x = g.input('x', [STEPS, BATCH, dim]);
  const targets = g.input('targets', [STEPS, BATCH, classes]);
  const stepSizes = g.input('step_size', [STEPS]);
  const state = FLAT_STATE.map((n) => g.input(n, [total]));
  const tripCount = g.node('Squeeze', [g.node('Shape', [x], { start: { int: 0 }, end: { int: 1 } }), g.ints([0])]);

  const body = g.subgraph('dense_step');
  const k = body.input('k', [], 'int64');
  const condIn = body.input('cond_in', [], 'bool');
  const [p, m, v] = FLAT_STATE.map((n) => body.input(`${n}_in`, [total]));
  const pick = (all: string): string => body.node('Gather', [all, k], { axis: { int: 0 } });
  const [xk, tk, stepSize] = [pick(x), pick(targets), pick(stepSizes)];
  const flat = body.nodeN('Split', [p, body.ints(shapes.map((s) => s.reduce((a, b) => a * b, 1)))], { axis: { int: 0 } }, shapes.length);
  const params = flat.map((f, i) => (shapes[i].length === 1 ? f : body.node('Reshape', [f, body.ints(shapes[i])])));
  const acts = denseClassifierForward(body, sizes, params, xk, 'logits_k');
  const dLogits = crossEntropyGradient(body, acts[acts.length - 1], tk);
  const grads = backward(body, sizes, params, acts, dLogits, () => undefined, opts.inputGradient === true, 'grad_x_k');
  const grad = body.node('Concat', grads.map((gr, i) => (shapes[i].length === 1 ? gr : body.node('Reshape', [gr, body.ints([-1])]))), { axis: { int: 0 } });
  adamUpdate(body, { w: p, grad, m, v, stepSize }, adam, { w: 'params_out', m: 'm_out', v: 'v_out' });
  body.node('Identity', [condIn], {}, 'cond_out');
  body.output('cond_out', [], 'bool');
  for (const n of FLAT_STATE) body.output(`${n}_out`, [total]);
  body.output('logits_k', [BATCH, classes]);
  if (opts.inputGradient) body.output('grad_x_k', [BATCH, dim]);

  const outs = [...FLAT_STATE.map(newName), 'logits', ...(opts.inputGradient ? [INPUT_GRADIENT] : [])];
  g.nodeN('Loop', [tripCount, '', ...state], { body: { graph: body } }, outs);
  for (const n of FLAT_STATE) g.output(newName(n), [total]);
  g.output('logits', [STEPS, BATCH, classes]);
  if (opts.inputGradient) g.output(INPUT_GRADIENT, [STEPS, BATCH, dim]);
  return g.encode();
}

/** Forward and backward only: `loss`, `logits` and `grad_W0`, `grad_b0`, ... (and `grad_x` when asked) out. */
export function buildDenseGradientGraph(sizes: readonly number[], opts: DenseGraphOptions = {}): Uint8Array {
  checkSizes(sizes);
  const g = new GraphBuilder('dense_gradient');
  const { x, targets, params } = declareInputs(g, sizes);
  const acts = denseClassifierForward(g, sizes, params, x);
  const { loss, dLogits } = softmaxCrossEntropy(g, acts[acts.length - 1], targets, { loss: 'loss' });
  backward(g, sizes, params, acts, dLogits, (p) => `grad_${p}`, opts.inputGradient === true);
  g.output(loss, []);
  g.output('logits', [BATCH, sizes[sizes.length - 1]]);
  if (opts.inputGradient) g.output(INPUT_GRADIENT, [BATCH, sizes[0]]);
  const shapes = paramShapes(sizes);
  params.forEach((p, i) => g.output(`grad_${p}`, shapes[i]));
  return g.encode();
}

/**
 * The classifier's forward pass: `x` in, `logits` and `probabilities` out. With `weights` they are stored
 * in the model; without, they are inputs named as in paramNames.
 */
export function buildDenseInferenceGraph(sizes: readonly number[], weights?: readonly Float32Array[]): Uint8Array {
  checkSizes(sizes);
  const shapes = paramShapes(sizes);
  if (weights && weights.length !== shapes.length) throw new RangeError(`expected ${shapes.length} weight arrays, got ${weights.length}`);
  const g = new GraphBuilder('dense_classifier');
  const x = g.input('x', [BATCH, sizes[0]]);
  const params = paramNames(sizes).map((n, i) => (weights ? g.initializer(n, weights[i], shapes[i]) : g.input(n, shapes[i])));
  const acts = denseClassifierForward(g, sizes, params, x);
  softmax(g, acts[acts.length - 1], -1, 'probabilities');
  const classes = sizes[sizes.length - 1];
  g.output('logits', [BATCH, classes]);
  g.output('probabilities', [BATCH, classes]);
  return g.encode();
}
