/**
 * The embedding trainer's settings: defaults filled in in one place, every option checked with a message
 * naming it and the value received, before any work starts.
 */
import { TrainingInvalidRequest } from '../../errors.js';
import { checkTextFeatureConfig, type TextFeatureConfig } from '../text-features.js';
import type { AdamSettings } from './sparse-embedding.js';
import type { TrainerOptions } from './types.js';

/** The architectures `options.architecture` may name. */
export const EMBEDDING_ARCHITECTURES = ['ngram-bag-projection', 'ngram-bag'] as const;
export type EmbeddingArchitecture = (typeof EMBEDDING_ARCHITECTURES)[number];

/**
 * Defaults. Chosen on STS-B train/dev with an eye on other STS sets: standard values from the literature
 * (InfoNCE scale 20 as in sentence-transformers, CoSENT λ 20 as in Su 2022) rather than values tuned here.
 */
export const EMBEDDING_DEFAULTS = Object.freeze({
  /** `ngram-bag-projection`: n-gram bag → learned linear map (identity at start) → unit vector. `ngram-bag`: no map. */
  architecture: 'ngram-bag-projection' as EmbeddingArchitecture,
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
  /** CoSENT scale λ applied to cosine differences. */
  rankScale: 20,
  /** Weight of the in-batch contrastive loss in the total. */
  contrastiveWeight: 1,
  /** Weight of the CoSENT ranking loss on scored pairs in the total. */
  rankWeight: 1,
  /**
   * An n-gram gets a trainable row only when at least this many training texts contain it. Rarer ones
   * keep their fixed random row: a row seen in one text can only memorise that text.
   */
  minCount: 2,
  /** Epochs a job should ask for when it has no preference. */
  epochs: 10,
});

/**
 * Words plus character 2–4-grams of each word (with `<` `>` markers): the featuriser of the TF-IDF
 * baseline the untrained encoder imitates. Word bigrams add nothing measurable to cosine similarity.
 */
export const EMBEDDING_TEXT_FEATURES: Readonly<TextFeatureConfig> = Object.freeze({ hashBits: 20, wordNgrams: 1, charMinN: 2, charMaxN: 4 });

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
/** Larger batches make the B×B similarity matrix the cost without helping a model this small. */
const MAX_BATCH_SIZE = 4096;
const MAX_DIM = 2048;

export interface EmbeddingSettings {
  architecture: EmbeddingArchitecture;
  epochs: number;
  batchSize: number;
  adam: AdamSettings;
  dim: number;
  positiveThreshold: number;
  contrastiveScale: number;
  rankScale: number;
  contrastiveWeight: number;
  rankWeight: number;
  minCount: number;
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
  const { epochs } = options;
  check(Number.isInteger(epochs) && epochs >= 1, `epochs must be a positive integer, got ${String(epochs)}`);
  const batchSize = options.batchSize ?? EMBEDDING_DEFAULTS.batchSize;
  check(Number.isInteger(batchSize) && batchSize >= 2 && batchSize <= MAX_BATCH_SIZE, `batchSize must be an integer 2-${MAX_BATCH_SIZE} (in-batch negatives need two pairs), got ${String(batchSize)}`);
  const learningRate = options.learningRate ?? EMBEDDING_DEFAULTS.learningRate;
  check(typeof learningRate === 'number' && Number.isFinite(learningRate) && learningRate > 0 && learningRate <= 1, `learningRate must be a number in (0, 1], got ${String(learningRate)}`);
  const name = options.architecture === undefined || options.architecture === '' ? EMBEDDING_DEFAULTS.architecture : options.architecture;
  check((EMBEDDING_ARCHITECTURES as readonly string[]).includes(name), `architecture ${JSON.stringify(name)} is not an embedding architecture; expected one of ${EMBEDDING_ARCHITECTURES.join(', ')}`);
  const s: EmbeddingSettings = {
    architecture: name as EmbeddingArchitecture,
    epochs,
    batchSize,
    adam: { learningRate, beta1: ADAM_BETA1, beta2: ADAM_BETA2, epsilon: ADAM_EPSILON },
    dim: tuning.dim ?? EMBEDDING_DEFAULTS.dim,
    positiveThreshold: tuning.positiveThreshold ?? EMBEDDING_DEFAULTS.positiveThreshold,
    contrastiveScale: tuning.contrastiveScale ?? EMBEDDING_DEFAULTS.contrastiveScale,
    rankScale: tuning.rankScale ?? EMBEDDING_DEFAULTS.rankScale,
    contrastiveWeight: tuning.contrastiveWeight ?? EMBEDDING_DEFAULTS.contrastiveWeight,
    rankWeight: tuning.rankWeight ?? EMBEDDING_DEFAULTS.rankWeight,
    minCount: tuning.minCount ?? EMBEDDING_DEFAULTS.minCount,
    features: { ...EMBEDDING_TEXT_FEATURES, ...tuning.features },
  };
  check(Number.isInteger(s.dim) && s.dim >= 1 && s.dim <= MAX_DIM, `dim must be an integer 1-${MAX_DIM}, got ${String(s.dim)}`);
  check(isNonNegative(s.positiveThreshold), `positiveThreshold must be a number ≥ 0, got ${String(s.positiveThreshold)}`);
  for (const key of ['contrastiveScale', 'rankScale', 'contrastiveWeight', 'rankWeight'] as const) {
    check(isNonNegative(s[key]), `${key} must be a number ≥ 0, got ${String(s[key])}`);
  }
  check(s.contrastiveWeight + s.rankWeight > 0, 'contrastiveWeight and rankWeight cannot both be 0');
  check(Number.isInteger(s.minCount) && s.minCount >= 1, `minCount must be a positive integer, got ${String(s.minCount)}`);
  const problem = checkTextFeatureConfig(s.features);
  check(problem === null, `features: ${String(problem)}`);
  return s;
}
