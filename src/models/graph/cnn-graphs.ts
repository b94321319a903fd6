/**
 * Whole graphs for the small image classifier: conv3×3(c1) → ReLU → maxpool 2×2 → conv3×3(c2) → ReLU
 * (→ maxpool 2×2 when the map is still ≥ 8×8) → dense softmax, with softmax cross-entropy.
 *
 * - the step graph: forward, hand-written backward and Adam as one graph. Inputs: `patches` (the first
 *   layer's patches, cut in JS, see firstLayerPatches), `targets` [n, classes], `step_size` (Adam's
 *   bias-corrected step), `params`, `m`, `v` (flat vectors in the order of cnnParamSizes); outputs `loss`,
 *   `logits` and `new_params`, `new_m`, `new_v`.
 * - the gradient graph: forward and backward, `loss`, `logits` and the flat `grad` out (for the checks).
 * - the inference graph: `patches` and `params` in, `logits` out.
 *
 * The parameters stay one flat vector, as the trainer's checkpoints keep them: W1 and b1 together are a
 * [9c + 1, c1] matrix (the patches carry a column of ones), then W2 [3, 3, c1, c2], b2, W3 [flat, classes]
 * (flat = NHWC order of the last map), b3. Feature maps inside are [n, positions, channels] (conv-layers.ts):
 * each example's first-layer rows come window-major with an all-zero position after each window's, so the
 * first pool is a ReduceMax over axis 1 and its output already has the padding row the second
 * convolution gathers.
 */
import { adamUpdate, type AdamConstants } from './adam.js';
import { GraphBuilder, type Dim } from './builder.js';
import { addConvTaps, convBackward, convForward, convTaps, poolBackward, poolForward, tapOffset, windowMajorOrder } from './conv-layers.js';
import { crossEntropyGradient, denseBackward, reluBackward, softmaxCrossEntropy } from './layers.js';
import { gemm, relu } from './ops.js';

export interface CnnShape {
  height: number;
  width: number;
  channels: number;
  filters: readonly [number, number];
  classes: number;
}

/** Maps this small and smaller are not pooled a second time. */
const SECOND_POOL_MIN_SIDE = 8;

export const hasSecondPool = (s: CnnShape): boolean => Math.min(s.height, s.width) / 2 >= SECOND_POOL_MIN_SIDE;

/** Sides of the map entering the dense layer. */
function lastMap(s: CnnShape): { h: number; w: number } {
  const f = hasSecondPool(s) ? 4 : 2;
  return { h: s.height / f, w: s.width / f };
}

export function flatFeatures(s: CnnShape): number {
  const { h, w } = lastMap(s);
  return h * w * s.filters[1];
}

/** Sizes of the flat parameter vector's parts: W1 with b1 ([9c + 1, c1]), W2, b2, W3, b3. */
export function cnnParamSizes(s: CnnShape): number[] {
  const [c1, c2] = s.filters;
  return [(9 * s.channels + 1) * c1, 9 * c1 * c2, c2, flatFeatures(s) * s.classes, s.classes];
}

/** Columns of a first-layer patch row: 3×3 taps × channels, then the constant 1. */
export const firstPatchWidth = (s: CnnShape): number => 9 * s.channels + 1;

/** Patch rows per example: each of the 4 window positions of every pooled position, plus one all-zero row per window. */
export const firstPatchRows = (s: CnnShape): number => 4 * ((s.height / 2) * (s.width / 2) + 1);

const N: Dim = 'n';

function check(s: CnnShape): void {
  const ok = (v: number) => Number.isInteger(v) && v > 0;
  if (!ok(s.height / 4) || !ok(s.width / 4) || !ok(s.channels) || !s.filters.every(ok) || !(s.classes >= 2)) {
    throw new RangeError(`not a CNN shape: ${JSON.stringify(s)} (sides multiples of 4, positive channels and filters, ≥ 2 classes)`);
  }
}

interface Inputs {
  patches: string;
  targets: string;
  params: string;
}

function declare(g: GraphBuilder, s: CnnShape, withTargets: boolean): Inputs {
  const patches = g.input('patches', [`patch_rows`, firstPatchWidth(s)]);
  const targets = withTargets ? g.input('targets', [N, s.classes]) : '';
  const params = g.input('params', [cnnParamSizes(s).reduce((a, b) => a + b, 0)]);
  return { patches, targets, params };
}

/**
 * The forward pass; returns what the backward pass reads, the logits (named `logits`) among them. Exported
 * for graphs that make the patches themselves (patchesFromPixels) and store the parameters.
 */
export function cnnForward(g: GraphBuilder, s: CnnShape, inp: Pick<Inputs, 'patches' | 'params'>, logitsName = 'logits') {
  const [c1, c2] = s.filters;
  const [h2, w2] = [s.height / 2, s.width / 2];
  const second = hasSecondPool(s);
  const sizes = cnnParamSizes(s);
  const [w1, w2Flat, b2, w3Flat, b3] = g.nodeN('Split', [inp.params, g.ints(sizes)], { axis: { int: 0 } }, sizes.length);
  const W1 = g.node('Reshape', [w1, g.ints([firstPatchWidth(s), c1])]);
  const W2 = g.node('Reshape', [w2Flat, g.ints([9 * c1, c2])]);
  const W3 = g.node('Reshape', [w3Flat, g.ints([flatFeatures(s), s.classes])]);

  // First layer: one matmul over every patch row; ReLU after the pool (they commute, and it is 4× less work).
  const rest1 = (h2 * w2 + 1) * c1;
  const pool1 = poolForward(g, g.node('MatMul', [inp.patches, W1]), rest1);
  const a1 = relu(g, pool1.pooled);
  const taps = addConvTaps(g, 'conv2', convTaps(h2, w2, second ? windowMajorOrder(h2, w2) : undefined));
  const conv2 = convForward(g, g.node('Reshape', [a1, g.ints([-1, h2 * w2 + 1, c1])]), W2, b2, taps, c1);
  const rest2 = flatFeatures(s);
  const pool2 = second ? poolForward(g, conv2.z, rest2) : undefined;
  const a2 = relu(g, pool2 ? pool2.pooled : conv2.z);
  // Each example's last map, [positions, c2] in NHWC order, is its row of the dense layer's input.
  const flat = g.node('Reshape', [a2, g.ints([-1, rest2])]);
  const logits = gemm(g, flat, W3, { c: b3, out: logitsName });
  return { W2, W3, pool1, a1, rest1, taps, conv2, pool2, a2, flat, rest2, logits };
}

/**
 * Adds forward and backward; returns the flat gradient (cnnParamSizes order) and, when `lossName` is
 * given, the loss under that name (the multi-step graph leaves it to JS, from the logits).
 */
function lossAndGradient(g: GraphBuilder, s: CnnShape, inp: Inputs, lossName?: string, logitsName = 'logits'): { loss?: string; grad: string } {
  const [c1, c2] = s.filters;
  const f = cnnForward(g, s, inp, logitsName);
  const sce = lossName === undefined ? undefined : softmaxCrossEntropy(g, f.logits, inp.targets, { loss: lossName });
  // The same nodes softmaxCrossEntropy adds for its gradient: the same bits with or without the loss.
  const dLogits = sce ? sce.dLogits : crossEntropyGradient(g, f.logits, inp.targets);
  const dense = denseBackward(g, f.flat, f.W3, dLogits, true);
  const dPre2 = reluBackward(g, f.flat, dense.dx as string);
  const dZ2 = g.node('Reshape', [f.pool2 ? poolBackward(g, f.pool2, dPre2, f.rest2) : dPre2, g.ints([-1, c2])]);
  const conv2 = convBackward(g, f.conv2, f.W2, dZ2, f.taps, c1, c2, true);
  const dPre1 = reluBackward(g, f.a1, g.node('Reshape', [conv2.dx as string, g.ints([-1, 1, f.rest1])]));
  const dZ1 = g.node('Reshape', [poolBackward(g, f.pool1, dPre1, f.rest1), g.ints([-1, c1])]);
  const dW1 = gemm(g, inp.patches, dZ1, { transA: true });
  const flatten = (v: string) => g.node('Reshape', [v, g.ints([-1])]);
  const grad = g.node('Concat', [dW1, conv2.dW, conv2.db, dense.dW, dense.db].map(flatten), { axis: { int: 0 } });
  return { loss: sce?.loss, grad };
}

/** One Adam step of the CNN of shape `s`, as ONNX bytes. */
export function buildCnnStepGraph(s: CnnShape, adam: AdamConstants): Uint8Array {
  check(s);
  const g = new GraphBuilder('cnn_step');
  const inp = declare(g, s, true);
  const total = cnnParamSizes(s).reduce((a, b) => a + b, 0);
  const stepSize = g.input('step_size', []);
  const m = g.input('m', [total]);
  const v = g.input('v', [total]);
  const { loss, grad } = lossAndGradient(g, s, inp, 'loss');
  adamUpdate(g, { w: inp.params, grad, m, v, stepSize }, adam, { w: 'new_params', m: 'new_m', v: 'new_v' });
  g.output(loss as string, []);
  g.output('logits', [N, s.classes]);
  for (const name of ['new_params', 'new_m', 'new_v']) g.output(name, [total]);
  return g.encode();
}

const STEPS: Dim = 'steps';

/**
 * K Adam steps of the CNN in one run: an ONNX Loop over K batches, the parameters and both moments as its
 * loop-carried state. Each iteration is buildCnnStepGraph's step on batch k (the same nodes on the same
 * values, so the same bits; cnn-graphs.test.ts holds it), so one run costs one crossing from JS and three
 * state tensors in and out for K steps. The patches come as a table of examples' first-layer patches
 * (firstPatchRows × firstPatchWidth each): a whole training set's, cut once, or just this run's; batch k
 * is the examples `rows[k]` of it, copied out in whole blocks.
 *
 * Inputs: `patch_table` [examples, firstPatchRows, firstPatchWidth], `rows` [K, n] (int64), `targets`
 * [K, n, classes], `step_size` [K], `params`, `m`, `v`. Outputs: `logits` [K, n, classes] (each step's,
 * before its update), `new_params`, `new_m`, `new_v`.
 */
export function buildCnnStepsGraph(s: CnnShape, adam: AdamConstants): Uint8Array {
  check(s);
  const g = new GraphBuilder('cnn_steps');
  const total = cnnParamSizes(s).reduce((a, b) => a + b, 0);
  const table = g.input('patch_table', ['examples', firstPatchRows(s), firstPatchWidth(s)]);
  const rows = g.input('rows', [STEPS, N], 'int64');
  const targets = g.input('targets', [STEPS, N, s.classes]);
  const stepSizes = g.input('step_size', [STEPS]);
  const state = ['params', 'm', 'v'].map((n) => g.input(n, [total]));
  const tripCount = g.node('Squeeze', [g.node('Shape', [rows], { start: { int: 0 }, end: { int: 1 } }), g.ints([0])]);

  const body = g.subgraph('cnn_step');
  const k = body.input('k', [], 'int64');
  const condIn = body.input('cond_in', [], 'bool');
  const [p, m, v] = ['params', 'm', 'v'].map((n) => body.input(`${n}_in`, [total]));
  const pick = (all: string): string => body.node('Gather', [all, k], { axis: { int: 0 } });
  const examples = body.node('Gather', [table, pick(rows)], { axis: { int: 0 } });
  const patches = body.node('Reshape', [examples, body.ints([-1, firstPatchWidth(s)])]);
  const { grad } = lossAndGradient(body, s, { patches, targets: pick(targets), params: p }, undefined, 'logits_k');
  adamUpdate(body, { w: p, grad, m, v, stepSize: pick(stepSizes) }, adam, { w: 'params_out', m: 'm_out', v: 'v_out' });
  body.node('Identity', [condIn], {}, 'cond_out');
  body.output('cond_out', [], 'bool');
  for (const n of ['params', 'm', 'v']) body.output(`${n}_out`, [total]);
  body.output('logits_k', [N, s.classes]);

  g.nodeN('Loop', [tripCount, '', ...state], { body: { graph: body } }, ['new_params', 'new_m', 'new_v', 'logits']);
  for (const n of ['new_params', 'new_m', 'new_v']) g.output(n, [total]);
  g.output('logits', [STEPS, N, s.classes]);
  return g.encode();
}

/** Forward and backward only: `loss`, `logits` and the flat `grad` out. */
export function buildCnnGradientGraph(s: CnnShape): Uint8Array {
  check(s);
  const g = new GraphBuilder('cnn_gradient');
  const inp = declare(g, s, true);
  const { loss, grad } = lossAndGradient(g, s, inp, 'loss');
  g.node('Identity', [grad], {}, 'grad');
  g.output(loss as string, []);
  g.output('logits', [N, s.classes]);
  g.output('grad', [cnnParamSizes(s).reduce((a, b) => a + b, 0)]);
  return g.encode();
}

/** The forward pass: `patches` and `params` in, `logits` out. */
export function buildCnnInferenceGraph(s: CnnShape): Uint8Array {
  check(s);
  const g = new GraphBuilder('cnn_forward');
  cnnForward(g, s, declare(g, s, false));
  g.output('logits', [N, s.classes]);
  return g.encode();
}

/** Where each value of one example's patch rows comes from: an offset in the example, or PATCH_ZERO / PATCH_ONE. */
const PATCH_ZERO = -1;
const PATCH_ONE = -2;

/**
 * The source of every value of one example's first-layer patch rows (firstPatchRows × firstPatchWidth),
 * in the order firstLayerPatches writes them. The pattern is the same for every example, so a batch is
 * one table-driven copy per example (measured: 0.45–0.6 ms per optdigits batch of 64 with the loops over
 * windows, positions and taps written out, under load).
 */
function patchSources(s: CnnShape): Int32Array {
  const { height: h, width: w, channels: c } = s;
  const k = firstPatchWidth(s);
  const pooled = (h / 2) * (w / 2);
  const order = windowMajorOrder(h, w);
  const table = new Int32Array(firstPatchRows(s) * k).fill(PATCH_ZERO);
  order.forEach((p, i) => {
    // Window i / pooled rows in, each window's block followed by its padding row (left all PATCH_ZERO:
    // no input, no bias, so its output is 0 and pools to 0).
    const row = i + Math.floor(i / pooled);
    for (let t = 0; t < 9; t++) {
      const [dy, dx] = tapOffset(t);
      const [y, x] = [Math.floor(p / w) + dy, (p % w) + dx];
      if (y < 0 || y >= h || x < 0 || x >= w) continue;
      for (let ch = 0; ch < c; ch++) table[row * k + t * c + ch] = (y * w + x) * c + ch;
    }
    table[row * k + k - 1] = PATCH_ONE;
  });
  return table;
}

/**
 * The first layer's patches (the rows firstLayerPatches cuts in JS) cut inside the graph from `pixels`
 * ([n, h·w·c], each example HWC): one Gather along the pixels with a zero appended, then the column of
 * ones added. For graphs that take images, not patches (the portable export).
 */
export function patchesFromPixels(g: GraphBuilder, s: CnnShape, pixels: string): string {
  check(s);
  const table = patchSources(s);
  const size = s.height * s.width * s.channels;
  // PATCH_ZERO and PATCH_ONE both read the appended zero; the ones come from the added constant.
  const index = Int32Array.from(table, (src) => (src >= 0 ? src : size));
  const ones = Float32Array.from(table, (src) => (src === PATCH_ONE ? 1 : 0));
  const padded = g.node('Pad', [pixels, g.ints([0, 0, 0, 1])]);
  const gathered = g.node('Gather', [padded, g.initializer('patch_sources', index, [index.length])], { axis: { int: 1 } });
  const withOnes = g.node('Add', [gathered, g.initializer('patch_ones', ones, [index.length])]);
  return g.node('Reshape', [withOnes, g.ints([-1, firstPatchWidth(s)])]);
}

const sourcesByShape = new Map<string, Int32Array>();

/**
 * The first layer's patches of examples `order[start..end)` of `data` ([count, h, w, c], HWC per example),
 * in the row order the graphs expect: example outermost, then window position (dy, dx), then pooled
 * position py·(w/2) + px and one all-zero row; columns (tap, channel) of a 3×3 "same" patch, then 1.
 * Written into `out` ([n · firstPatchRows, firstPatchWidth]).
 */
export function firstLayerPatches(s: CnnShape, data: Float32Array, order: ArrayLike<number>, start: number, end: number, out: Float32Array): void {
  const key = `${s.height}x${s.width}x${s.channels}`;
  let table = sourcesByShape.get(key);
  if (!table) sourcesByShape.set(key, (table = patchSources(s)));
  const size = s.height * s.width * s.channels;
  let dst = 0;
  for (let b = start; b < end; b++) {
    const base = order[b] * size;
    for (let i = 0; i < table.length; i++, dst++) {
      const src = table[i];
      out[dst] = src >= 0 ? data[base + src] : src === PATCH_ONE ? 1 : 0;
    }
  }
}

/**
 * firstLayerPatches for a trainer that cuts batch after batch: its buffer holds every example slot's
 * constant values (the zeros and the ones) from the start, so a cut copies only the pixels, one
 * table-driven copy per value (the same values firstLayerPatches writes).
 */
export class PatchBuffer {
  /** [capacity · firstPatchRows, firstPatchWidth]; example slot e at e · perExample. */
  data = new Float32Array(0);
  readonly perExample: number;
  private readonly template: Float32Array;
  private readonly dst: Int32Array;
  private readonly src: Int32Array;

  constructor(private readonly s: CnnShape) {
    const table = patchSources(s);
    this.perExample = table.length;
    this.template = Float32Array.from(table, (src) => (src === PATCH_ONE ? 1 : 0));
    const copies = table.reduce((c, src) => c + (src >= 0 ? 1 : 0), 0);
    [this.dst, this.src] = [new Int32Array(copies), new Int32Array(copies)];
    let j = 0;
    table.forEach((src, i) => {
      if (src >= 0) [this.dst[j], this.src[j++]] = [i, src];
    });
  }

  /** Room for `examples` slots (a grown buffer starts over from the template). */
  reserve(examples: number): void {
    if (this.data.length >= examples * this.perExample) return;
    this.data = new Float32Array(examples * this.perExample);
    for (let e = 0; e < examples; e++) this.data.set(this.template, e * this.perExample);
  }

  /** Cuts examples `order[start..end)` of `data` ([count, h, w, c], HWC) into slots `slot`, `slot + 1`, ... */
  write(data: Float32Array, order: ArrayLike<number>, start: number, end: number, slot: number): void {
    this.reserve(slot + end - start);
    const size = this.s.height * this.s.width * this.s.channels;
    const { dst, src, perExample } = this;
    const out = this.data;
    for (let b = start, at = slot * perExample; b < end; b++, at += perExample) {
      const base = order[b] * size;
      for (let j = 0; j < dst.length; j++) out[at + dst[j]] = data[base + src[j]];
    }
  }
}
