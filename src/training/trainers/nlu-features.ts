/**
 * Turns texts into the sparse rows the nlu model pools: a vocabulary of the hash buckets seen in training
 * (so the embedding table holds only rows that can ever be trained) and a CSR matrix per data set, built
 * once so an epoch is tight loops over typed arrays.
 */
import { hashFeatureGroups, hashFeatures, type TextFeatureConfig } from '../text-features.js';

/** How an example's feature rows are weighted before they are summed into one vector. */
export type FeatureWeighting = 'mean' | 'idf';
export const FEATURE_WEIGHTINGS: readonly FeatureWeighting[] = ['mean', 'idf'];

/** The buckets seen in training, in ascending order; row i of the embedding table is bucket `buckets[i]`. */
export interface FeatureVocab {
  readonly config: TextFeatureConfig;
  readonly weighting: FeatureWeighting;
  readonly buckets: Uint32Array;
  /** Per-row weight: smoothed inverse document frequency for `idf`, 1 for `mean`. */
  readonly rowWeight: Float32Array;
  /** bucket → row, -1 for buckets never seen in training (their features are ignored). */
  readonly lookup: Int32Array;
}

/** Examples as compressed sparse rows: example i uses rows[offsets[i] .. offsets[i+1]) with their weights. */
export interface FeatureMatrix {
  readonly count: number;
  readonly offsets: Uint32Array;
  readonly rows: Int32Array;
  /** Sum to 1 per example (or 0 when none of its features is known), so pooling is a weighted mean. */
  readonly weights: Float32Array;
}

export function buildVocab(texts: readonly string[], config: TextFeatureConfig, weighting: FeatureWeighting): FeatureVocab {
  const docFreq = new Map<number, number>();
  const scratch: number[] = [];
  for (const text of texts) {
    scratch.length = 0;
    for (const b of new Set(hashFeatures(text, config, scratch))) docFreq.set(b, (docFreq.get(b) ?? 0) + 1);
  }
  const buckets = Uint32Array.from(docFreq.keys()).sort();
  const rowWeight = new Float32Array(buckets.length);
  for (let r = 0; r < buckets.length; r++) {
    // sklearn's smooth idf: ln((1 + n) / (1 + df)) + 1, always ≥ 1, so common features still count a little.
    rowWeight[r] = weighting === 'idf' ? Math.log((1 + texts.length) / (1 + (docFreq.get(buckets[r]) as number))) + 1 : 1;
  }
  return vocabFrom(config, weighting, buckets, rowWeight);
}

/** Rebuilds the bucket → row lookup of a stored vocabulary. */
export function vocabFrom(config: TextFeatureConfig, weighting: FeatureWeighting, buckets: Uint32Array, rowWeight: Float32Array): FeatureVocab {
  const lookup = new Int32Array(1 << config.hashBits).fill(-1);
  for (let r = 0; r < buckets.length; r++) lookup[buckets[r]] = r;
  return { config, weighting, buckets, rowWeight, lookup };
}

/** One example's known rows (ascending, each once) and pooling weights. */
export interface SparseVector {
  rows: number[];
  weights: number[];
}

export function featurizeText(text: string, vocab: FeatureVocab, scratch: number[] = []): SparseVector {
  scratch.length = 0;
  const wordCount = hashFeatureGroups(text, vocab.config, scratch);
  // Each group (word-level, character-level) gets its own weight total, as TF-IDF blocks concatenated
  // side by side would: otherwise a sentence's ~90 character n-grams drown its ~20 word features.
  const share = Number(process.env.NLU_CHAR_SHARE ?? 'NaN');
  const groups: [number, number][] = Number.isNaN(share) ? [[0, scratch.length]] : [[0, wordCount], [wordCount, scratch.length]];
  const acc = new Map<number, number>();
  groups.forEach(([from, to], g) => {
    let total = 0;
    for (let i = from; i < to; i++) {
      const r = vocab.lookup[scratch[i]];
      if (r >= 0) total += vocab.rowWeight[r];
    }
    if (total === 0) return;
    const other = groups.length === 1 ? 0 : g === 0 ? countKnown(scratch, vocab, wordCount, scratch.length) : countKnown(scratch, vocab, 0, wordCount);
    const groupShare = groups.length === 1 || other === 0 ? 1 : g === 0 ? 1 - share : share;
    for (let i = from; i < to; i++) {
      const r = vocab.lookup[scratch[i]];
      if (r >= 0) acc.set(r, (acc.get(r) ?? 0) + (groupShare * vocab.rowWeight[r]) / total);
    }
  });
  const rows = [...acc.keys()].sort((a, b) => a - b);
  return { rows, weights: rows.map((r) => acc.get(r) as number) };
}

function countKnown(ids: readonly number[], vocab: FeatureVocab, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (vocab.lookup[ids[i]] >= 0) n++;
  return n;
}

export function featurizeAll(texts: readonly string[], vocab: FeatureVocab): FeatureMatrix {
  const offsets = new Uint32Array(texts.length + 1);
  const rows: number[] = [];
  const weights: number[] = [];
  const scratch: number[] = [];
  texts.forEach((text, i) => {
    const v = featurizeText(text, vocab, scratch);
    for (let k = 0; k < v.rows.length; k++) {
      rows.push(v.rows[k]);
      weights.push(v.weights[k]);
    }
    offsets[i + 1] = rows.length;
  });
  return { count: texts.length, offsets, rows: Int32Array.from(rows), weights: Float32Array.from(weights) };
}

/** The text of an nlu input: `text`, or the aliases `query` and `utterance` (CONTRACT §2). Undefined unless a non-blank string. */
export function inputText(input: Record<string, unknown>): string | undefined {
  const v = input.text ?? input.query ?? input.utterance;
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}
