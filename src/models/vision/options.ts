/**
 * The vision trainer's settings: defaults filled in in one place, and the bounds of its options
 * (VISION_OPTION_RULES), checked at the start request and again here before any work starts.
 */
import { TrainingInvalidRequest } from '../../errors.js';
import { assertTrainerOptions, MAX_EPOCHS, MAX_LEARNING_RATE, type TrainerOptionRules } from '../kernels/option-rules.js';
import type { AdamSettings } from '../kernels/sparse-embedding.js';
import { MAX_MODEL_SIDE, MIN_MODEL_SIDE } from './input.js';
import type { TrainerOptions } from '../types.js';

/** Defaults, measured on optdigits (8×8) and chosen to carry over to other small-image sets. */
export const VISION_DEFAULTS = Object.freeze({
  /** `cnn`: conv3×3 → ReLU → maxpool → conv3×3 → ReLU (→ maxpool when ≥ 8×8) → dense softmax. */
  architecture: 'cnn',
  /** Examples per step. 64: each step's fixed cost (one onnxruntime run, patches cut in JS) makes smaller batches slower per example. */
  batchSize: 64,
  /** Adam's step size at the start; it decays linearly to LR_FLOOR of it over the planned epochs. */
  learningRate: 0.01,
  /**
   * Filters of the two convolutions, by model input area. On optdigits (8×8, 10 epochs, seeds 42–46, the
   * job's split) [16, 32] reaches 0.982–0.987 test accuracy (mean 0.985) against [32, 64]'s 0.981–0.989
   * (0.986) in 0.4× the CPU time (0.7 s against 1.4–1.7 s a job), which puts the whole job under the RBF
   * SVC's fit (decisions.md). Larger inputs had [16, 32] already: the time grows with the area.
   */
  filters: { small: [16, 32] as readonly [number, number], large: [16, 32] as readonly [number, number] },
  /** Inputs with at most this many pixels (width × height) count as small. */
  smallArea: 16 * 16,
  /**
   * Training targets are (1 − ε)·one-hot + ε/classes (Szegedy et al. 2016). ε = 0.1 raised optdigits test
   * accuracy from 0.976 to 0.985 on average over four seeds (worst seed 0.972 → 0.982) at no cost, and keeps
   * the served confidences from saturating at 1. The loss reported per epoch, training and validation, is
   * against the plain labels.
   */
  labelSmoothing: 0.1,
  /** Epochs a job should ask for when it has no preference: optdigits reaches ≥ 0.98 by then. */
  epochs: 10,
});

/**
 * onnxruntime intra-op threads of a vision job. Two give the same bits, but on optdigits (decisions.md)
 * they cost ~9 % more CPU per sample and were faster only when they took a bigger share of a contended
 * machine (+20 % at load 10, −3 % at load 7, +7 % at load 4.5), so a job keeps to one core and leaves the
 * other to serving.
 */
export const VISION_THREADS = 1;
/**
 * The training set's first-layer patches are cut once and kept when they fit in this (optdigits' 3,823
 * digits: 10.4 MB), so a step copies whole examples' blocks inside onnxruntime instead of cutting in JS;
 * larger sets cut each run's patches as it comes (docs/decisions.md).
 */
export const PATCH_TABLE_BYTES = 64 * 1024 * 1024;

/** The decayed learning rate never drops below this fraction of the initial one. */
export const LR_FLOOR = 0.02;
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
/** `cnn` or `cnn@<width>x<height>`, which fixes the model's input size instead of choosing it from the data. */
const ARCHITECTURE = /^cnn(?:@(\d+)x(\d+))?$/;
const MAX_FILTERS = 256;

/** A model input side `cnn@WxH` may name: both 2×2 poolings must divide it. */
const isModelSide = (s: number): boolean => s >= MIN_MODEL_SIDE && s <= MAX_MODEL_SIDE && s % 4 === 0;

/** Whether `name` is a vision architecture: `cnn`, or `cnn@WxH` with sides in range. */
function isVisionArchitecture(name: string): boolean {
  const m = ARCHITECTURE.exec(name);
  return m !== null && (m[1] === undefined || (isModelSide(Number(m[1])) && isModelSide(Number(m[2]))));
}

/**
 * What a start request may ask of a vision job. Batches: unlike the other types, a CNN keeps every
 * example's activations through its step, so memory grows with the batch and the input area. At the
 * largest input (32×32) a batch of 1,024 peaks at 1.2 GB (all of optdigits, 2 epochs; JARVIS reserves its
 * 2.6 GB estimate); at 4,096 the estimate is 8.2 GB, for a model of 25,000 parameters.
 */
export const VISION_OPTION_RULES: TrainerOptionRules = Object.freeze({
  epochs: { min: 1, max: MAX_EPOCHS },
  batchSize: { min: 1, max: 1024 },
  maxLearningRate: MAX_LEARNING_RATE,
  architecture: {
    allowed: `cnn or cnn@<width>x<height> with sides multiples of 4 in ${MIN_MODEL_SIDE}-${MAX_MODEL_SIDE}`,
    accepts: isVisionArchitecture,
  },
});

/** Knobs the job options do not expose; for tests and experiments. */
export interface VisionTuning {
  filters?: readonly [number, number];
  /** onnxruntime's intra-op threads for each step (default VISION_THREADS). The result is the same bit for bit either way. */
  threads?: number;
}

export interface VisionSettings {
  architecture: string;
  epochs: number;
  batchSize: number;
  adam: AdamSettings;
  /** From the tuning; otherwise chosen by the model's input area (filtersFor). */
  filters?: [number, number];
  /** ε of the smoothed training targets (the reported losses use the plain labels). */
  labelSmoothing: number;
  /** Set by `cnn@WxH`; otherwise chosen from the training data. */
  size?: { width: number; height: number };
}

/** The architecture name and the input size it fixes; the name has passed VISION_OPTION_RULES. */
function parseArchitecture(value: string | undefined): { architecture: string; size?: { width: number; height: number } } {
  const name = value || VISION_DEFAULTS.architecture;
  const m = ARCHITECTURE.exec(name);
  if (m?.[1] === undefined) return { architecture: name };
  return { architecture: name, size: { width: Number(m[1]), height: Number(m[2]) } };
}

export function resolveVisionSettings(options: TrainerOptions, tuning: VisionTuning = {}): VisionSettings {
  assertTrainerOptions(VISION_OPTION_RULES, options);
  const { epochs } = options;
  const batchSize = options.batchSize ?? VISION_DEFAULTS.batchSize;
  const learningRate = options.learningRate ?? VISION_DEFAULTS.learningRate;
  const filters = tuning.filters;
  if (filters && (filters.length !== 2 || !filters.every((f) => Number.isInteger(f) && f >= 1 && f <= MAX_FILTERS))) {
    throw TrainingInvalidRequest(`filters must be two integers 1-${MAX_FILTERS}, got ${JSON.stringify(filters)}`);
  }
  return {
    ...parseArchitecture(options.architecture),
    epochs,
    batchSize,
    adam: { learningRate, beta1: ADAM_BETA1, beta2: ADAM_BETA2, epsilon: ADAM_EPSILON },
    filters: filters ? [filters[0], filters[1]] : undefined,
    labelSmoothing: VISION_DEFAULTS.labelSmoothing,
  };
}

/** The convolution filters for a model input of `width × height`: the tuning's, else by area (VISION_DEFAULTS.filters). */
export function filtersFor(settings: VisionSettings, width: number, height: number): [number, number] {
  if (settings.filters) return settings.filters;
  const pair = width * height <= VISION_DEFAULTS.smallArea ? VISION_DEFAULTS.filters.small : VISION_DEFAULTS.filters.large;
  return [pair[0], pair[1]];
}
