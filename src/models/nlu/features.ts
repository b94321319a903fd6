/**
 * Turns texts into the sparse rows the nlu model pools: a vocabulary of the hash buckets seen in training
 * (so the embedding table holds only rows that can ever be trained) and a CSR matrix per data set, built
 * once so an epoch is tight loops over typed arrays. Training texts are hashed once for both.
 */
import { TextFeatureHasher } from '../text/text-feature-hasher.js';
import type { TextFeatureConfig } from '../text/text-features.js';
import type { Example } from '../types.js';

/** How an example's feature rows are weighted before they are summed into one vector. */
export type FeatureWeighting = 'mean' | 'idf';
export const FEATURE_WEIGHTINGS: readonly FeatureWeighting[] = ['mean', 'idf'];

/** The buckets seen in training, most frequent first; row i of the embedding table is bucket `buckets[i]`. */
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

/** Every text's bucket ids: text i has ids[offsets[i] .. offsets[i+1]), its word unigrams first (`words[i]` of them). */
interface HashedTexts {
  offsets: Uint32Array;
  ids: Uint32Array;
  words: Uint32Array;
}

/** Through serving's hasher (the same ids as hashFeatures, test/training/text-feature-hasher.test.ts), without its per-text arrays. */
function hashAll(texts: readonly string[], config: TextFeatureConfig): HashedTexts {
  const hasher = new TextFeatureHasher(config);
  const offsets = new Uint32Array(texts.length + 1);
  const words = new Uint32Array(texts.length);
  let ids = new Uint32Array(texts.length * 128 + 1024);
  let at = 0;
  texts.forEach((text, i) => {
    const n = hasher.hash(text);
    if (at + n > ids.length) {
      const grown = new Uint32Array(Math.max(at + n, ids.length * 2));
      grown.set(ids.subarray(0, at));
      ids = grown;
    }
    ids.set(hasher.ids.subarray(0, n), at);
    at += n;
    offsets[i + 1] = at;
    words[i] = hasher.wordCount;
  });
  return { offsets, ids: ids.subarray(0, at), words };
}

/**
 * Per text, the row of its most frequent known word unigram (rows are most frequent first), or the row
 * count when none is known: TextFeaturizer.topWordRow's answer, from the hashing training already did.
 */
function topWordRows(hashed: HashedTexts, vocab: FeatureVocab): Int32Array {
  const count = hashed.words.length;
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let min = vocab.buckets.length;
    for (let k = hashed.offsets[i]; k < hashed.offsets[i] + hashed.words[i]; k++) {
      const r = vocab.lookup[hashed.ids[k]];
      if (r >= 0 && r < min) min = r;
    }
    out[i] = min;
  }
  return out;
}

/** The vocabulary of the training texts (buckets in at least `minCount` texts) and their matrix, from one hashing pass. */
export function buildTrainingFeatures(
  texts: readonly string[],
  config: TextFeatureConfig,
  weighting: FeatureWeighting,
  minCount = 1,
): { vocab: FeatureVocab; matrix: FeatureMatrix; topWordRows: Int32Array } {
  const hashed = hashAll(texts, config);
  const size = 1 << config.hashBits;
  // Document frequency per bucket; `lastDoc` counts each bucket once per text without a Set per text.
  const docFreq = new Uint32Array(size);
  const lastDoc = new Int32Array(size).fill(-1);
  for (let i = 0; i < texts.length; i++) {
    for (let k = hashed.offsets[i]; k < hashed.offsets[i + 1]; k++) {
      const b = hashed.ids[k];
      if (lastDoc[b] !== i) {
        lastDoc[b] = i;
        docFreq[b]++;
      }
    }
  }
  const seen: number[] = [];
  for (let b = 0; b < size; b++) if (docFreq[b] >= Math.max(1, minCount)) seen.push(b);
  // Most frequent first: the rows most examples share sit together at the top of the table and stay in
  // cache, where hash order scattered them over all of its megabytes (pooling and the update are memory
  // bound: measured 4 ns per multiply-add on a random 27 MB table against 1.2 ns in cache).
  seen.sort((a, b) => docFreq[b] - docFreq[a] || a - b);
  const buckets = Uint32Array.from(seen);
  const rowWeight = new Float32Array(buckets.length);
  for (let r = 0; r < buckets.length; r++) {
    // sklearn's smooth idf: ln((1 + n) / (1 + df)) + 1, always ≥ 1, so common features still count a little.
    rowWeight[r] = weighting === 'idf' ? Math.log((1 + texts.length) / (1 + docFreq[buckets[r]])) + 1 : 1;
  }
  const vocab = vocabFrom(config, weighting, buckets, rowWeight);
  return { vocab, matrix: matrixFrom(hashed, vocab), topWordRows: topWordRows(hashed, vocab) };
}

/** Rebuilds the bucket → row lookup of a stored vocabulary. */
export function vocabFrom(config: TextFeatureConfig, weighting: FeatureWeighting, buckets: Uint32Array, rowWeight: Float32Array): FeatureVocab {
  const lookup = new Int32Array(1 << config.hashBits).fill(-1);
  for (let r = 0; r < buckets.length; r++) lookup[buckets[r]] = r;
  return { config, weighting, buckets, rowWeight, lookup };
}

/** Reusable buffers for writeSparse: one slot per bucket id of the longest text seen so far. */
class SparseScratch {
  known = new Int32Array(256);
  mass = new Float64Array(256);

  fit(n: number): void {
    if (this.known.length >= n) return;
    this.known = new Int32Array(n * 2);
    this.mass = new Float64Array(n * 2);
  }
}

/**
 * Writes the known rows of bucket ids `ids[from..to)` into `rows`/`weights` from index `at`: ascending,
 * each once, weighted count × rowWeight normalised to sum 1 in float64, then stored as float32. Returns the
 * index after the last one written. Training and serving both come through writeKnown, so their weights agree.
 */
function writeSparse(ids: ArrayLike<number>, from: number, to: number, vocab: FeatureVocab, scratch: SparseScratch, rows: Int32Array, weights: Float32Array, at: number): number {
  scratch.fit(to - from);
  let n = 0;
  for (let k = from; k < to; k++) {
    const r = vocab.lookup[ids[k]];
    if (r >= 0) scratch.known[n++] = r;
  }
  // Not RowSorter: training rows are most frequent first, so most fall in its first bucket.
  scratch.known.subarray(0, n).sort();
  return writeKnown(n, vocab.rowWeight, scratch, rows, weights, at);
}

/**
 * The second half of writeSparse: the `n` known rows in `scratch.known`, sorted ascending, to rows and
 * weights. `rowWeight` null stands for all ones (count × 1 is count exactly), sparing serving a random
 * read per row.
 */
function writeKnown(n: number, rowWeight: Float32Array | null, scratch: SparseScratch, rows: Int32Array, weights: Float32Array, at: number): number {
  const known = scratch.known;
  const mass = scratch.mass;
  let distinct = 0;
  let total = 0;
  for (let i = 0; i < n; ) {
    const r = known[i];
    let count = 0;
    for (; i < n && known[i] === r; i++) count++;
    rows[at + distinct] = r;
    mass[distinct] = rowWeight === null ? count : count * rowWeight[r];
    total += mass[distinct];
    distinct++;
  }
  for (let j = 0; j < distinct; j++) weights[at + j] = mass[j] / total;
  return at + distinct;
}

function matrixFrom(hashed: HashedTexts, vocab: FeatureVocab): FeatureMatrix {
  const count = hashed.offsets.length - 1;
  const offsets = new Uint32Array(count + 1);
  // At most one row per bucket id; trimmed below.
  const rows = new Int32Array(hashed.ids.length);
  const weights = new Float32Array(hashed.ids.length);
  const scratch = new SparseScratch();
  for (let i = 0; i < count; i++) {
    offsets[i + 1] = writeSparse(hashed.ids, hashed.offsets[i], hashed.offsets[i + 1], vocab, scratch, rows, weights, offsets[i]);
  }
  return { count, offsets, rows: rows.slice(0, offsets[count]), weights: weights.slice(0, offsets[count]) };
}

/** Examples each row occurs in: a matrix lists a row at most once per example, so on the training matrix this is its document frequency. */
export function rowDocFreq(matrix: FeatureMatrix, rows: number): Uint32Array {
  const df = new Uint32Array(rows);
  for (let p = 0; p < matrix.offsets[matrix.count]; p++) df[matrix.rows[p]]++;
  return df;
}

/** The matrix of texts outside training (validation), over an existing vocabulary. */
export function featurizeAll(texts: readonly string[], vocab: FeatureVocab): FeatureMatrix {
  return featurizeTexts(texts, vocab).matrix;
}

/** featurizeAll, and each text's top word row (see topWordRows) from the same hashing. */
export function featurizeTexts(texts: readonly string[], vocab: FeatureVocab): { matrix: FeatureMatrix; topWordRows: Int32Array } {
  const hashed = hashAll(texts, vocab.config);
  return { matrix: matrixFrom(hashed, vocab), topWordRows: topWordRows(hashed, vocab) };
}

/** Set bits of a 32-bit word. */
function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * bucket → row without `vocab.lookup`'s 4 MB (2^20 buckets × 4 bytes), whose ~100 random reads per text
 * miss cache in a busy server: a bitmap of the vocabulary's buckets with the count of buckets before each
 * 32-bucket word, side by side (8 bytes per 32 buckets, 256 KB for 2^20), gives a bucket's rank among the
 * sorted buckets; `rowOfRank` turns that rank into its row (4 bytes per row), or is null when the buckets
 * are stored in ascending order, where rank and row agree. Trained vocabularies are stored most frequent
 * first (buildTrainingFeatures), so the table is needed there.
 */
interface BucketRank {
  readonly words: Int32Array;
  readonly rowOfRank: Int32Array | null;
}

function bucketRank(vocab: FeatureVocab): BucketRank {
  const { buckets } = vocab;
  let ascending = true;
  for (let r = 1; r < buckets.length && ascending; r++) ascending = buckets[r] > buckets[r - 1];
  const words = new Int32Array(2 * Math.ceil(2 ** vocab.config.hashBits / 32));
  for (const b of buckets) words[2 * (b >>> 5) + 1] |= 1 << (b & 31);
  let before = 0;
  for (let w = 0; 2 * w < words.length; w++) {
    words[2 * w] = before;
    before += popcount32(words[2 * w + 1]);
  }
  if (ascending) return { words, rowOfRank: null };
  const rowOfRank = new Int32Array(buckets.length);
  Uint32Array.from(buckets)
    .sort()
    .forEach((b, rank) => (rowOfRank[rank] = vocab.lookup[b]));
  return { words, rowOfRank };
}

/** Buckets RowSorter spreads rows over by their high bits, and the longest input it sorts itself. */
const SORT_BUCKETS = 128;
const MAX_BUCKET_SORTED = 512;

/**
 * Sorts the ~100 rows of one text: a counting pass over their high bits into ~128 buckets, then an
 * insertion sort over the nearly sorted result, about twice as fast as TypedArray.prototype.sort at that
 * size. Longer inputs, where the insertion sort would grow quadratic, go to the built-in sort.
 */
class RowSorter {
  private readonly shift: number;
  private readonly starts: Int32Array;
  private readonly spare = new Int32Array(MAX_BUCKET_SORTED);

  constructor(rows: number) {
    this.shift = Math.max(0, Math.ceil(Math.log2(rows / SORT_BUCKETS)));
    this.starts = new Int32Array((rows >>> this.shift) + 2);
  }

  sort(a: Int32Array, n: number): void {
    if (n > MAX_BUCKET_SORTED) {
      a.subarray(0, n).sort();
      return;
    }
    const { shift, starts, spare } = this;
    starts.fill(0);
    for (let i = 0; i < n; i++) starts[(a[i] >>> shift) + 1]++;
    for (let b = 1; b < starts.length; b++) starts[b] += starts[b - 1];
    for (let i = 0; i < n; i++) spare[starts[a[i] >>> shift]++] = a[i];
    for (let i = 0; i < n; i++) {
      const v = spare[i];
      let j = i - 1;
      for (; j >= 0 && a[j] > v; j--) a[j + 1] = a[j];
      a[j + 1] = v;
    }
  }
}

/**
 * Serving's featuriser: one text at a time as a one-example matrix, with the rows and weights of
 * writeSparse (the same writeKnown as training), into buffers kept from one text to the next: a
 * prediction allocates nothing here once the buffers fit its text. Not for concurrent use; each predictor
 * owns one.
 */
export class TextFeaturizer {
  private readonly hasher: TextFeatureHasher;
  private readonly rank: BucketRank;
  private readonly rowWeight: Float32Array | null;
  private readonly scratch = new SparseScratch();
  private readonly sorter: RowSorter;
  /** The last text's known word unigrams, as ranks: wordRanks[0 .. wordRankCount). */
  private wordRanks = new Int32Array(64);
  private wordRankCount = 0;
  private current: { count: 1; offsets: Uint32Array; rows: Int32Array; weights: Float32Array } = {
    count: 1,
    offsets: new Uint32Array(2),
    rows: new Int32Array(256),
    weights: new Float32Array(256),
  };

  constructor(readonly vocab: FeatureVocab) {
    this.hasher = new TextFeatureHasher(vocab.config);
    this.rank = bucketRank(vocab);
    this.rowWeight = vocab.rowWeight.every((w) => w === 1) ? null : vocab.rowWeight;
    this.sorter = new RowSorter(vocab.buckets.length);
  }

  /** Per-row weights for `idf`; null when every weight is 1 (`mean`), sparing a random read per row. */
  get rowWeights(): Float32Array | null {
    return this.rowWeight;
  }

  /**
   * The row of each rank (a bucket's position among the vocabulary's buckets in ascending order), or null
   * when the two agree. A table indexed by rank spares ranksOf's caller this lookup.
   */
  get rowOfRank(): Int32Array | null {
    return this.rank.rowOfRank;
  }

  /**
   * The ranks of the text's known features, one per feature in hashing order (a rank repeats when its
   * feature does), in `known` [0, returned count). Valid until the next call.
   */
  ranksOf(text: string): number {
    const n = this.hasher.hash(text);
    this.scratch.fit(n);
    // Word unigrams come first (hashFeatures' order): their known ranks are known[0 .. knownWords), kept
    // aside for the word check because rowsOf rewrites `known`.
    const knownWords = this.collectRanks(0, this.hasher.wordCount, 0);
    if (this.wordRanks.length < knownWords) this.wordRanks = new Int32Array(knownWords * 2);
    this.wordRanks.set(this.scratch.known.subarray(0, knownWords));
    this.wordRankCount = knownWords;
    return this.collectRanks(this.hasher.wordCount, n, knownWords);
  }

  /** Appends the ranks of the known ids among the last text's ids [from, to) to `known` from `count`; returns the new count. */
  private collectRanks(from: number, to: number, count: number): number {
    const ids = this.hasher.ids;
    const known = this.scratch.known;
    const words = this.rank.words;
    for (let k = from; k < to; k++) {
      const b = ids[k];
      const w = 2 * (b >>> 5);
      const bit = 1 << (b & 31);
      const word = words[w + 1];
      if ((word & bit) !== 0) known[count++] = words[w] + popcount32(word & (bit - 1));
    }
    return count;
  }

  private rowOf(rank: number): number {
    const rowOfRank = this.rank.rowOfRank;
    return rowOfRank === null ? rank : rowOfRank[rank];
  }

  /**
   * The row of the last text's most frequent known word, or the row count when none of its words is
   * known: trained vocabularies put rows most frequent first (what the `in_scope` word check compares,
   * calibration.ts). For the last text given to ranksOf or featurize.
   */
  topWordRow(): number {
    let min = this.vocab.buckets.length;
    for (let k = 0; k < this.wordRankCount; k++) min = Math.min(min, this.rowOf(this.wordRanks[k]));
    return min;
  }

  /** topWordRow() < rows, stopping at the first such word (usually the request's verb). */
  hasWordBelow(rows: number): boolean {
    for (let k = 0; k < this.wordRankCount; k++) if (this.rowOf(this.wordRanks[k]) < rows) return true;
    return false;
  }

  /** What ranksOf and rowsOf write. */
  get known(): Int32Array {
    return this.scratch.known;
  }

  /** ranksOf, as rows. */
  private rowsOf(text: string): number {
    const count = this.ranksOf(text);
    const rowOfRank = this.rank.rowOfRank;
    if (rowOfRank !== null) {
      const known = this.scratch.known;
      for (let k = 0; k < count; k++) known[k] = rowOfRank[known[k]];
    }
    return count;
  }

  /**
   * The text's known rows (ascending, each once) and weights, as training computes them: example 0 of the
   * returned matrix, whose arrays may be longer than `offsets[1]`. Valid until the next call.
   */
  featurize(text: string): FeatureMatrix {
    const count = this.rowsOf(text);
    let m = this.current;
    if (m.rows.length < count) this.current = m = { count: 1, offsets: m.offsets, rows: new Int32Array(count * 2), weights: new Float32Array(count * 2) };
    this.sorter.sort(this.scratch.known, count);
    m.offsets[1] = writeKnown(count, this.rowWeight, this.scratch, m.rows, m.weights, 0);
    return m;
  }
}

/** The text of an nlu input: `text`, or the aliases `query` and `utterance` (CONTRACT §2). Undefined unless a non-blank string. */
export function inputText(input: Record<string, unknown>): string | undefined {
  const v = input.text ?? input.query ?? input.utterance;
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/** Texts and labels of the usable examples; one without text or label is left out (src/experiences counts those). */
export function extractTexts(examples: readonly Example[]): { texts: string[]; labels: string[] } {
  const texts: string[] = [];
  const labels: string[] = [];
  for (const ex of examples) {
    const text = ex.input && typeof ex.input === 'object' ? inputText(ex.input) : undefined;
    if (text === undefined || typeof ex.label !== 'string' || ex.label === '') continue;
    texts.push(text);
    labels.push(ex.label);
  }
  return { texts, labels };
}
