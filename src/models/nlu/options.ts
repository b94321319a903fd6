/**
 * The nlu trainer's settings: its defaults, filled in in one place, and the bounds of its options
 * (NLU_OPTION_RULES), checked at the start request and again here before any work starts.
 */
import { DEFAULT_TEXT_FEATURES, type TextFeatureConfig } from '../text/text-features.js';
import type { FeatureWeighting } from './features.js';
import { assertTrainerOptions, MAX_EPOCHS, MAX_LEARNING_RATE, type TrainerOptionRules } from '../kernels/option-rules.js';
import type { TrainerOptions } from '../types.js';
import type { AdamSettings } from '../kernels/sparse-embedding.js';

/** The architectures `options.architecture` may name. */
export const NLU_ARCHITECTURES = ['fasttext', 'fasttext-hidden'] as const;
export type NluArchitecture = (typeof NLU_ARCHITECTURES)[number];

/** Defaults, each measured on SNIPS (see the nlu trainer's notes) and not tuned to it alone. */
export const NLU_DEFAULTS = Object.freeze({
  /** `fasttext`: pooled n-gram embedding → softmax. `fasttext-hidden` adds one ReLU layer. */
  architecture: 'fasttext' as NluArchitecture,
  /**
   * Examples per step. 64: as accurate as 32 on SNIPS (0.987 vs 0.986 test, 3 seeds) at ~25 % less time per
   * epoch: half the steps (measured on TF.js, each ~1 ms of per-op overhead then) and fewer table rows touched
   * per example.
   */
  batchSize: 64,
  /**
   * Adam's initial step size, for both the embedding table and the dense head. It decays linearly over the
   * epochs asked for, to 1 % of this at the end (fastText's schedule). 0.02 over 0.01: on HWU64 (64 intents)
   * test accuracy 0.885 vs 0.881 (mean of seeds 42–46, better on every seed) and more unknown intents
   * answered out of scope (docs/decisions.md); on SNIPS the same within a test row (0.986 vs 0.987).
   */
  learningRate: 0.02,
  /** Embedding width (floats per row). 32 matched 64 on SNIPS's 7 intents; 64 leaves room for label sets of ~150. */
  embeddingDim: 64,
  /** Width of the hidden layer of `fasttext-hidden` (units). */
  hiddenUnits: 128,
  /**
   * How an example's n-gram rows are weighted in the pooled mean. `mean` (fastText's): IDF weighting leans
   * on rare character n-grams of entity names and generalised worse on SNIPS (0.984 vs 0.987 test accuracy).
   */
  weighting: 'mean' as FeatureWeighting,
  /**
   * Epochs a job should ask for when it has no preference. The learning rate decays linearly to ~0 over the
   * epochs asked for, so the last epoch is the converged one; 4–6 all reach ~0.986 on SNIPS.
   */
  epochs: 5,
});

/** Examples per forward pass when evaluating: no gradients, so bigger batches only save per-op overhead. */
export const EVAL_BATCH_SIZE = 1024;

/** Adam's moment decay rates and epsilon (Kingma & Ba's defaults). */
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
/**
 * What a start request may ask of an nlu job. Batches: memory is no limit (SNIPS peaks at 255-263 MB at
 * 64, 4,096 and 65,536 alike), steps are: at 4,096 SNIPS trains in 4 steps an epoch (3 epochs: 0.972
 * validation accuracy against 0.985 at the default 64), and a larger batch is a whole data set of this kind.
 */
export const NLU_OPTION_RULES: TrainerOptionRules = Object.freeze({
  epochs: { min: 1, max: MAX_EPOCHS },
  batchSize: { min: 1, max: 4096 },
  maxLearningRate: MAX_LEARNING_RATE,
  architecture: { allowed: NLU_ARCHITECTURES.join(' or '), accepts: (name: string) => (NLU_ARCHITECTURES as readonly string[]).includes(name) },
});

export interface NluSettings {
  architecture: NluArchitecture;
  epochs: number;
  batchSize: number;
  adam: AdamSettings;
  embeddingDim: number;
  /** Units per hidden layer; empty for `fasttext`. */
  hidden: number[];
  weighting: FeatureWeighting;
  features: TextFeatureConfig;
}

export function resolveNluSettings(options: TrainerOptions): NluSettings {
  assertTrainerOptions(NLU_OPTION_RULES, options);
  const { epochs } = options;
  const batchSize = options.batchSize ?? NLU_DEFAULTS.batchSize;
  const learningRate = options.learningRate ?? NLU_DEFAULTS.learningRate;
  const architecture = (options.architecture || NLU_DEFAULTS.architecture) as NluArchitecture;
  return {
    architecture,
    epochs,
    batchSize,
    adam: { learningRate, beta1: ADAM_BETA1, beta2: ADAM_BETA2, epsilon: ADAM_EPSILON },
    embeddingDim: NLU_DEFAULTS.embeddingDim,
    hidden: architecture === 'fasttext-hidden' ? [NLU_DEFAULTS.hiddenUnits] : [],
    weighting: NLU_DEFAULTS.weighting,
    features: { ...DEFAULT_TEXT_FEATURES },
  };
}
