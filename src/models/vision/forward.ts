/**
 * The vision network's forward pass in plain JS, which serves exported models (vision-predictor.ts): a
 * Predictor is synchronous and onnxruntime's runs are not. The layers are written out per example —
 * conv3×3 "same" → ReLU → maxpool 2×2 → conv3×3 "same" → ReLU (→ maxpool 2×2) → dense — on the flat
 * parameters in the training graphs' layout (cnnParamSizes). Sums run in float64 on the float32 weights
 * and each layer's output is stored as float32, as onnxruntime stores it, so the logits agree with the
 * training graph's to float32 rounding (test/training/vision-cnn.test.ts).
 */
import { cnnParamSizes, flatFeatures, hasSecondPool, type CnnLayout } from './cnn.js';

export class VisionForward {
  /** W1 with b1 as its last row ([9c + 1, c1]), W2 [9·c1, c2], b2, W3 [flat, classes], b3: views of one copy. */
  private readonly w1: Float32Array;
  private readonly w2: Float32Array;
  private readonly b2: Float32Array;
  private readonly w3: Float32Array;
  private readonly b3: Float32Array;
  /** One example's maps: the first convolution, its pool, the second convolution and its pool. */
  private readonly conv1: Float32Array;
  private readonly pool1: Float32Array;
  private readonly conv2: Float32Array;
  private readonly pool2: Float32Array;
  /** The dense layer's float64 sums, and one patch's non-zero inputs for the convolutions. */
  private readonly acc: Float64Array;
  private readonly patch: Scratch;

  constructor(
    readonly layout: CnnLayout,
    params: Float32Array,
  ) {
    const sizes = cnnParamSizes(layout);
    const total = sizes.reduce((a, b) => a + b, 0);
    if (params.length !== total) throw new RangeError(`cnn parameters have ${params.length} values, the layout needs ${total}`);
    const copy = Float32Array.from(params);
    // cnnParamSizes lists W1 and b1 apart; together they are the one [9c + 1, c1] matrix the patches' constant 1 multiplies.
    const parts: Float32Array[] = [];
    let offset = 0;
    for (const size of [sizes[0] + sizes[1], ...sizes.slice(2)]) {
      parts.push(copy.subarray(offset, offset + size));
      offset += size;
    }
    [this.w1, this.w2, this.b2, this.w3, this.b3] = parts;
    const { height: h, width: w, filters: [c1, c2], classes } = layout;
    this.conv1 = new Float32Array(h * w * c1);
    this.pool1 = new Float32Array((h / 2) * (w / 2) * c1);
    this.conv2 = new Float32Array((h / 2) * (w / 2) * c2);
    this.pool2 = new Float32Array(hasSecondPool(layout) ? flatFeatures(layout) : 0);
    this.acc = new Float64Array(classes);
    const widest = 9 * Math.max(layout.channels, c1);
    this.patch = { values: new Float64Array(widest), rows: new Int32Array(widest) };
  }

  /** Logits [count, classes] of the `count` inputs in `data` ([count, h, w, c], HWC per example). */
  logits(data: Float32Array, count: number): Float32Array {
    const { height: h, width: w, channels: c, classes } = this.layout;
    const out = new Float32Array(count * classes);
    for (let e = 0; e < count; e++) this.forwardOne(data, e * h * w * c, out, e * classes);
    return out;
  }

  /** Class probabilities [count, classes] (softmax of the logits, in float64) of the `count` inputs in `data`. */
  probabilities(data: Float32Array, count: number): Float32Array {
    const classes = this.layout.classes;
    const p = this.logits(data, count);
    for (let e = 0; e < count; e++) {
      const row = p.subarray(e * classes, (e + 1) * classes);
      let max = -Infinity;
      for (const v of row) max = Math.max(max, v);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      for (let j = 0; j < classes; j++) row[j] = Math.exp(row[j] - max) / sum;
    }
    return p;
  }

  private forwardOne(data: Float32Array, at: number, out: Float32Array, outAt: number): void {
    const { height: h, width: w, channels: c, filters: [c1, c2], classes } = this.layout;
    // ReLU follows the pools here: max and ReLU commute, and the pooled map is a quarter of the values.
    conv3x3(data, at, h, w, c, this.w1, this.w1.subarray(9 * c * c1), c1, this.conv1, this.patch);
    maxPoolRelu(this.conv1, h, w, c1, this.pool1);
    conv3x3(this.pool1, 0, h / 2, w / 2, c1, this.w2, this.b2, c2, this.conv2, this.patch);
    let flat = this.conv2;
    if (hasSecondPool(this.layout)) {
      maxPoolRelu(this.conv2, h / 2, w / 2, c2, this.pool2);
      flat = this.pool2;
    } else {
      for (let i = 0; i < flat.length; i++) if (flat[i] < 0) flat[i] = 0;
    }
    dense(flat, this.w3, this.b3, classes, out, outAt, this.acc);
  }
}

/** One patch's non-zero inputs and, for each, the offset of its row of the filter. */
interface Scratch {
  values: Float64Array;
  rows: Int32Array;
}

/**
 * A 3×3 "same" convolution of the h×w×ci map at `x[at..]` with `wt` ([3, 3, ci, co] = [9·ci, co]) and
 * bias `b` into `y` (h×w×co). Per output position, the patch's non-zero inputs are listed first (after a
 * ReLU, and in many images, most inputs are zero), then each block of four outputs sums over that list in
 * registers: six loads per four multiply-adds instead of a load and a store of each output per input.
 */
function conv3x3(x: Float32Array, at: number, h: number, w: number, ci: number, wt: Float32Array, b: Float32Array, co: number, y: Float32Array, scratch: Scratch): void {
  const { values, rows } = scratch;
  const co4 = co - (co % 4);
  for (let py = 0; py < h; py++) {
    for (let px = 0; px < w; px++) {
      let m = 0;
      for (let t = 0; t < 9; t++) {
        const sy = py + ((t / 3) | 0) - 1;
        const sx = px + (t % 3) - 1;
        if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
        const src = at + (sy * w + sx) * ci;
        for (let i = 0; i < ci; i++) {
          const v = x[src + i];
          if (v === 0) continue;
          values[m] = v;
          rows[m++] = (t * ci + i) * co;
        }
      }
      const dst = (py * w + px) * co;
      for (let o = 0; o < co4; o += 4) {
        let s0 = b[o], s1 = b[o + 1], s2 = b[o + 2], s3 = b[o + 3];
        for (let j = 0; j < m; j++) {
          const v = values[j];
          const r = rows[j] + o;
          s0 += v * wt[r];
          s1 += v * wt[r + 1];
          s2 += v * wt[r + 2];
          s3 += v * wt[r + 3];
        }
        y[dst + o] = s0;
        y[dst + o + 1] = s1;
        y[dst + o + 2] = s2;
        y[dst + o + 3] = s3;
      }
      for (let o = co4; o < co; o++) {
        let s = b[o];
        for (let j = 0; j < m; j++) s += values[j] * wt[rows[j] + o];
        y[dst + o] = s;
      }
    }
  }
}

/** 2×2 max-pool of the h×w×c map `x` into `y`, then ReLU; compares written out, at half Math.max's time in a profile. */
function maxPoolRelu(x: Float32Array, h: number, w: number, c: number, y: Float32Array): void {
  const pw = w / 2;
  let dst = 0;
  for (let py = 0; py < h / 2; py++) {
    for (let px = 0; px < pw; px++) {
      const a = (2 * py * w + 2 * px) * c;
      const b = a + w * c;
      for (let k = 0; k < c; k++, dst++) {
        let m = 0;
        const v0 = x[a + k], v1 = x[a + c + k], v2 = x[b + k], v3 = x[b + c + k];
        if (v0 > m) m = v0;
        if (v1 > m) m = v1;
        if (v2 > m) m = v2;
        if (v3 > m) m = v3;
        y[dst] = m;
      }
    }
  }
}

/** `x` (flat) @ `wt` ([x.length, n]) + `b` into `out[at..at + n)`. */
function dense(x: Float32Array, wt: Float32Array, b: Float32Array, n: number, out: Float32Array, at: number, acc: Float64Array): void {
  for (let j = 0; j < n; j++) acc[j] = b[j];
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v === 0) continue;
    const row = i * n;
    for (let j = 0; j < n; j++) acc[j] += v * wt[row + j];
  }
  for (let j = 0; j < n; j++) out[at + j] = acc[j];
}
