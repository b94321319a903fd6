/**
 * Float64 references for the graph tests: random arrays, central finite differences, and the dense
 * classifier's loss written out in plain JS. Every graph gradient is checked against these.
 */
import * as ort from 'onnxruntime-node';
import { Rng } from '../../../src/models/kernels/rng.js';

export function randomArray(rng: Rng, n: number, scale = 1, awayFromZero = 0): Float32Array {
  return Float32Array.from({ length: n }, () => {
    const u = (2 * rng.next() - 1) * scale;
    return u >= 0 ? u + awayFromZero : u - awayFromZero;
  });
}

/** ∂f/∂p[i] for every i, by central differences in float64 (f is evaluated on float64 copies). */
export function numericGradient(f: (p: Float64Array) => number, at: ArrayLike<number>, h = 1e-6): Float64Array {
  const p = Float64Array.from(at);
  return p.map((v, i) => {
    p[i] = v + h;
    const up = f(p);
    p[i] = v - h;
    const down = f(p);
    p[i] = v;
    return (up - down) / (2 * h);
  });
}

/** Largest |a − b| relative to max(1, |b|): float32 graph output against a float64 reference. */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`lengths differ: ${a.length} and ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

/** Runs a model once on float32 inputs (name → [data, dims]) and returns every output's values. */
export async function runGraph(model: Uint8Array, inputs: Record<string, [Float32Array, number[]]>, threads = 1): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  try {
    const feeds = Object.fromEntries(Object.entries(inputs).map(([k, [d, dims]]) => [k, new ort.Tensor('float32', d, dims)]));
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
  } finally {
    await session.release();
  }
}

/** Mean softmax cross-entropy in float64 (rows with all-zero targets add nothing but count in n). */
export function crossEntropy64(logits: ArrayLike<number>, targets: ArrayLike<number>, n: number, c: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let k = 0; k < c; k++) max = Math.max(max, logits[i * c + k]);
    let sum = 0;
    for (let k = 0; k < c; k++) sum += Math.exp(logits[i * c + k] - max);
    const logSum = Math.log(sum) + max;
    for (let k = 0; k < c; k++) total -= targets[i * c + k] * (logits[i * c + k] - logSum);
  }
  return total / n;
}

/** x·W + b in float64 (W [i, o] row-major), then ReLU when asked. */
export function dense64(x: ArrayLike<number>, n: number, w: ArrayLike<number>, b: ArrayLike<number>, i: number, o: number, reluOut: boolean): Float64Array {
  const y = new Float64Array(n * o);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < o; k++) {
      let s = b[k];
      for (let j = 0; j < i; j++) s += x[r * i + j] * w[j * o + k];
      y[r * o + k] = reluOut ? Math.max(0, s) : s;
    }
  }
  return y;
}

/** The dense classifier's mean loss in float64, parameters W0, b0, W1, b1, ... */
export function mlpLoss64(sizes: readonly number[], params: readonly ArrayLike<number>[], x: ArrayLike<number>, targets: ArrayLike<number>, n: number): number {
  let h: ArrayLike<number> = x;
  for (let l = 0; l + 1 < sizes.length; l++) h = dense64(h, n, params[2 * l], params[2 * l + 1], sizes[l], sizes[l + 1], l + 2 < sizes.length);
  return crossEntropy64(h, targets, n, sizes[sizes.length - 1]);
}
