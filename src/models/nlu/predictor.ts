/**
 * Serves an exported nlu model in plain JS: one example is a few hundred hashes and a few thousand
 * multiply-adds, far below the fixed cost of a call into a native engine. The dense layers run in float64
 * on the float32 weights, so probabilities agree with the onnxruntime forward to float32 rounding. A hidden-layer
 * model pools through the function training uses; a linear one sums precomputed rows (projectTable).
 */
import { TrainingInvalidRequest } from '../../errors.js';
import { TextFeaturizer, inputText } from './features.js';
import type { NluScopeCalibration } from './calibration.js';
import { readNluModel, type NluModel } from './files.js';
import { poolRows } from '../kernels/sparse-embedding.js';
import type { Predictor } from '../types.js';

/** How many ranked intents a prediction lists. */
export const NLU_TOP_K = 5;

export interface NluPrediction extends Record<string, unknown> {
  intent: string;
  confidence: number;
  /**
   * Whether the text is one of the intents the model knows: some word of it is common in training and
   * `confidence` reaches the threshold, both calibrated at export (calibration.ts). Models exported
   * before the word check answer on confidence alone; those exported before calibration existed, without
   * `in_scope`.
   */
  in_scope?: boolean;
  top_k: { intent: string; score: number }[];
}

export class NluPredictor implements Predictor {
  readonly modelType = 'nlu' as const;
  private readonly featurizer: TextFeaturizer;
  private readonly pooled: Float32Array;
  private readonly single = [0];
  /** Each dense layer's output, reused from one prediction to the next (the last one is the logits). */
  private readonly outputs: Float64Array[];
  /** The linear path's weighted row sums before they are divided by the total weight. */
  private readonly sums: Float64Array;
  /** A linear head's table, precomputed (projectTable); null for a model with hidden layers. */
  private readonly linear: LinearTable | null;
  /** The calibrated `in_scope` threshold; undefined for a model without calibration. */
  private readonly threshold: number | undefined;
  /** The word check: the text's most frequent word must have a row below this (Infinity without the check). */
  private readonly supportRows: number;
  /** Written so the touch loop of linearProbabilities is not dropped as dead code. */
  private touched = 0;

  constructor(private readonly model: NluModel) {
    this.featurizer = new TextFeaturizer(model.vocab);
    this.pooled = new Float32Array(model.layerSizes[0]);
    this.outputs = model.layerSizes.slice(1).map((n) => new Float64Array(n));
    // Whole blocks of the padded row (sumBlock writes eight at a time).
    this.sums = new Float64Array(projectedStride(model.layerSizes[1]));
    this.linear = model.layerSizes.length === 2 ? projectTable(model, this.featurizer) : null;
    this.threshold = model.calibration?.threshold;
    this.supportRows = model.calibration?.word_support?.rows ?? Infinity;
  }

  get labels(): readonly string[] {
    return this.model.labels;
  }

  /** The `in_scope` calibration the model was exported with, if any. */
  get calibration(): NluScopeCalibration | undefined {
    return this.model.calibration;
  }

  /** Class probabilities for one text, in label order. */
  probabilities(text: string): Float64Array {
    return this.forward(text).slice();
  }

  /** The probabilities in the last layer's buffer: valid until the next call. */
  private forward(text: string): Float64Array {
    if (this.linear) return this.linearProbabilities(text);
    const { model } = this;
    const x = this.featurizer.featurize(text);
    poolRows(model.table, model.layerSizes[0], x, this.single, 0, 1, this.pooled);
    let h: ArrayLike<number> = this.pooled;
    const sizes = model.layerSizes;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const w = model.head[2 * l];
      const out = this.outputs[l];
      out.set(model.head[2 * l + 1]);
      const nOut = sizes[l + 1];
      for (let i = 0; i < sizes[l]; i++) {
        const hi = h[i];
        if (hi === 0) continue;
        const row = i * nOut;
        for (let j = 0; j < nOut; j++) out[j] += hi * w[row + j];
      }
      if (l + 2 < sizes.length) for (let j = 0; j < nOut; j++) out[j] = Math.max(0, out[j]);
      h = out;
    }
    return softmaxInPlace(h as Float64Array);
  }

  /**
   * bias + Σ weight·projected[rank] over the text's features. The weighted mean training pools is
   * Σ_rows (count·w_row / total)·row; summed per feature occurrence as Σ w_row·row / total it needs no
   * sort and no merging of repeated rows, and differs from training's float32 weights by float rounding only.
   */
  private linearProbabilities(text: string): Float64Array {
    const count = this.featurizer.ranksOf(text);
    const ranks = this.featurizer.known;
    const { projected, stride, weights, weightStride, weightOffset } = this.linear!;
    const nOut = this.model.layerSizes[1];
    const sums = this.sums;
    // Touch each row first: these loads do not wait on one another, so their cache misses overlap, where
    // the sums below would take them one row at a time. The total weight comes on the way.
    let touched = 0;
    let total = 0;
    for (let k = 0; k < count; k++) {
      const r = ranks[k];
      touched += projected[r * stride];
      total += weights === null ? 1 : weights[r * weightStride + weightOffset];
    }
    this.touched = touched;
    if (stride % BLOCK === 0) {
      for (let j = 0; j < nOut; j += BLOCK) sumBlock(this.linear!, j, ranks, count, sums);
    } else {
      sums.fill(0);
      for (let k = 0; k < count; k++) {
        const r = ranks[k];
        const w = weights === null ? 1 : weights[r * weightStride + weightOffset];
        const base = r * stride;
        for (let j = 0; j < nOut; j++) sums[j] += w * projected[base + j];
      }
    }
    const logits = this.outputs[0];
    logits.set(this.model.head[1]);
    if (total > 0) for (let j = 0; j < nOut; j++) logits[j] += sums[j] / total;
    return softmaxInPlace(logits);
  }

  predict(input: Record<string, unknown>): NluPrediction {
    const text = input === null || typeof input !== 'object' ? undefined : inputText(input);
    if (text === undefined) throw TrainingInvalidRequest('input.text must be a non-empty string');
    const p = this.forward(text);
    const top = topK(p, NLU_TOP_K).map((j) => ({ intent: this.model.labels[j], score: p[j] }));
    const confidence = top[0].score;
    if (this.threshold === undefined) return { intent: top[0].intent, confidence, top_k: top };
    // forward() left the text's words in the featurizer.
    const inScope = confidence >= this.threshold && (this.supportRows === Infinity || this.featurizer.hasWordBelow(this.supportRows));
    return { intent: top[0].intent, confidence, in_scope: inScope, top_k: top };
  }

  dispose(): void {
    // Plain arrays only: nothing to free beyond what the garbage collector takes.
  }
}

/**
 * The indices of the k largest values, largest first and the lower index first among equals: the first k
 * of a sort by (value descending, index ascending), found in k passes instead of sorting every class.
 */
export function topK(p: Float64Array, k: number): number[] {
  // A NaN compares false either way: leave such a vector to the sort, whose order it defines.
  for (let j = 0; j < p.length; j++) if (Number.isNaN(p[j])) return Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b).slice(0, k);
  const out: number[] = [];
  let lastValue = Infinity;
  let lastIndex = -1;
  for (let r = 0; r < k && r < p.length; r++) {
    let best = -1;
    for (let j = 0; j < p.length; j++) {
      const v = p[j];
      // Ranked after the last pick: smaller, or equal with a higher index.
      if (!(v < lastValue || (v === lastValue && j > lastIndex))) continue;
      if (best < 0 || v > p[best]) best = j;
    }
    out.push(best);
    lastValue = p[best];
    lastIndex = best;
  }
  return out;
}

export async function loadNluPredictor(dir: string): Promise<NluPredictor> {
  return new NluPredictor(await readNluModel(dir));
}

/** Columns summed per pass of sumBlock: eight float32s are a 32-byte half line. */
const BLOCK = 8;

/**
 * sums[j0 .. j0+8) = Σ_k w(rank k)·projected[rank k, j0 .. j0+8), over the text's ranks in order. Eight
 * named accumulators stay in registers, where a loop over `sums[j]` loads and stores each one per row
 * (prime spent about half of a prediction in that loop). The additions happen in the same order as the
 * plain loop's, so the sums are bit for bit the same. Training's weightedRowSum (sparse-embedding.ts) has
 * the same shape but sums into float32 by position; this one keeps float64 and reads weights by rank.
 */
function sumBlock(table: LinearTable, j0: number, ranks: Int32Array, count: number, sums: Float64Array): void {
  const { projected, stride, weights, weightStride, weightOffset } = table;
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0,
    s4 = 0,
    s5 = 0,
    s6 = 0,
    s7 = 0;
  for (let k = 0; k < count; k++) {
    const r = ranks[k];
    const w = weights === null ? 1 : weights[r * weightStride + weightOffset];
    const b = r * stride + j0;
    s0 += w * projected[b];
    s1 += w * projected[b + 1];
    s2 += w * projected[b + 2];
    s3 += w * projected[b + 3];
    s4 += w * projected[b + 4];
    s5 += w * projected[b + 5];
    s6 += w * projected[b + 6];
    s7 += w * projected[b + 7];
  }
  sums[j0] = s0;
  sums[j0 + 1] = s1;
  sums[j0 + 2] = s2;
  sums[j0 + 3] = s3;
  sums[j0 + 4] = s4;
  sums[j0 + 5] = s5;
  sums[j0 + 6] = s6;
  sums[j0 + 7] = s7;
}

function softmaxInPlace(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) max = Math.max(max, logits[j]);
  let sum = 0;
  for (let j = 0; j < logits.length; j++) sum += logits[j] = Math.exp(logits[j] - max);
  for (let j = 0; j < logits.length; j++) logits[j] /= sum;
  return logits;
}

/** Float32 elements per cache line: a projected row never straddles two. */
const LINE_FLOAT32S = 16;
const WASM_PAGE_BYTES = 65_536;

/** The one WebAssembly API used here; lib.dom, which declares it, is not part of the build. Absent under --jitless. */
declare const WebAssembly: { Memory: new (descriptor: { initial: number; maximum?: number }) => { readonly buffer: ArrayBuffer } } | undefined;

/** A zeroed float32 array starting on a page boundary (so on a cache-line boundary) when WebAssembly is there. */
function pageAlignedFloat32s(length: number): Float32Array {
  if (typeof WebAssembly === 'undefined') return new Float32Array(length);
  const pages = Math.ceil((length * 4) / WASM_PAGE_BYTES);
  return new Float32Array(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, length);
}

/** Elements per projected row: the next power of two up to a cache line, whole lines beyond. */
function projectedStride(nOut: number): number {
  if (nOut > LINE_FLOAT32S) return Math.ceil(nOut / LINE_FLOAT32S) * LINE_FLOAT32S;
  let stride = 1;
  while (stride < nOut) stride *= 2;
  return stride;
}

/**
 * A linear head's embedding table already multiplied by W ([rows, classes]): the logits are then a
 * weighted sum of ~100 short rows instead of ~100 rows of the wide table, which serving reads at random
 * and which does not fit in cache. Same algebra (W·mean(rows) = mean(W·rows)).
 */
interface LinearTable {
  /** Row r·stride is the table row of rank r, in float32 (the precision of the weights it comes from). */
  readonly projected: Float32Array;
  readonly stride: number;
  /**
   * The idf weight of rank r is weights[r·weightStride + weightOffset]; null when all are 1. Where a row
   * has padding, its first padding column holds the weight (weights is `projected`), so a feature costs
   * one random read, not two; otherwise it is the separate array by rank.
   */
  readonly weights: Float32Array | null;
  readonly weightStride: number;
  readonly weightOffset: number;
}

/**
 * table · W0 in the featurizer's rank order, so a feature's rank indexes the table directly (one random
 * read less per feature than rank → row → table). Each row is computed in float64, stored as float32 and
 * padded to a power of two in a page-aligned buffer, so no row straddles two cache lines: ~100 random rows
 * cost one cache miss each, in 3.2 MB for SNIPS's 99k rows and 7 intents. A WebAssembly.Memory is only the
 * way to get that alignment: an ArrayBuffer's start is merely 8- or 16-byte aligned. (Measured in prime
 * under load: 12.7 µs per prediction with a float64 table by row, 11.8 in float32, 10.9 by rank.)
 */
function projectTable(model: NluModel, featurizer: TextFeaturizer): LinearTable {
  const [dim, nOut] = model.layerSizes;
  const rows = model.table.length / dim;
  const w = model.head[0];
  const stride = projectedStride(nOut);
  const projected = pageAlignedFloat32s(rows * stride);
  const rowOfRank = featurizer.rowOfRank;
  const sum = new Float64Array(nOut);
  for (let rank = 0; rank < rows; rank++) {
    const t = (rowOfRank === null ? rank : rowOfRank[rank]) * dim;
    sum.fill(0);
    for (let i = 0; i < dim; i++) {
      const v = model.table[t + i];
      if (v === 0) continue;
      const wi = i * nOut;
      for (let j = 0; j < nOut; j++) sum[j] += v * w[wi + j];
    }
    projected.set(sum, rank * stride);
  }
  const rowWeight = featurizer.rowWeights;
  const rankWeight = rowWeight === null || rowOfRank === null ? rowWeight : Float32Array.from(rowOfRank, (r) => rowWeight[r]);
  if (rankWeight === null) return { projected, stride, weights: null, weightStride: 0, weightOffset: 0 };
  if (nOut === stride) return { projected, stride, weights: rankWeight, weightStride: 1, weightOffset: 0 };
  for (let rank = 0; rank < rows; rank++) projected[rank * stride + nOut] = rankWeight[rank];
  return { projected, stride, weights: projected, weightStride: stride, weightOffset: nOut };
}
