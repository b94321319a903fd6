/**
 * Convolution, max-pool and flatten as forward and hand-written backward subgraphs, laid out so that every
 * heavy node is one big kernel over the whole batch (issue 15's measurements: onnxruntime's Conv and
 * ConvTranspose run one tiny GEMM per image on small maps, MaxPool-with-indices costs milliseconds a step,
 * and Expand/Slice/Pad/Gather are slow when their innermost dimension is tiny).
 *
 * Layout: a batch of feature maps is [n, positions + 1, channels] — channels last, and after each example's
 * positions one all-zero row that stands for the padding. Then
 * - a 3×3 "same" convolution cuts its patches (im2col) with one Gather along the position axis, which
 *   copies whole channel rows, and multiplies them by the filter as one GEMM over the whole batch
 *   ([n·positions, 9·ci] @ [9·ci, co]); its input gradient is the same Gather on the output gradient (each
 *   input position reads the outputs that read it) and one GEMM with the filter's taps transposed, so
 *   nothing is scattered;
 * - a 2×2 max-pool needs each example's positions window-major ([n, 4, rest]): the layer before writes its
 *   output positions in that order (ConvTaps' `outOrder`), so the pool is a ReduceMax over axis 1, and its
 *   backward routes the gradient to the window's first maximum (ArgMax, first index), as the float64
 *   reference's pool does (and TF.js's did).
 *
 * Positions of an h×w map are numbered p = y·w + x.
 */
import type { GraphBuilder } from './builder.js';

type V = string;

/** The Gather tables of one 3×3 "same" convolution over an h×w map (positions p = y·w + x). */
export interface ConvTaps {
  /** Positions of the input map; each example's rows have one more, all zeros (the padding), after them. */
  inPositions: number;
  /** Output positions in the order the output rows take (a permutation of the map's positions). */
  outOrder: Int32Array;
  /** [outPositions · 9]: for output row k and tap t, the input row it reads (inPositions: padding). */
  forward: BigInt64Array;
  /** [(inPositions + 1) · 9]: for input row q and tap t, the output row that reads q through tap t (outPositions: none). */
  backward: BigInt64Array;
}

/** Tap t of a 3×3 filter ([3, 3, ci, co] order) reads the input at offset (t/3 − 1, t%3 − 1). */
export const tapOffset = (t: number): [number, number] => [Math.floor(t / 3) - 1, (t % 3) - 1];

/** The Gather tables for a 3×3 "same" convolution over an h×w map, output rows in `outOrder` (default: p order). */
export function convTaps(h: number, w: number, outOrder: Int32Array = Int32Array.from({ length: h * w }, (_, p) => p)): ConvTaps {
  const hw = h * w;
  if (outOrder.length !== hw || new Set(outOrder).size !== hw || outOrder.some((p) => p < 0 || p >= hw)) throw new RangeError(`outOrder must be a permutation of the ${hw} positions`);
  const forward = new BigInt64Array(hw * 9);
  const backward = new BigInt64Array((hw + 1) * 9).fill(BigInt(hw));
  for (let t = 0; t < 9; t++) {
    const [dy, dx] = tapOffset(t);
    outOrder.forEach((p, k) => {
      const [y, x] = [Math.floor(p / w) + dy, (p % w) + dx];
      const inside = y >= 0 && y < h && x >= 0 && x < w;
      forward[k * 9 + t] = BigInt(inside ? y * w + x : hw);
      // Output row k reads input position q = p + offset through tap t, so q's gradient takes row k's.
      if (inside) backward[(y * w + x) * 9 + t] = BigInt(k);
    });
  }
  return { inPositions: hw, outOrder, forward, backward };
}

/**
 * The output order that lets a 2×2 pool follow: within each example, the four positions of each window
 * as the outer axis, i.e. rows (window (dy, dx) row-major, pooled position py·(w/2) + px).
 */
export function windowMajorOrder(h: number, w: number): Int32Array {
  const [ph, pw] = [h / 2, w / 2];
  if (!Number.isInteger(ph) || !Number.isInteger(pw)) throw new RangeError(`a 2×2 pool needs even sides, got ${h}×${w}`);
  const order = new Int32Array(h * w);
  let k = 0;
  for (let win = 0; win < 4; win++) {
    for (let py = 0; py < ph; py++) for (let px = 0; px < pw; px++) order[k++] = (2 * py + (win >> 1)) * w + 2 * px + (win & 1);
  }
  return order;
}

/** A ConvTaps in a graph: its forward table as a constant; the backward one is added when a backward pass needs it. */
export interface ConvTapsValues {
  name: string;
  taps: ConvTaps;
  forward: V;
}

export function addConvTaps(g: GraphBuilder, name: string, taps: ConvTaps): ConvTapsValues {
  return { name, taps, forward: g.initializer(`${name}_fwd_taps`, taps.forward, [taps.forward.length]) };
}

export interface ConvForward {
  /** The pre-activation output [n · outPositions, co], each example's rows in `outOrder`. */
  z: V;
  /** The patches [n · outPositions, 9 · ci], kept for the filter gradient. */
  patches: V;
}

/**
 * A 3×3 "same" convolution: `x` [n, inPositions + 1, ci] (each example's last row zeros), filter `w`
 * [9 · ci, co] (taps in [3, 3] order), bias `b` [co].
 */
export function convForward(g: GraphBuilder, x: V, w: V, b: V, c: ConvTapsValues, ci: number): ConvForward {
  const patches = g.node('Reshape', [g.node('Gather', [x, c.forward], { axis: { int: 1 } }), g.ints([-1, 9 * ci])]);
  return { z: g.node('Gemm', [patches, w, b]), patches };
}

/**
 * Gradients of convForward given dz = ∂L/∂z [n · outPositions, co]: dW [9 · ci, co], db [co] and, when
 * asked, dx [n · (inPositions + 1), ci] (padding rows zero): dx_q = Σ_t dz_{row reading q by t} · w_tᵀ.
 */
export function convBackward(g: GraphBuilder, f: ConvForward, w: V, dz: V, c: ConvTapsValues, ci: number, co: number, wantDx: boolean): { dW: V; db: V; dx?: V } {
  const dW = g.node('Gemm', [f.patches, dz], { transA: { int: 1 } });
  const db = g.node('ReduceSum', [dz, g.ints([0])], { keepdims: { int: 0 } });
  if (!wantDx) return { dW, db };
  const outPositions = c.taps.outOrder.length;
  // dz per example with a zero row after it: what a tap reading the padding gets.
  const padded = g.node('Pad', [g.node('Reshape', [dz, g.ints([-1, outPositions, co])]), g.ints([0, 0, 0, 0, 1, 0])]);
  const backward = g.initializer(`${c.name}_bwd_taps`, c.taps.backward, [c.taps.backward.length]);
  const gathered = g.node('Reshape', [g.node('Gather', [padded, backward], { axis: { int: 1 } }), g.ints([-1, 9 * co])]);
  // Each tap's filter transposed, [9, co, ci] → [9 · co, ci], to match the gathered (tap, channel) columns.
  const wT = g.node('Reshape', [g.node('Transpose', [g.node('Reshape', [w, g.ints([9, ci, co])])], { perm: { ints: [0, 2, 1] } }), g.ints([9 * co, ci])]);
  return { dW, db, dx: g.node('MatMul', [gathered, wT]) };
}

export interface PoolForward {
  /** The window maxima [n, 1, rest]. */
  pooled: V;
  /** The pool's input viewed as [n, 4, rest]. */
  windows: V;
  rest: number;
}

/** 2×2 max-pool of `z` whose rows come window-major per example (windowMajorOrder): z viewed as [n, 4, rest]. */
export function poolForward(g: GraphBuilder, z: V, rest: number): PoolForward {
  const windows = g.node('Reshape', [z, g.ints([-1, 4, rest])]);
  const pooled = g.node('ReduceMax', [windows], { axes: { ints: [1] }, keepdims: { int: 1 } });
  return { pooled, windows, rest };
}

/** ∂L/∂z [n, 4, rest] from ∂L/∂pooled ([n, 1, rest] or the same values in any shape): each window's gradient to its first maximum. */
export function poolBackward(g: GraphBuilder, p: PoolForward, dPooled: V, rest: number): V {
  // The first maximum without ArgMax (~6× a ReduceMax's time on this middle axis): the window positions
  // equal to the maximum score 4, 3, 2, 1 in window order, and the largest score marks the first of them.
  const rank = g.initializer(`${p.pooled}_rank`, Float32Array.from({ length: 4 * p.rest }, (_, i) => 4 - Math.floor(i / p.rest)), [4, p.rest]);
  const score = g.node('Where', [g.node('Equal', [p.windows, p.pooled]), rank, g.scalar(0)]);
  const isWinner = g.node('Equal', [score, g.node('ReduceMax', [score], { axes: { ints: [1] }, keepdims: { int: 1 } })]);
  return g.node('Where', [isWinner, g.node('Reshape', [dPooled, g.ints([-1, 1, rest])]), g.scalar(0)]);
}
