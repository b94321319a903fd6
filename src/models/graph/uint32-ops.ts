/**
 * 32-bit unsigned integer arithmetic (wrapping multiply, xor, shifts) on int64 tensors whose values lie
 * in [0, 2³²), written with opset-17 arithmetic only (Mul, Add, Div, Mod, ReduceSum): ONNX has no
 * bitwise operators before opset 18, and no runtime's int64 Mul may be trusted to wrap. Enough to run
 * integer hashes such as lowbias32 inside a graph, bit for bit as JS's Math.imul and >>> compute them.
 *
 * Multiplying by a constant c splits x into 16-bit halves so no product passes 2⁴⁸:
 *   x·c mod 2³² = (lo·c + 2¹⁶·((hi·c_lo) mod 2¹⁶)) mod 2³²,  x = hi·2¹⁶ + lo,  c = c_hi·2¹⁶ + c_lo.
 * Xor goes through the bits: bit k of a is ⌊a / 2ᵏ⌋ mod 2, and a ⊕ b = Σ_k ((a_k + b_k) mod 2)·2ᵏ.
 */
import type { GraphBuilder } from './builder.js';

type V = string;

const TWO_16 = 2 ** 16;
const TWO_32 = 2 ** 32;

/** 2⁰ … 2³¹ as an int64 constant [32]. */
const powersOfTwo = (g: GraphBuilder): V => g.ints(Array.from({ length: 32 }, (_, k) => 2 ** k));

/** The 32 bits of every value of `a`, least significant first, as a new last axis of 0/1 int64. */
export function bitsOf(g: GraphBuilder, a: V): V {
  const spread = g.node('Div', [g.node('Unsqueeze', [a, g.ints([-1])]), powersOfTwo(g)]);
  return g.node('Mod', [spread, g.ints([2])]);
}

/** a ⊕ b (shapes broadcast). */
export function xorU32(g: GraphBuilder, a: V, b: V): V {
  const bits = g.node('Mod', [g.node('Add', [bitsOf(g, a), bitsOf(g, b)]), g.ints([2])]);
  return g.node('ReduceSum', [g.node('Mul', [bits, powersOfTwo(g)]), g.ints([-1])], { keepdims: { int: 0 } });
}

/** x ⊕ (x >>> k). */
export function xorShiftRightU32(g: GraphBuilder, x: V, k: number): V {
  return xorU32(g, x, g.node('Div', [x, g.ints([2 ** k])]));
}

/** Math.imul(x, c) >>> 0 for a constant c in [0, 2³²). */
export function mulU32(g: GraphBuilder, x: V, c: number): V {
  if (!Number.isInteger(c) || c < 0 || c >= TWO_32) throw new RangeError(`mulU32 needs a 32-bit unsigned constant, got ${c}`);
  const lo = g.node('Mod', [x, g.ints([TWO_16])]);
  const hi = g.node('Div', [x, g.ints([TWO_16])]);
  const cross = g.node('Mod', [g.node('Mul', [hi, g.ints([c % TWO_16])]), g.ints([TWO_16])]);
  const sum = g.node('Add', [g.node('Mul', [lo, g.ints([c])]), g.node('Mul', [cross, g.ints([TWO_16])])]);
  return g.node('Mod', [sum, g.ints([TWO_32])]);
}

/** (a + b) mod 2³². */
export function addU32(g: GraphBuilder, a: V, b: V): V {
  return g.node('Mod', [g.node('Add', [a, b]), g.ints([TWO_32])]);
}

/** lowbias32 (Wellons), the hash embedding-features.ts draws its fixed random rows with. */
export function lowbias32(g: GraphBuilder, x: V): V {
  let h = xorShiftRightU32(g, x, 16);
  h = mulU32(g, h, 0x7feb352d);
  h = xorShiftRightU32(g, h, 15);
  h = mulU32(g, h, 0x846ca68b);
  return xorShiftRightU32(g, h, 16);
}
