import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/training/rng.js';
import { initTf, type Tf } from '../../src/training/tf.js';
import { softmaxCrossEntropy } from '../../src/training/trainers/dense-step.js';
import { cnnParamSizes, flatFeatures, hasSecondPool, initCnnParams, VisionCnn, type CnnLayout } from '../../src/training/trainers/vision-cnn.js';

/** A 3×3 "same" convolution in float64: x [n, h, w, ci], w [3, 3, ci, co], b [co]. */
function conv(x: Float64Array, n: number, h: number, w: number, ci: number, wt: Float64Array, b: Float64Array, co: number): Float64Array {
  const out = new Float64Array(n * h * w * co);
  for (let e = 0; e < n; e++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let o = 0; o < co; o++) {
          let s = b[o];
          for (let tap = 0; tap < 9; tap++) {
            const sy = y + Math.floor(tap / 3) - 1;
            const sx = xx + (tap % 3) - 1;
            if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
            for (let i = 0; i < ci; i++) s += x[((e * h + sy) * w + sx) * ci + i] * wt[(tap * ci + i) * co + o];
          }
          out[((e * h + y) * w + xx) * co + o] = s;
        }
  return out;
}

/** Gradients of `conv` w.r.t. its input, filter and bias, given dy. */
function convBack(x: Float64Array, n: number, h: number, w: number, ci: number, wt: Float64Array, co: number, dy: Float64Array) {
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(wt.length);
  const db = new Float64Array(co);
  for (let e = 0; e < n; e++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let o = 0; o < co; o++) {
          const g = dy[((e * h + y) * w + xx) * co + o];
          db[o] += g;
          for (let tap = 0; tap < 9; tap++) {
            const sy = y + Math.floor(tap / 3) - 1;
            const sx = xx + (tap % 3) - 1;
            if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
            for (let i = 0; i < ci; i++) {
              const xi = ((e * h + sy) * w + sx) * ci + i;
              dw[(tap * ci + i) * co + o] += x[xi] * g;
              dx[xi] += wt[(tap * ci + i) * co + o] * g;
            }
          }
        }
  return { dx, dw, db };
}

/** relu(maxPool2×2(z)) and, per output, the index in z of its window's first maximal input. */
function poolRelu(z: Float64Array, n: number, h: number, w: number, c: number) {
  const out = new Float64Array((n * h * w * c) / 4);
  const from = new Int32Array(out.length);
  let o = 0;
  for (let e = 0; e < n; e++)
    for (let py = 0; py < h / 2; py++)
      for (let px = 0; px < w / 2; px++)
        for (let ch = 0; ch < c; ch++, o++) {
          let best = -Infinity;
          for (let q = 0; q < 4; q++) {
            const i = ((e * h + 2 * py + (q >> 1)) * w + 2 * px + (q & 1)) * c + ch;
            if (z[i] > best) {
              best = z[i];
              from[o] = i;
            }
          }
          out[o] = Math.max(best, 0);
        }
  return { out, from };
}

/** The network's loss gradient in float64, written the plain way: every parameter, `params` order. */
function referenceGradient(l: CnnLayout, params: Float32Array, x: Float32Array, labels: Int32Array, n: number, smoothing: number): Float64Array {
  const [c1, c2] = l.filters;
  const { height: h, width: w, channels: c, classes } = l;
  const sizes = cnnParamSizes(l);
  const parts: Float64Array[] = [];
  let at = 0;
  for (const s of sizes) {
    parts.push(Float64Array.from(params.subarray(at, at + s)));
    at += s;
  }
  const [w1, b1, w2, b2, w3, b3] = parts;
  const z1 = conv(Float64Array.from(x), n, h, w, c, w1, b1, c1);
  const p1 = poolRelu(z1, n, h, w, c1);
  const z2 = conv(p1.out, n, h / 2, w / 2, c1, w2, b2, c2);
  const second = hasSecondPool(l);
  const p2 = second ? poolRelu(z2, n, h / 2, w / 2, c2) : undefined;
  const flat = p2 ? p2.out : z2.map((v) => Math.max(v, 0));
  const f = flatFeatures(l);
  const dLogits = new Float64Array(n * classes);
  for (let e = 0; e < n; e++) {
    const logits = Array.from({ length: classes }, (_, j) => {
      let s = b3[j];
      for (let k = 0; k < f; k++) s += flat[e * f + k] * w3[k * classes + j];
      return s;
    });
    const max = Math.max(...logits);
    const sum = logits.reduce((a, v) => a + Math.exp(v - max), 0);
    for (let j = 0; j < classes; j++) dLogits[e * classes + j] = (Math.exp(logits[j] - max) / sum - ((j === labels[e] ? 1 - smoothing : 0) + smoothing / classes)) / n;
  }
  const dw3 = new Float64Array(w3.length);
  const db3 = new Float64Array(classes);
  const dFlat = new Float64Array(flat.length);
  for (let e = 0; e < n; e++)
    for (let j = 0; j < classes; j++) {
      const g = dLogits[e * classes + j];
      db3[j] += g;
      for (let k = 0; k < f; k++) {
        dw3[k * classes + j] += flat[e * f + k] * g;
        dFlat[e * f + k] += w3[k * classes + j] * g;
      }
    }
  const dz2 = new Float64Array(z2.length);
  if (p2) p2.from.forEach((i, o) => (dz2[i] += p2.out[o] > 0 ? dFlat[o] : 0));
  else z2.forEach((v, i) => (dz2[i] = v > 0 ? dFlat[i] : 0));
  const g2 = convBack(p1.out, n, h / 2, w / 2, c1, w2, c2, dz2);
  const dz1 = new Float64Array(z1.length);
  p1.from.forEach((i, o) => (dz1[i] += p1.out[o] > 0 ? g2.dx[o] : 0));
  const g1 = convBack(Float64Array.from(x), n, h, w, c, w1, c1, dz1);
  const grad = new Float64Array(params.length);
  let offset = 0;
  for (const g of [g1.dw, g1.db, g2.dw, g2.db, dw3, db3]) {
    grad.set(g, offset);
    offset += g.length;
  }
  return grad;
}

let tf: Tf;
beforeAll(async () => {
  tf = await initTf();
});

describe('VisionCnn', () => {
  it.each([
    ['8×8 grey, one pool each side of conv 2', { height: 8, width: 8, channels: 1, filters: [4, 6], classes: 3 }],
    ['16×16 RGB, pooled after both convolutions', { height: 16, width: 16, channels: 3, filters: [3, 5], classes: 4 }],
    ['12×8 grey, not square', { height: 12, width: 8, channels: 1, filters: [2, 3], classes: 5 }],
  ] as [string, CnnLayout][])('computes the gradient of the smoothed cross-entropy a plain float64 reference does (%s)', (_name, layout) => {
    const rng = new Rng(3);
    const n = 5;
    const x = Float32Array.from({ length: n * layout.height * layout.width * layout.channels }, () => rng.next());
    const labels = Int32Array.from({ length: n }, (_, i) => i % layout.classes);
    const params = initCnnParams(layout, rng);
    // Non-zero biases, so the gradient through them is exercised too.
    for (let i = 0; i < params.length; i++) if (params[i] === 0) params[i] = 0.05 * (rng.next() - 0.5);
    const cnn = new VisionCnn(tf, layout, params);
    const grad = new Float32Array(params.length);
    const before = tf.memory().numTensors;
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    cnn.gradient(x, order, 0, n, (logits, dLogits) => softmaxCrossEntropy(logits, labels, n, layout.classes, 0.1, dLogits), grad);
    expect(tf.memory().numTensors).toBe(before);
    const ref = referenceGradient(layout, params, x, labels, n, 0.1);
    let offset = 0;
    for (const size of cnnParamSizes(layout)) {
      let diff = 0;
      let norm = 0;
      for (let i = offset; i < offset + size; i++) {
        diff += (grad[i] - ref[i]) ** 2;
        norm += ref[i] ** 2;
      }
      expect(Math.sqrt(diff)).toBeLessThanOrEqual(1e-4 * Math.sqrt(norm) + 1e-9);
      offset += size;
    }
    cnn.dispose();
  });
});
