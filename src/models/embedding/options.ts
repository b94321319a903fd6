/**
 * The embedding trainer's settings: defaults filled in in one place, the bounds of its options
 * (EMBEDDING_OPTION_RULES) checked at the start request and again here, and every tuning knob checked
 * with a message naming it and the value received, before any work starts.
 */
import { TrainingInvalidRequest } from '../../errors.js';
import { checkTextFeatureConfig, type TextFeatureConfig } from '../text/text-features.js';
import { assertTrainerOptions, MAX_EPOCHS, MAX_LEARNING_RATE, type TrainerOptionRules } from '../kernels/option-rules.js';
import type { AdamSettings, SecondMoment } from '../kernels/sparse-embedding.js';
import type { TrainerOptions } from '../types.js';

/** The architectures `options.architecture` may name. */
export const EMBEDDING_ARCHITECTURES = ['ngram-bag', 'ngram-bag-projection'] as const;
export type EmbeddingArchitecture = (typeof EMBEDDING_ARCHITECTURES)[number];
export const RANK_LOSSES = ['pairwise', 'cosent'] as const;
export type RankLoss = (typeof RANK_LOSSES)[number];

/**
 * Defaults, measured on STS-B train → dev (see the embedding trainer's report) but kept to standard values
 * where one exists (InfoNCE scale 20 as in sentence-transformers, Adam 1e-3) so they do not fit that file
 * alone. The ranking loss is gap-weighted pairwise at λ 5, not CoSENT at its usual 20: CoSENT followed
 * the few worst pairs and lowered dev Spearman below the untrained encoder's (0.747 vs 0.774); pairwise
 * raised it (0.815 with these defaults).
 */
export const EMBEDDING_DEFAULTS = Object.freeze({
  /**
   * `ngram-bag`: n-gram bag → unit vector. `ngram-bag-projection` adds a learned dim×dim linear map
   * (identity at start); on STS-B it cost time and gained nothing, so it is off by default.
   */
  architecture: 'ngram-bag' as EmbeddingArchitecture,
  /** Pairs per step; also the number of in-batch negatives each positive is contrasted with. */
  batchSize: 64,
  /** Adam step size for the n-gram table; the projection uses the same. */
  learningRate: 0.001,
  /** Vector width (floats). 256 keeps the random projection of the TF-IDF bag close to its exact cosine. */
  dim: 256,
  /** A scored pair with a score at or above this (0–5 scale) is also a positive for the in-batch loss. */
  positiveThreshold: 4,
  /** InfoNCE logit scale (inverse temperature) applied to cosines. */
  contrastiveScale: 20,
  /** Ranking loss on scored pairs: `pairwise` (gap-weighted RankNet) or `cosent`. */
  rankLoss: 'pairwise' as RankLoss,
  /** Scale λ applied to cosine differences in the ranking loss. */
  rankScale: 5,
  /** Weight of the in-batch contrastive loss in the total. */
  contrastiveWeight: 1,
  /** Weight of the ranking loss on scored pairs in the total. */
  rankWeight: 1,
  /**
   * An n-gram gets a trainable row only when at least this many training texts contain it. Rarer ones
   * keep their fixed random row: a row seen in one text can only memorise that text.
   */
  minCount: 2,
  /**
   * At most this many trainable rows (the most frequent n-grams); the rest keep their random rows. Bounds
   * memory on large data: rows × dim × 4 bytes each for the table and Adam's first moment (64 MB at 256).
   */
  maxRows: 65_536,
  /** The n-gram table's Adam second moment: per `row` (less state, faster) or per `element`. */
  secondMoment: 'row' as SecondMoment,
  /** The n-gram table's step size as a multiple of `learningRate` (0 freezes the table). */
  tableLearningRateScale: 1,
  /** Epochs a job should ask for when it has no preference: STS-B dev peaks at 4–5 (10 costs twice as long, −0.002). */
  epochs: 5,
});

/**
 * Words plus character 2–4-grams of each word (with `<` `>` markers): the featuriser of the TF-IDF
 * baseline the untrained encoder imitates. Word bigrams add nothing measurable to cosine similarity.
 */
export const EMBEDDING_TEXT_FEATURES: Readonly<TextFeatureConfig> = Object.freeze({ hashBits: 20, wordNgrams: 1, charMinN: 2, charMaxN: 4 });

/** Texts per forward pass when embedding for evaluation: no gradients, so bigger only saves per-op overhead. */
export const EVAL_BATCH_SIZE = 1024;

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
const MAX_DIM = 2048;

/**
 * What a start request may ask of an embedding job. Batches: at least two pairs (each positive needs an
 * in-batch negative); above 4,096 the B×B similarity matrices are the cost without helping a model this
 * small (all of STS-B, one epoch: 1.0 GB peak at 4,096 against 0.45 GB at the default 64).
 */
export const EMBEDDING_OPTION_RULES: TrainerOptionRules = Object.freeze({
  epochs: { min: 1, max: MAX_EPOCHS },
  batchSize: { min: 2, max: 4096, note: 'in-batch negatives need two pairs' },
  maxLearningRate: MAX_LEARNING_RATE,
  architecture: {
    allowed: EMBEDDING_ARCHITECTURES.join(' or '),
    accepts: (name: string) => (EMBEDDING_ARCHITECTURES as readonly string[]).includes(name),
  },
});

export interface EmbeddingSettings {
  architecture: EmbeddingArchitecture;
  epochs: number;
  batchSize: number;
  adam: AdamSettings;
  dim: number;
  positiveThreshold: number;
  rankLoss: RankLoss;
  contrastiveScale: number;
  rankScale: number;
  contrastiveWeight: number;
  rankWeight: number;
  minCount: number;
  maxRows: number;
  tableLearningRateScale: number;
  secondMoment: SecondMoment;
  features: TextFeatureConfig;
}

/** Knobs the job options do not expose; for tests and experiments. */
export type EmbeddingTuning = Partial<Omit<EmbeddingSettings, 'architecture' | 'epochs' | 'batchSize' | 'adam' | 'features'>> & {
  features?: Partial<TextFeatureConfig>;
};

function check(ok: boolean, message: string): void {
  if (!ok) throw TrainingInvalidRequest(message);
}

const isNonNegative = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;

export function resolveEmbeddingSettings(options: TrainerOptions, tuning: EmbeddingTuning = {}): EmbeddingSettings {
  assertTrainerOptions(EMBEDDING_OPTION_RULES, options);
  const { epochs } = options;
  const batchSize = options.batchSize ?? EMBEDDING_DEFAULTS.batchSize;
  const learningRate = options.learningRate ?? EMBEDDING_DEFAULTS.learningRate;
  const s: EmbeddingSettings = {
    architecture: (options.architecture || EMBEDDING_DEFAULTS.architecture) as EmbeddingArchitecture,
    epochs,
    batchSize,
    adam: { learningRate, beta1: ADAM_BETA1, beta2: ADAM_BETA2, epsilon: ADAM_EPSILON },
    dim: tuning.dim ?? EMBEDDING_DEFAULTS.dim,
    positiveThreshold: tuning.positiveThreshold ?? EMBEDDING_DEFAULTS.positiveThreshold,
    rankLoss: tuning.rankLoss ?? EMBEDDING_DEFAULTS.rankLoss,
    contrastiveScale: tuning.contrastiveScale ?? EMBEDDING_DEFAULTS.contrastiveScale,
    rankScale: tuning.rankScale ?? EMBEDDING_DEFAULTS.rankScale,
    contrastiveWeight: tuning.contrastiveWeight ?? EMBEDDING_DEFAULTS.contrastiveWeight,
    rankWeight: tuning.rankWeight ?? EMBEDDING_DEFAULTS.rankWeight,
    minCount: tuning.minCount ?? EMBEDDING_DEFAULTS.minCount,
    maxRows: tuning.maxRows ?? EMBEDDING_DEFAULTS.maxRows,
    tableLearningRateScale: tuning.tableLearningRateScale ?? EMBEDDING_DEFAULTS.tableLearningRateScale,
    secondMoment: tuning.secondMoment ?? EMBEDDING_DEFAULTS.secondMoment,
    features: { ...EMBEDDING_TEXT_FEATURES, ...tuning.features },
  };
  check(Number.isInteger(s.dim) && s.dim >= 1 && s.dim <= MAX_DIM, `dim must be an integer 1-${MAX_DIM}, got ${String(s.dim)}`);
  check(isNonNegative(s.positiveThreshold), `positiveThreshold must be a number ≥ 0, got ${String(s.positiveThreshold)}`);
  for (const key of ['contrastiveScale', 'rankScale', 'contrastiveWeight', 'rankWeight', 'tableLearningRateScale'] as const) {
    check(isNonNegative(s[key]), `${key} must be a number ≥ 0, got ${String(s[key])}`);
  }
  check((RANK_LOSSES as readonly string[]).includes(s.rankLoss), `rankLoss must be one of ${RANK_LOSSES.join(', ')}, got ${JSON.stringify(s.rankLoss)}`);
  check(s.contrastiveWeight + s.rankWeight > 0, 'contrastiveWeight and rankWeight cannot both be 0');
  check(s.secondMoment === 'row' || s.secondMoment === 'element', `secondMoment must be row or element, got ${JSON.stringify(s.secondMoment)}`);
  check(Number.isInteger(s.minCount) && s.minCount >= 1, `minCount must be a positive integer, got ${String(s.minCount)}`);
  check(Number.isInteger(s.maxRows) && s.maxRows >= 0, `maxRows must be a non-negative integer, got ${String(s.maxRows)}`);
  const problem = checkTextFeatureConfig(s.features);
  check(problem === null, `features: ${String(problem)}`);
  return s;
}
