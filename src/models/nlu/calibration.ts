/**
 * The `in_scope` threshold of an nlu model, calibrated on held-out examples.
 *
 * A prediction names the most likely intent; `in_scope` says its score (the top intent's softmax
 * probability) reaches the threshold. The score was chosen by measurement (docs/decisions.md): on HWU64
 * with 10 of its 64 intents held out as unknown it separated unknown utterances from known ones as well as
 * or better than max logit, energy, temperature-scaled probability, cosine to class centroids or
 * Mahalanobis distance of the pooled vector, and it costs serving nothing.
 *
 * Rule: the threshold rejects at most TARGET_IN_SCOPE_REJECTION of the in-scope validation examples.
 * With n of them, it sits just below the k-th smallest score, k = ⌊α(n + 1)⌋ (the split-conformal
 * quantile): a new in-scope utterance from the same distribution is then rejected with probability ≤ α,
 * and on the validation split itself at most k − 1 < αn are. Fewer than 1/α − 1 examples cannot support
 * that quantile, so such a model accepts everything (threshold 0) and says so.
 *
 * The second rate, unknown acceptance, needs utterances of intents the model does not know. Validation
 * examples of an intent the training set never had are real ones; beyond those every in-scope validation
 * example is also played out as an unknown by taking its true intent out of the softmax (as voice's
 * calibration does with users): the probability the best remaining intent then gets is what an utterance
 * of an intent the model never learnt, close to this one, would score. That estimate is pessimistic for
 * unrelated text and about right for a neighbouring intent.
 */
import type { FeatureMatrix } from './features.js';
import { poolRows } from '../kernels/sparse-embedding.js';
import { denseLogits } from '../voice/predictor.js';

export const NLU_SCOPE_SCORE = 'max_softmax_probability' as const;
export const NLU_SCOPE_RULE = 'in_scope_quantile' as const;
/** Share of in-scope utterances the threshold may reject (on the validation split, and in expectation on new ones). */
export const TARGET_IN_SCOPE_REJECTION = 0.05;

export type UnknownTrials = 'leave_one_intent_out';

export interface NluScopeCalibration {
  /** The score `in_scope` compares: the top intent's softmax probability (the answer's `confidence`). */
  score: typeof NLU_SCOPE_SCORE;
  rule: typeof NLU_SCOPE_RULE;
  target_in_scope_rejection: number;
  /** `in_scope` is `confidence >= threshold`; 0 when there was too little to calibrate on. */
  threshold: number;
  /** Share of in-scope examples rejected at the threshold; null without any. */
  in_scope_rejection_rate: number | null;
  /** Share of unknown trials accepted as in scope at the threshold; null without any. */
  unknown_acceptance_rate: number | null;
  in_scope_trials: number;
  unknown_trials: number;
  /** How unknown trials beyond real unknown examples were constructed (see above). */
  unknowns: UnknownTrials;
  /** Which examples the threshold was fitted on: the validation split, the training set when that was empty, or none (too few). */
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

/** Smallest number of in-scope examples whose conformal quantile exists (k ≥ 1). */
export function minInScopeTrials(alpha = TARGET_IN_SCOPE_REJECTION): number {
  return Math.ceil(1 / alpha - 1);
}

/**
 * The threshold for these examples: `logits[i]` of an example whose intent is `labels[i]`, or -1 for an
 * intent the model does not know (a real unknown). `calibratedOn` names the split they come from.
 */
export function calibrateScope(logits: readonly ArrayLike<number>[], labels: ArrayLike<number>, calibratedOn: 'validation' | 'train', alpha = TARGET_IN_SCOPE_REJECTION): NluScopeCalibration {
  const inScope: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    if (labels[i] < 0) {
      unknown.push(topProbability(logits[i]));
      continue;
    }
    inScope.push(topProbability(logits[i]));
    const left = topProbability(logits[i], labels[i]);
    if (!Number.isNaN(left)) unknown.push(left);
  }
  inScope.sort((a, b) => a - b);
  const k = Math.floor(alpha * (inScope.length + 1));
  // Just below the k-th smallest score: midway to the one before, so scores near either side rarely flip.
  const threshold = k < 1 ? 0 : k === 1 ? inScope[0] : (inScope[k - 2] + inScope[k - 1]) / 2;
  const accepted = (s: number) => s >= threshold;
  const rate = (scores: number[], counted: (s: number) => boolean) => (scores.length === 0 ? null : scores.filter(counted).length / scores.length);
  return {
    score: NLU_SCOPE_SCORE,
    rule: NLU_SCOPE_RULE,
    target_in_scope_rejection: alpha,
    threshold,
    in_scope_rejection_rate: rate(inScope, (s) => !accepted(s)),
    unknown_acceptance_rate: rate(unknown, accepted),
    in_scope_trials: inScope.length,
    unknown_trials: unknown.length,
    unknowns: 'leave_one_intent_out',
    calibrated_on: k < 1 ? 'none' : calibratedOn,
  };
}

/** What calibrating an export needs: the model's weights and an example set as the trainer holds it. */
export interface ScopeCalibrationInput {
  table: Float32Array;
  layerSizes: readonly number[];
  head: readonly Float32Array[];
  examples: FeatureMatrix;
  /** Intent id per example, -1 for an intent the model does not know. */
  labels: Int32Array;
  calibratedOn: 'validation' | 'train';
}

/** Pools each example through the function training and serving use, and calibrates on its logits. */
export function calibrateExport(input: ScopeCalibrationInput): NluScopeCalibration {
  const { table, layerSizes, head, examples } = input;
  const dim = layerSizes[0];
  const pooled = new Float32Array(dim);
  const logits: Float64Array[] = [];
  for (let i = 0; i < examples.count; i++) {
    poolRows(table, dim, examples, [i], 0, 1, pooled);
    logits.push(denseLogits(layerSizes, head, pooled));
  }
  return calibrateScope(logits, input.labels, input.calibratedOn);
}
