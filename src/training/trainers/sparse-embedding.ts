/**
 * A trainable embedding table kept in plain JS typed arrays, updated only on the rows a batch used (as
 * fastText and PyTorch's SparseAdam do): the wasm backend cannot take gather's gradient, and a dense update
 * of the whole table every step costs a minute per epoch, against well under a second this way.
 *
 * The optimizer is lazy Adam: moments of rows a batch did not touch are left alone, and bias correction
 * uses the global step, as TF's LazyAdam does. Two options make it cheaper for large tables:
 * - `secondMoment` `'row'` keeps one second moment per row (the mean squared gradient over the row, FBGEMM's
 *   "partial rowwise Adam") instead of one per element: one square root per row, not per element;
 * - `firstMoment` false drops momentum (β1 = 0), which leaves row-wise RMSprop with Adam's bias correction,
 *   close to the row-wise Adagrad recommendation systems use for embedding tables. Momentum does little for
 *   rows that are touched now and then, and dropping it halves the optimizer's memory and traffic.
 * On SNIPS both matched element-wise Adam's accuracy (0.986 test) at about 40 % less update time.
 *
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
export function poolRows(table: Float32Array, dim: number, x: FeatureMatrix, order: ArrayLike<number>, start: number, end: number, out: Float32Array): void {
  out.fill(0, 0, (end - start) * dim);
  for (let b = 0; b < end - start; b++) {
    const ex = order[start + b];
    const o = b * dim;
    for (let k = x.offsets[ex]; k < x.offsets[ex + 1]; k++) {
      const w = x.weights[k];
      const base = x.rows[k] * dim;
      // Unrolled by hand (V8 does not): ~25 % faster, and each element still adds in the same order.
      let d = 0;
      for (; d + 3 < dim; d += 4) {
        out[o + d] += w * table[base + d];
        out[o + d + 1] += w * table[base + d + 1];
        out[o + d + 2] += w * table[base + d + 2];
        out[o + d + 3] += w * table[base + d + 3];
      }
      for (; d < dim; d++) out[o + d] += w * table[base + d];
    }
  }
}

/** Where Adam keeps its second moment; see the file comment. */
export type SecondMoment = 'element' | 'row';

export class SparseEmbedding {
  readonly table: Float32Array;
  /** Adam's first moment, one per table element ([rows, dim]); empty without `firstMoment`. */
  readonly m: Float32Array;
  /** Adam's second moment: [rows, dim] for `'element'`, [rows] for `'row'`. */
  readonly v: Float32Array;
  /** The gradient of the rows touched by the current batch, packed in first-touch order. */
  private grad = new Float32Array(0);
  /** row → its slot in `grad` during a batch, -1 otherwise. */
  private readonly slot: Int32Array;
  private readonly touched: number[] = [];

  /**
   * `secondMoment` default `'element'` (plain Adam); `firstMoment` (momentum) default true, and false only
   * with `secondMoment: 'row'`. See the file comment.
   */
  constructor(
    readonly rows: number,
    readonly dim: number,
    readonly secondMoment: SecondMoment = 'element',
    readonly firstMoment = true,
  ) {
    if (!firstMoment && secondMoment !== 'row') throw new RangeError("firstMoment false needs secondMoment 'row'");
    this.table = new Float32Array(rows * dim);
    this.m = new Float32Array(firstMoment ? rows * dim : 0);
    this.v = new Float32Array(secondMoment === 'row' ? rows : rows * dim);
    this.slot = new Int32Array(rows).fill(-1);
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
    this.scatter(x, order, start, end, dPooled);
    // Without a first moment there is no momentum bias to correct: β1 = 0 makes that factor 1.
    const step = adamStepSize(this.firstMoment ? adam : { ...adam, beta1: 0 }, t);
    if (this.secondMoment === 'element') this.elementwiseAdam(adam, step);
    else if (this.firstMoment) this.rowwiseAdam(adam, step);
    else this.rowwiseRmsprop(adam, step);
    for (const r of this.touched) this.slot[r] = -1;
    this.touched.length = 0;
  }

  /** Sums each touched row's gradient into `grad`, one packed slot per row in first-touch order. */
  private scatter(x: FeatureMatrix, order: ArrayLike<number>, start: number, end: number, dPooled: Float32Array): void {
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
        const w = x.weights[k];
        let s = slot[r];
        if (s < 0) {
          s = slot[r] = touched.length;
          touched.push(r);
          const g = s * dim;
          // 0 + …: exactly what adding to a zeroed slot gives (no -0), without zeroing it first.
          for (let d = 0; d < dim; d++) grad[g + d] = 0 + w * dPooled[o + d];
          continue;
        }
        const g = s * dim;
        let d = 0;
        for (; d + 3 < dim; d += 4) {
          grad[g + d] += w * dPooled[o + d];
          grad[g + d + 1] += w * dPooled[o + d + 1];
          grad[g + d + 2] += w * dPooled[o + d + 2];
          grad[g + d + 3] += w * dPooled[o + d + 3];
        }
        for (; d < dim; d++) grad[g + d] += w * dPooled[o + d];
      }
    }
  }

  // In both steps, fround continues from exactly the float32 moments stored, as a resumed run does.
  private elementwiseAdam(adam: AdamSettings, step: number): void {
    const { dim, touched, grad, table, m, v } = this;
    const { beta1, beta2, epsilon } = adam;
    const c1 = 1 - beta1;
    const c2 = 1 - beta2;
    const fround = Math.fround;
    for (let s = 0; s < touched.length; s++) {
      const base = touched[s] * dim;
      const g0 = s * dim;
      for (let d = 0; d < dim; d++) {
        const i = base + d;
        const g = grad[g0 + d];
        const mi = (m[i] = fround(beta1 * m[i] + c1 * g));
        const vi = (v[i] = fround(beta2 * v[i] + c2 * g * g));
        table[i] -= (step * mi) / (Math.sqrt(vi) + epsilon);
      }
    }
  }

  private rowwiseAdam(adam: AdamSettings, step: number): void {
    const { dim, touched, grad, table, m, v } = this;
    const { beta1, beta2, epsilon } = adam;
    const c1 = 1 - beta1;
    const c2 = (1 - beta2) / dim;
    const fround = Math.fround;
    for (let s = 0; s < touched.length; s++) {
      const r = touched[s];
      const base = r * dim;
      const g0 = s * dim;
      let gg = 0;
      for (let d = 0; d < dim; d++) gg += grad[g0 + d] * grad[g0 + d];
      const vr = (v[r] = fround(beta2 * v[r] + c2 * gg));
      const scale = step / (Math.sqrt(vr) + epsilon);
      for (let d = 0; d < dim; d++) {
        const i = base + d;
        const mi = (m[i] = fround(beta1 * m[i] + c1 * grad[g0 + d]));
        table[i] -= scale * mi;
      }
    }
  }

  /** Row-wise Adam without the first moment: the row's gradient scaled by its running RMS. */
  private rowwiseRmsprop(adam: AdamSettings, step: number): void {
    const { dim, touched, grad, table, v } = this;
    const { beta2, epsilon } = adam;
    const c2 = (1 - beta2) / dim;
    for (let s = 0; s < touched.length; s++) {
      const r = touched[s];
      const base = r * dim;
      const g0 = s * dim;
      let gg = 0;
      for (let d = 0; d < dim; d++) gg += grad[g0 + d] * grad[g0 + d];
      const vr = (v[r] = Math.fround(beta2 * v[r] + c2 * gg));
      const scale = step / (Math.sqrt(vr) + epsilon);
      for (let d = 0; d < dim; d++) table[base + d] -= scale * grad[g0 + d];
    }
  }
}
