/**
 * Embedding examples as pairs of text ids, and the per-batch masks the loss needs. Texts are stored once
 * (STS data repeats sentences across pairs), so each is featurised once and a repeat inside a batch is
 * recognised by id rather than mistaken for a negative.
 */
import { recallAtOne, spearman } from '../kernels/metrics.js';
import { hashFeatures, type TextFeatureConfig } from '../text/text-features.js';
import { MASKED, type PairBatch } from './head.js';
import type { Example } from '../types.js';

/** Highest similarity score the contract allows (CONTRACT §2: 0–5). */
export const MAX_SCORE = 5;

export interface PairSet {
  /** Unique texts; pairs refer to them by index. */
  texts: string[];
  a: Int32Array;
  b: Int32Array;
  /** Score 0–5, NaN for a pair given as `text` + `positive` without one. */
  score: Float32Array;
  /** 1 for a pair that means the same: `positive` pairs and scored pairs at or above the threshold. */
  positive: Uint8Array;
  /** Examples that were not a usable pair (missing or blank texts, texts without any word, bad score). */
  skipped: number;
}

const usable = (v: unknown, config: TextFeatureConfig): v is string => typeof v === 'string' && v.trim() !== '' && hashFeatures(v, config).length > 0;

/** The two texts and the score of one example, or undefined when it is not a usable pair. */
function pairOf(ex: Example, config: TextFeatureConfig): { a: string; b: string; score: number } | undefined {
  const input = ex.input !== null && typeof ex.input === 'object' ? ex.input : {};
  const scored = input.text_a !== undefined || input.text_b !== undefined;
  const a = scored ? input.text_a : input.text;
  const b = scored ? input.text_b : input.positive;
  if (!usable(a, config) || !usable(b, config)) return undefined;
  const s = ex.score;
  if (s === undefined) return scored ? undefined : { a, b, score: NaN };
  return typeof s === 'number' && s >= 0 && s <= MAX_SCORE ? { a, b, score: s } : undefined;
}

export function extractPairs(examples: readonly Example[], positiveThreshold: number, config: TextFeatureConfig): PairSet {
  const ids = new Map<string, number>();
  const id = (text: string): number => {
    let i = ids.get(text);
    if (i === undefined) ids.set(text, (i = ids.size));
    return i;
  };
  const a: number[] = [];
  const b: number[] = [];
  const score: number[] = [];
  for (const ex of examples) {
    const p = pairOf(ex, config);
    if (!p) continue;
    a.push(id(p.a));
    b.push(id(p.b));
    score.push(p.score);
  }
  return {
    texts: [...ids.keys()],
    a: Int32Array.from(a),
    b: Int32Array.from(b),
    score: Float32Array.from(score),
    // A pair without a score was given as "these two mean the same".
    positive: Uint8Array.from(score, (s) => (Number.isNaN(s) || s >= positiveThreshold ? 1 : 0)),
    skipped: examples.length - a.length,
  };
}

/**
 * Fills the masks and positive flags of `batch` for pairs `order[start..end)`. A candidate j ≠ i that
 * shares a text with pair i is masked out of i's negatives (it may be the very same sentence); the
 * ranking loss compares every two scored pairs whose scores differ, weighted by the gap.
 */
export function fillMasks(pairs: PairSet, order: ArrayLike<number>, start: number, end: number, batch: PairBatch): void {
  const n = end - start;
  batch.n = n;
  for (let i = 0; i < n; i++) {
    const p = order[start + i];
    batch.positive[i] = pairs.positive[p];
    const si = pairs.score[p];
    for (let j = 0; j < n; j++) {
      const q = order[start + j];
      const shared = j !== i && (pairs.a[q] === pairs.a[p] || pairs.b[q] === pairs.b[p] || pairs.a[q] === pairs.b[p] || pairs.b[q] === pairs.a[p]);
      batch.negativeMask[i * n + j] = shared ? MASKED : 0;
      // NaN compares false: unscored pairs take no part in the ranking loss.
      batch.rankWeight[i * n + j] = si > pairs.score[q] ? si - pairs.score[q] : 0;
    }
  }
}

/** A batch buffer big enough for `size` pairs of width `dim`. */
export function createPairBatch(size: number, dim: number): PairBatch {
  return {
    x: new Float32Array(2 * size * dim),
    n: 0,
    positive: new Float32Array(size),
    negativeMask: new Float32Array(size * size),
    rankWeight: new Float32Array(size * size),
  };
}

/** Retrieval among more candidates than this is computed in consecutive groups of this many (cost is quadratic). */
export const RECALL_GROUP_SIZE = 1000;

export interface PairFigures {
  /** Scored pairs (Spearman's n) and positive pairs (recall@1's n). */
  scored: number;
  positives: number;
  /** Spearman of cosine vs score over scored pairs; NaN with fewer than two. */
  spearman: number;
  /** Recall@1 of finding each positive pair's second text from its first among the other positives' second texts. */
  recallAt1: number;
}

/** Figures of an encoder on `pairs`, given the unit vector of every text ([texts, dim] row-major). */
export function pairFigures(pairs: PairSet, unit: ArrayLike<number>, dim: number): PairFigures {
  const cosines: number[] = [];
  const scores: number[] = [];
  const pos: number[] = [];
  for (let p = 0; p < pairs.a.length; p++) {
    if (pairs.positive[p] === 1) pos.push(p);
    if (Number.isNaN(pairs.score[p])) continue;
    let c = 0;
    const oa = pairs.a[p] * dim;
    const ob = pairs.b[p] * dim;
    for (let d = 0; d < dim; d++) c += unit[oa + d] * unit[ob + d];
    cosines.push(c);
    scores.push(pairs.score[p]);
  }
  let hits = 0;
  for (let g = 0; g < pos.length; g += RECALL_GROUP_SIZE) {
    const group = pos.slice(g, g + RECALL_GROUP_SIZE);
    const n = group.length;
    const queries = new Float64Array(n * dim);
    const candidates = new Float64Array(n * dim);
    group.forEach((p, i) => {
      for (let d = 0; d < dim; d++) {
        queries[i * dim + d] = unit[pairs.a[p] * dim + d];
        candidates[i * dim + d] = unit[pairs.b[p] * dim + d];
      }
    });
    hits += recallAtOne(queries, candidates, n, dim, Int32Array.from(group, (p) => pairs.b[p])) * n;
  }
  return { scored: scores.length, positives: pos.length, spearman: spearman(cosines, scores), recallAt1: pos.length > 0 ? hits / pos.length : NaN };
}
