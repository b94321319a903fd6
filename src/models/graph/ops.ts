/**
 * ONNX operators as typed helpers on a GraphBuilder: each adds one node and returns its output's name.
 * Only the operators the dense layers, the loss and Adam use; each keeps its ONNX name and semantics
 * (broadcasting as numpy; reductions take their axes as an int64 input, as opset 13+ has it).
 */
import type { GraphBuilder } from './builder.js';

type V = string;

export const add = (g: GraphBuilder, a: V, b: V, out?: string): V => g.node('Add', [a, b], {}, out);
export const sub = (g: GraphBuilder, a: V, b: V, out?: string): V => g.node('Sub', [a, b], {}, out);
export const mul = (g: GraphBuilder, a: V, b: V, out?: string): V => g.node('Mul', [a, b], {}, out);
export const div = (g: GraphBuilder, a: V, b: V, out?: string): V => g.node('Div', [a, b], {}, out);
export const sqrt = (g: GraphBuilder, a: V): V => g.node('Sqrt', [a]);
export const neg = (g: GraphBuilder, a: V): V => g.node('Neg', [a]);
export const relu = (g: GraphBuilder, a: V, out?: string): V => g.node('Relu', [a], {}, out);
export const matMul = (g: GraphBuilder, a: V, b: V, out?: string): V => g.node('MatMul', [a, b], {}, out);
export const transpose = (g: GraphBuilder, a: V, perm: readonly number[] = [1, 0]): V => g.node('Transpose', [a], { perm: { ints: perm } });
export const softmax = (g: GraphBuilder, a: V, axis = -1, out?: string): V => g.node('Softmax', [a], { axis: { int: axis } }, out);
export const logSoftmax = (g: GraphBuilder, a: V, axis = -1): V => g.node('LogSoftmax', [a], { axis: { int: axis } });
export const exp = (g: GraphBuilder, a: V): V => g.node('Exp', [a]);
export const greater = (g: GraphBuilder, a: V, b: V): V => g.node('Greater', [a, b]);
export const where = (g: GraphBuilder, cond: V, a: V, b: V): V => g.node('Where', [cond, a, b]);
/** Identity: gives a value a second name (a graph output under the name a caller expects). */
export const identity = (g: GraphBuilder, a: V, out: string): V => g.node('Identity', [a], {}, out);

/** Sum over `axes` (keepdims 0 unless asked). */
export const reduceSum = (g: GraphBuilder, a: V, axes: readonly number[], keepdims = false, out?: string): V =>
  g.node('ReduceSum', [a, g.ints(axes)], { keepdims: { int: keepdims ? 1 : 0 } }, out);

/** Mean over `axes` (opset 17's ReduceMean takes them as an attribute). */
export const reduceMean = (g: GraphBuilder, a: V, axes: readonly number[], keepdims = false, out?: string): V =>
  g.node('ReduceMean', [a], { axes: { ints: axes }, keepdims: { int: keepdims ? 1 : 0 } }, out);

/**
 * General matrix product alpha·op(a)·op(b) (+ c), op = transpose when asked. onnxruntime's CPU Gemm hands
 * the transposes to its GEMM kernel, so dW = xᵀ·dy costs no separate Transpose node or copy.
 */
export function gemm(g: GraphBuilder, a: V, b: V, opts: { c?: V; transA?: boolean; transB?: boolean; alpha?: number; out?: string } = {}): V {
  const attrs = { transA: { int: opts.transA ? 1 : 0 }, transB: { int: opts.transB ? 1 : 0 }, alpha: { float: opts.alpha ?? 1 } };
  return g.node('Gemm', opts.c === undefined ? [a, b] : [a, b, opts.c], attrs, opts.out);
}

/** The number of rows of a 2-D value as a float32 scalar (a batch's size, known only at run time). */
export function rowCount(g: GraphBuilder, a: V): V {
  const shape = g.node('Shape', [a], { start: { int: 0 }, end: { int: 1 } });
  const asFloat = g.node('Cast', [shape], { to: { int: 1 } });
  return g.node('Squeeze', [asFloat, g.ints([0])]);
}

export const sigmoid = (g: GraphBuilder, a: V): V => g.node('Sigmoid', [a]);
export const softplus = (g: GraphBuilder, a: V): V => g.node('Softplus', [a]);
/** Element-wise maximum (numpy broadcasting). */
export const max = (g: GraphBuilder, a: V, b: V): V => g.node('Max', [a, b]);
export const reshape = (g: GraphBuilder, a: V, shape: readonly number[]): V => g.node('Reshape', [a, g.ints(shape)]);
export const unsqueeze = (g: GraphBuilder, a: V, axes: readonly number[]): V => g.node('Unsqueeze', [a, g.ints(axes)]);
export const concat = (g: GraphBuilder, parts: readonly V[], axis: number, out?: string): V => g.node('Concat', parts, { axis: { int: axis } }, out);
/** Splits `a` along `axis` into `count` equal parts. */
export const split = (g: GraphBuilder, a: V, axis: number, count: number): V[] => g.nodeN('Split', [a], { axis: { int: axis } }, count);

/** log Σ exp over `axes` (opset 17 takes them as an attribute). */
export const reduceLogSumExp = (g: GraphBuilder, a: V, axes: readonly number[], keepdims = false): V =>
  g.node('ReduceLogSumExp', [a], { axes: { ints: axes }, keepdims: { int: keepdims ? 1 : 0 } });
