/**
 * The voice trainer's settings: defaults filled in in one place, and the bounds of its options
 * (VOICE_OPTION_RULES), checked at the start request and again here before any audio is decoded.
 */
import { TrainingInvalidRequest } from '../../errors.js';
import type { AudioFeatureConfig } from '../audio/index.js';
import { assertTrainerOptions, MAX_EPOCHS, MAX_LEARNING_RATE, type TrainerOptionRules } from '../kernels/option-rules.js';
import type { AdamSettings } from '../kernels/sparse-embedding.js';
import type { TrainerOptions } from '../types.js';

/** The architectures `options.architecture` may name. */
export const VOICE_ARCHITECTURES = ['mlp', 'linear'] as const;
export type VoiceArchitecture = (typeof VOICE_ARCHITECTURES)[number];

/** Defaults, measured on FSDD speakers (see voice.ts) and chosen to generalise, not to fit that set. */
export const VOICE_DEFAULTS = Object.freeze({
  /** `mlp`: standardised features → one ReLU layer → softmax. `linear`: multinomial logistic regression. */
  architecture: 'mlp' as VoiceArchitecture,
  /** Examples per step. */
  batchSize: 32,
  /** Adam step size at the start; it decays linearly to LR_FLOOR of itself over the planned epochs. */
  learningRate: 0.003,
  /** Width of the `mlp` hidden layer (units). */
  hiddenUnits: 128,
  /**
   * Standard deviation of Gaussian noise added to standardised training features: a cheap regulariser for
   * small enrolment sets. On FSDD, 0.5 kept accuracy and lowered the equal error rate (≈5.8 % against 6.5 %
   * at 0.2 and 6.8 % at 0; two seeds, two splits).
   */
  inputNoise: 0.5,
});

/** Examples per forward pass when evaluating: no gradients, so bigger batches only save per-op overhead. */
export const EVAL_BATCH_SIZE = 1024;

/** Fraction of the initial learning rate the decay stops at. */
export const LR_FLOOR = 0.05;

/**
 * Featuriser defaults. 25 ms frames every 10 ms, 40 mel bands, 20 cepstra with deltas: the textbook
 * MFCC front end. maxHz is decided per data set (the lowest Nyquist frequency seen in training, capped
 * at MAX_ANALYSIS_HZ) so one model serves every rate at or above its training audio's.
 */
export const AUDIO_FEATURE_DEFAULTS: Readonly<Omit<AudioFeatureConfig, 'maxHz'>> = Object.freeze({
  frameMs: 25,
  hopMs: 10,
  melBands: 40,
  minHz: 20,
  mfcc: 20,
  deltaWidth: 2,
  vadDb: 30,
  maxSeconds: 30,
});

/** Speech above this carries little speaker information a small model uses; wideband audio is cut here. */
export const MAX_ANALYSIS_HZ = 7_600;
/** The mel range stops short of Nyquist: anti-aliasing filters roll the top few percent off. */
export const NYQUIST_FRACTION = 0.95;

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
/**
 * What a start request may ask of a voice job. Batches: a batch of 4,096 clips adds 12 MB to the estimate
 * (FSDD's 600 clips, 5 epochs: 141 MB peak, 174 MB at the default 32); enrolment sets are a few hundred
 * clips, so a larger batch could only be the whole set in one step.
 */
export const VOICE_OPTION_RULES: TrainerOptionRules = Object.freeze({
  epochs: { min: 1, max: MAX_EPOCHS },
  batchSize: { min: 1, max: 4096 },
  maxLearningRate: MAX_LEARNING_RATE,
  architecture: { allowed: VOICE_ARCHITECTURES.join(' or '), accepts: (name: string) => (VOICE_ARCHITECTURES as readonly string[]).includes(name) },
});

export interface VoiceSettings {
  architecture: VoiceArchitecture;
  epochs: number;
  batchSize: number;
  adam: AdamSettings;
  /** Units per hidden layer; empty for `linear`. */
  hidden: number[];
  inputNoise: number;
}

/** Knobs the job options do not expose; for tests and experiments. */
export interface VoiceTuning {
  hiddenUnits?: number;
  inputNoise?: number;
  features?: Partial<Omit<AudioFeatureConfig, 'maxHz'>>;
}

export function resolveVoiceSettings(options: TrainerOptions, tuning: VoiceTuning): VoiceSettings {
  assertTrainerOptions(VOICE_OPTION_RULES, options);
  const { epochs } = options;
  const batchSize = options.batchSize ?? VOICE_DEFAULTS.batchSize;
  const learningRate = options.learningRate ?? VOICE_DEFAULTS.learningRate;
  const architecture = (options.architecture || VOICE_DEFAULTS.architecture) as VoiceArchitecture;
  const hiddenUnits = tuning.hiddenUnits ?? VOICE_DEFAULTS.hiddenUnits;
  if (!Number.isInteger(hiddenUnits) || hiddenUnits < 1) throw TrainingInvalidRequest(`hiddenUnits must be a positive integer, got ${String(hiddenUnits)}`);
  const inputNoise = tuning.inputNoise ?? VOICE_DEFAULTS.inputNoise;
  if (!Number.isFinite(inputNoise) || inputNoise < 0) throw TrainingInvalidRequest(`inputNoise must be a number ≥ 0, got ${String(inputNoise)}`);
  return {
    architecture,
    epochs,
    batchSize,
    adam: { learningRate, beta1: ADAM_BETA1, beta2: ADAM_BETA2, epsilon: ADAM_EPSILON },
    hidden: architecture === 'mlp' ? [hiddenUnits] : [],
    inputNoise,
  };
}

/** The featuriser settings for training audio whose lowest sample rate is `minRate` Hz. */
export function audioConfigFor(minRate: number, tuning: VoiceTuning): AudioFeatureConfig {
  const c: AudioFeatureConfig = {
    ...AUDIO_FEATURE_DEFAULTS,
    ...tuning.features,
    maxHz: Math.floor(Math.min(MAX_ANALYSIS_HZ, (NYQUIST_FRACTION * minRate) / 2)),
  };
  const positive: (keyof AudioFeatureConfig)[] = ['frameMs', 'hopMs', 'melBands', 'mfcc', 'maxSeconds', 'vadDb'];
  for (const k of positive) if (!(c[k] > 0)) throw TrainingInvalidRequest(`features.${k} must be a positive number, got ${String(c[k])}`);
  if (!Number.isInteger(c.melBands) || !Number.isInteger(c.mfcc) || c.mfcc > c.melBands) {
    throw TrainingInvalidRequest(`features.mfcc must be an integer ≤ features.melBands, got ${String(c.mfcc)} and ${String(c.melBands)}`);
  }
  if (!Number.isInteger(c.deltaWidth) || c.deltaWidth < 1) throw TrainingInvalidRequest(`features.deltaWidth must be a positive integer, got ${String(c.deltaWidth)}`);
  if (!(c.minHz >= 0 && c.minHz < c.maxHz)) throw TrainingInvalidRequest(`features.minHz must be in [0, ${c.maxHz}), got ${String(c.minHz)}`);
  return c;
}
