/**
 * A trainable embedding table kept in plain JS typed arrays, with lazy Adam that touches only the rows a
 * batch used (as fastText and PyTorch's SparseAdam do). The wasm backend cannot take gather's gradient,
 * and a dense update of the whole table every step costs a minute per epoch; by row count this is tiny.
 * All arithmetic is float64 rounded to float32 on store, in a fixed order, so runs repeat bit for bit.
 */
import type { Rng } from '../rng.js';
import type { FeatureMatrix } from './nlu-features.js';

/** Adam's constants, shared by the sparse table and the dense head so both read the same way. */
export interface AdamSettings {
  /** Step size. */
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Adam's bias-corrected step size for step `t` (1-based), computed once in float64 for every parameter. */
export function adamStepSize(s: AdamSettings, t: number): number {
  return (s.learningRate * Math.sqrt(1 - Math.pow(s.beta2, t))) / (1 - Math.pow(s.beta1, t));
}

/**
 * Writes the weighted sum of each example's table rows into `out` ([n, dim], row-major, float32 after every
 * add) for the examples `order[start..end)`. Training and the plain-JS predictor both pool through here, so
 * they see the very same vectors.
 */
const ROWWISE = process.env.NLU_ROWWISE === '1';
export function poolRows(table: Float32Array, dim: number, x: FeatureMatrix, order: ArrayLike<number>, start: number, end: number, out: Float32Array): void {
  out.fill(0, 0, (end - start) * dim);
  for (let b = 0; b < end - start; b++) {
    const ex = order[start + b];
    const o = b * dim;
    for (let k = x.offsets[ex]; k < x.offsets[ex + 1]; k++) {
      const w = x.weights[k];
      const base = x.rows[k] * dim;
      for (let d = 0; d < dim; d++) out[o + d] += w * table[base + d];
    }
  }
}

export class SparseEmbedding {
  readonly table: Float32Array;
  /** Adam's first and second moments, one per table element. */
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** The gradient of the rows touched by the current batch, packed in first-touch order. */
  private grad = new Float32Array(0);
  /** row → its slot in `grad` during a batch, -1 otherwise. */
  private readonly slot: Int32Array;
  private touched: number[] = [];
  readonly vRow: Float32Array;

  constructor(
    readonly rows: number,
    readonly dim: number,
  ) {
    this.table = new Float32Array(rows * dim);
    this.m = new Float32Array(rows * dim);
    this.v = new Float32Array(rows * dim);
    this.slot = new Int32Array(rows).fill(-1);
    this.vRow = new Float32Array(rows);
  }

  /** Uniform in [-limit, limit), row by row, from the job's generator. */
  initUniform(rng: Rng, limit: number): void {
    for (let i = 0; i < this.table.length; i++) this.table[i] = (2 * rng.next() - 1) * limit;
  }

  /** Pools examples `order[start..end)` into `out`; see poolRows. */
  pool(x: FeatureMatrix, order: ArrayLike<number>, start: number, end: number, out: Float32Array): void {
    poolRows(this.table, this.dim, x, order, start, end, out);
  }

  /**
   * Scatters the gradient w.r.t. the pooled vectors (`dPooled`, [n, dim]) onto the rows the examples used,
   * then takes one lazy Adam step (global step `t`) on exactly those rows.
   */
  applyGradient(x: FeatureMatrix, order: ArrayLike<number>, start: number, end: number, dPooled: Float32Array, adam: AdamSettings, t: number): void {
    const { dim, slot, touched } = this;
    let need = 0;
    for (let b = start; b < end; b++) need += x.offsets[order[b] + 1] - x.offsets[order[b]];
    if (this.grad.length < need * dim) this.grad = new Float32Array(need * dim);
    const grad = this.grad;
    for (let b = 0; b < end - start; b++) {
      const ex = order[start + b];
      const o = b * dim;
      for (let k = x.offsets[ex]; k < x.offsets[ex + 1]; k++) {
        const r = x.rows[k];
        let s = slot[r];
        if (s < 0) {
          s = slot[r] = touched.length;
          touched.push(r);
          grad.fill(0, s * dim, (s + 1) * dim);
        }
        const w = x.weights[k];
        const g = s * dim;
        for (let d = 0; d < dim; d++) grad[g + d] += w * dPooled[o + d];
      }
    }
    const step = adamStepSize(adam, t);
    const { beta1, beta2, epsilon } = adam;
    const c1 = 1 - beta1;
    const c2 = 1 - beta2;
    const { table, m, v } = this;
    const fround = Math.fround;
    if (ROWWISE) {
      const vr = this.vRow;
      for (let s = 0; s < touched.length; s++) {
        const r = touched[s];
        const base = r * dim;
        const g0 = s * dim;
        let gg = 0;
        for (let d = 0; d < dim; d++) gg += grad[g0 + d] * grad[g0 + d];
        const vi = (vr[r] = fround(beta2 * vr[r] + (c2 * gg) / dim));
        const scale = step / (Math.sqrt(vi) + epsilon);
        for (let d = 0; d < dim; d++) {
          const i = base + d;
          const mi = (m[i] = fround(beta1 * m[i] + c1 * grad[g0 + d]));
          table[i] -= scale * mi;
        }
        slot[r] = -1;
      }
    } else {
    for (let s = 0; s < touched.length; s++) {
      const base = touched[s] * dim;
      const g0 = s * dim;
      for (let d = 0; d < dim; d++) {
        const i = base + d;
        const g = grad[g0 + d];
        // fround: use exactly the float32 moments stored, as a run resumed from a checkpoint would.
        const mi = (m[i] = fround(beta1 * m[i] + c1 * g));
        const vi = (v[i] = fround(beta2 * v[i] + c2 * g * g));
        table[i] -= (step * mi) / (Math.sqrt(vi) + epsilon);
      }
      slot[touched[s]] = -1;
    }
    }
    touched.length = 0;
  }
}
