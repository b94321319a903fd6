/**
 * The `in_scope` answer of an nlu model, calibrated on held-out examples.
 *
 * A prediction names the most likely intent; `in_scope` says two checks pass:
 *
 * 1. Word support: some word of the utterance occurs in at least `word_support.min_doc_freq` training
 *    utterances. In-scope requests carry their intent's common words ("play", "book", "weather", "the");
 *    small talk such as "hello how are you" is made of words the training set has too (SNIPS's song and
 *    film titles), so max-softmax calls it a title search at 0.997, but none of them is common there.
 *    This check gets a tenth of the rejection budget.
 * 2. Confidence: the top intent's softmax probability reaches `threshold`. Chosen by measurement over max
 *    logit, energy, temperature, cosine to class centroids and Mahalanobis on HWU64 with 10 of its 64
 *    intents held out (near unknowns); it costs serving nothing.
 *
 * The pair was measured against the alternatives (docs/decisions.md): with a SNIPS model it rejects 0.78
 * of 30 small-talk sentences where confidence alone rejected 0.55, and the same 0.90 of STS-B's sentences;
 * with HWU64's, 0.32 of its unknown intents where confidence alone rejected 0.33. The share of the
 * utterance's features the vocabulary knows and the pooled vector's norm did worse: in-scope utterances
 * are full of entity names never seen in training, while everyday English is mostly known.
 *
 * Rule: together the checks reject at most TARGET_IN_SCOPE_REJECTION of the in-scope validation examples.
 * With n of them, a threshold sits just below the k-th smallest score, k = ⌊α(n + 1)⌋ (the split-conformal
 * quantile): a new in-scope utterance from the same distribution is then rejected with probability ≤ α,
 * and on the validation split itself at most k − 1 < αn are. The word check takes its quantile at
 * WORD_SUPPORT_SHARE · α over the validation split and the training utterances (each scored with itself
 * left out of the counts, as a new utterance would be: a few hundred validation examples alone would put
 * the 0.5 % quantile at their smallest value); the confidence threshold is then the α quantile of the
 * confidence of the validation examples that pass it (those that fail count as rejected), so on the
 * validation split the two together spend α. Fewer than 1/α − 1 examples cannot support a quantile, so
 * such a model accepts everything (threshold 0) and says so; the word check needs
 * 1/(WORD_SUPPORT_SHARE · α) − 1 (199) values and is left out below that.
 *
 * The second rate, unknown acceptance, needs utterances of intents the model does not know. Validation
 * examples of an intent the training set never had are real ones; beyond those every in-scope validation
 * example is also played out as an unknown by taking its true intent out of the softmax (as voice's
 * calibration does with users): the probability the best remaining intent then gets is what an utterance
 * of an intent the model never learnt, close to this one, would score. That estimate is pessimistic for
 * unrelated text and about right for a neighbouring intent.
 */
import type { FeatureMatrix, FeatureVocab } from './features.js';
import { poolRows } from '../kernels/sparse-embedding.js';
import { denseLogits } from '../voice/predictor.js';

export const NLU_SCOPE_SCORE = 'max_softmax_probability' as const;
export const NLU_SCOPE_RULE = 'in_scope_quantile' as const;
export const NLU_WORD_SUPPORT_SCORE = 'most_frequent_word_doc_freq' as const;
/** Share of in-scope utterances the checks may reject (on the validation split, and in expectation on new ones). */
export const TARGET_IN_SCOPE_REJECTION = 0.05;
/**
 * Share of that budget the word check spends. A tenth: on SNIPS it rejects more small talk than half
 * (0.78 vs 0.73) and costs HWU64's unknown recall 0.01 where half cost 0.12 (docs/decisions.md).
 */
export const WORD_SUPPORT_SHARE = 0.1;

export type UnknownTrials = 'leave_one_intent_out';

/** The word-support check: in scope only if some word of the utterance is common in training. */
export interface NluWordSupport {
  score: typeof NLU_WORD_SUPPORT_SCORE;
  /** Share of `target_in_scope_rejection` this check may spend. */
  share: number;
  /** The utterance passes when its most frequent known word occurs in at least this many training utterances. */
  min_doc_freq: number;
  /**
   * The same threshold in the form serving compares: rows are stored most frequent first, so a word
   * occurs in min_doc_freq or more training utterances exactly when its row is below this.
   */
  rows: number;
  /** Share of the values its quantile was taken on (trials) that this check alone rejects. */
  in_scope_rejection_rate: number | null;
  /** In-scope examples and training utterances (each left out of the counts) the quantile was taken on. */
  trials: number;
}

export interface NluScopeCalibration {
  /** The score `threshold` applies to: the top intent's softmax probability (the answer's `confidence`). */
  score: typeof NLU_SCOPE_SCORE;
  rule: typeof NLU_SCOPE_RULE;
  target_in_scope_rejection: number;
  /** `in_scope` needs `confidence >= threshold`; 0 when there was too little to calibrate on. */
  threshold: number;
  /** The second check `in_scope` needs; absent in models exported before it existed and with too few examples. */
  word_support?: NluWordSupport;
  /** Share of in-scope examples rejected by the checks together; null without any. */
  in_scope_rejection_rate: number | null;
  /** Share of unknown trials accepted as in scope; null without any. */
  unknown_acceptance_rate: number | null;
  in_scope_trials: number;
  unknown_trials: number;
  /** How unknown trials beyond real unknown examples were constructed (see above). */
  unknowns: UnknownTrials;
  /** Which examples the thresholds were fitted on: the validation split, the training set when that was empty, or none (too few). */
  calibrated_on: 'validation' | 'train' | 'none';
}

/** The top softmax probability of `logits`, and the top one with class `without` taken out (-1: none). */
export function topProbability(logits: ArrayLike<number>, without = -1): number {
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) if (j !== without) max = Math.max(max, logits[j]);
  if (max === -Infinity) return NaN;
  let sum = 0;
  for (let j = 0; j < logits.length; j++) if (j !== without) sum += Math.exp(logits[j] - max);
  return 1 / sum;
}

/** Smallest number of in-scope examples whose conformal quantile at `alpha` exists (k ≥ 1). */
export function minInScopeTrials(alpha = TARGET_IN_SCOPE_REJECTION): number {
  return Math.ceil(1 / alpha - 1);
}

/**
 * The conformal threshold of these scores at `alpha`: just below the k-th smallest, midway to the one
 * before so scores near either side rarely flip (the k-th itself when the one before is -Infinity, a
 * rejection already made); null when there are too few scores for k ≥ 1.
 */
export function conformalThreshold(scores: readonly number[], alpha: number): number | null {
  const sorted = [...scores].sort((a, b) => a - b);
  const k = Math.floor(alpha * (sorted.length + 1));
  if (k < 1) return null;
  const below = k === 1 ? -Infinity : sorted[k - 2];
  return below === -Infinity ? sorted[k - 1] : (below + sorted[k - 1]) / 2;
}

const rate = (flags: boolean[]) => (flags.length === 0 ? null : flags.filter(Boolean).length / flags.length);

/** What the word check needs of the examples being calibrated on. */
export interface WordSupportInput {
  /** Per example: training utterances its most frequent known word occurs in (0 when it has no known word). */
  docFreq: ArrayLike<number>;
  /**
   * The same for each training utterance, with itself left out (its own occurrence subtracted): what it
   * would score as a new utterance. They join the in-scope examples' values in the quantile, which at
   * WORD_SUPPORT_SHARE · α needs thousands of values to be more than the smallest of a few hundred.
   */
  training?: ArrayLike<number>;
  /** Rows of the vocabulary whose document frequency is at least `df` (rows are most frequent first). */
  rowsWithDocFreq: (df: number) => number;
}

/**
 * The thresholds for these examples: `logits[i]` of an example whose intent is `labels[i]`, or -1 for an
 * intent the model does not know (a real unknown). `calibratedOn` names the split they come from. Without
 * `words`, confidence alone decides (the calibration of models exported before the word check).
 */
export function calibrateScope(
  logits: readonly ArrayLike<number>[],
  labels: ArrayLike<number>,
  calibratedOn: 'validation' | 'train',
  alpha = TARGET_IN_SCOPE_REJECTION,
  words?: WordSupportInput,
): NluScopeCalibration {
  const inScope: number[] = [];
  const inScopeDf: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    if (labels[i] < 0) continue;
    inScope.push(i);
    if (words) inScopeDf.push(words.docFreq[i]);
  }
  if (words?.training) for (let i = 0; i < words.training.length; i++) inScopeDf.push(words.training[i]);
  const dfThreshold = words ? conformalThreshold(inScopeDf, alpha * WORD_SUPPORT_SHARE) : null;
  // Document frequencies are whole numbers: passing "≥ 712.5" is passing "≥ 713".
  const minDocFreq = dfThreshold === null ? 0 : Math.ceil(dfThreshold);
  const supported = (i: number) => !words || words.docFreq[i] >= minDocFreq;
  // The examples the word check rejects score -Infinity, so the confidence quantile counts them as rejected.
  const confidence = inScope.map((i) => (supported(i) ? topProbability(logits[i]) : -Infinity));
  const threshold = conformalThreshold(confidence, alpha) ?? 0;
  const accepted = (i: number, p: number) => supported(i) && p >= threshold;
  const unknownAccepted: boolean[] = [];
  for (let i = 0; i < logits.length; i++) {
    const p = labels[i] < 0 ? topProbability(logits[i]) : topProbability(logits[i], labels[i]);
    if (!Number.isNaN(p)) unknownAccepted.push(accepted(i, p));
  }
  const calibration: NluScopeCalibration = {
    score: NLU_SCOPE_SCORE,
    rule: NLU_SCOPE_RULE,
    target_in_scope_rejection: alpha,
    threshold,
    in_scope_rejection_rate: rate(confidence.map((p, j) => !accepted(inScope[j], p))),
    unknown_acceptance_rate: rate(unknownAccepted),
    in_scope_trials: inScope.length,
    unknown_trials: unknownAccepted.length,
    unknowns: 'leave_one_intent_out',
    calibrated_on: Math.floor(alpha * (inScope.length + 1)) < 1 ? 'none' : calibratedOn,
  };
  if (words && dfThreshold !== null) {
    calibration.word_support = {
      score: NLU_WORD_SUPPORT_SCORE,
      share: WORD_SUPPORT_SHARE,
      min_doc_freq: minDocFreq,
      rows: words.rowsWithDocFreq(minDocFreq),
      in_scope_rejection_rate: rate(inScopeDf.map((df) => df < minDocFreq)),
      trials: inScopeDf.length,
    };
  }
  return calibration;
}

/** What calibrating an export needs: the model's weights and an example set as the trainer holds it. */
export interface ScopeCalibrationInput {
  table: Float32Array;
  layerSizes: readonly number[];
  head: readonly Float32Array[];
  vocab: FeatureVocab;
  /** Training utterances each row occurs in (rows are most frequent first). */
  rowDocFreq: Uint32Array;
  examples: FeatureMatrix;
  /** Per example, the row of its most frequent known word (the row count when none), for the word check. */
  topWordRows: ArrayLike<number>;
  /** The same for the training utterances, for the word check's quantile; empty when `examples` are the training set. */
  trainingTopWordRows: ArrayLike<number>;
  /** Intent id per example, -1 for an intent the model does not know. */
  labels: Int32Array;
  calibratedOn: 'validation' | 'train';
}

/** Pools each example through the function training and serving use, and calibrates on its logits and words. */
export function calibrateExport(input: ScopeCalibrationInput): NluScopeCalibration {
  const { table, layerSizes, head, examples, rowDocFreq } = input;
  const dim = layerSizes[0];
  const pooled = new Float32Array(dim);
  const logits: Float64Array[] = [];
  for (let i = 0; i < examples.count; i++) {
    poolRows(table, dim, examples, [i], 0, 1, pooled);
    logits.push(denseLogits(layerSizes, head, pooled));
  }
  // A training utterance's words are counted in rowDocFreq, itself included: one less is what it would score as a new one.
  const topWordDocFreq = (row: number, self: number) => (row < rowDocFreq.length ? Math.max(0, rowDocFreq[row] - self) : 0);
  const onTraining = input.calibratedOn === 'train';
  const docFreq = Array.from(input.topWordRows, (row) => topWordDocFreq(row, onTraining ? 1 : 0));
  const training = onTraining ? [] : Array.from(input.trainingTopWordRows, (row) => topWordDocFreq(row, 1));
  const rowsWithDocFreq = (df: number) => {
    let rows = 0;
    while (rows < rowDocFreq.length && rowDocFreq[rows] >= df) rows++;
    return rows;
  };
  return calibrateScope(logits, input.labels, input.calibratedOn, TARGET_IN_SCOPE_REJECTION, { docFreq, training, rowsWithDocFreq });
}
