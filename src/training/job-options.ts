/**
 * The options of a start body (`epochs` and `config`, CONTRACT §3), checked against the model type's own
 * rules (`models/<type>/options.ts`) before a job is created or its data frozen. Reactor's start and
 * estimate check them here, and so does JARVIS's trigger (for `epochs`, the one option it forwards), so a
 * bad option is refused where it is sent rather than failing later in a trainer.
 */
import { z } from 'zod';
import { TrainingInvalidOption, TrainingUnknownOption } from '../errors.js';
import type { ModelType } from '../model-types.js';
import { EMBEDDING_OPTION_RULES } from '../models/embedding/options.js';
import { NLU_OPTION_RULES } from '../models/nlu/options.js';
import { findOptionProblem, showValue, type OptionName, type TrainerOptionRules } from '../models/kernels/option-rules.js';
import { VISION_OPTION_RULES } from '../models/vision/options.js';
import { VOICE_OPTION_RULES } from '../models/voice/options.js';

export { MAX_EPOCHS } from '../models/kernels/option-rules.js';

/** Each model type's option rules. */
export const OPTION_RULES: Readonly<Record<ModelType, TrainerOptionRules>> = Object.freeze({
  nlu: NLU_OPTION_RULES,
  voice: VOICE_OPTION_RULES,
  vision: VISION_OPTION_RULES,
  embedding: EMBEDDING_OPTION_RULES,
});

/**
 * The keys `config` may hold: the contract's three and the seed. Any other is refused, not ignored: a
 * misspelt `batchsize` or `lr` would otherwise train with the default and nobody would know.
 */
export const CONFIG_KEYS = ['learning_rate', 'batch_size', 'model_architecture', 'seed'] as const;
/** The job's generator takes a 32-bit seed. */
export const MAX_SEED = 2 ** 32 - 1;
const seedSchema = z.number().int().min(0).max(MAX_SEED);

/** Where each option sits in a start body. */
export const OPTION_FIELDS: Readonly<Record<OptionName, string>> = Object.freeze({
  epochs: 'epochs',
  batchSize: 'config.batch_size',
  learningRate: 'config.learning_rate',
  architecture: 'config.model_architecture',
});

/** A bad option of a start body: the field as the body spells it, what it allows, what came. */
export interface JobOptionProblem {
  field: string;
  allowed: string;
  received: unknown;
  /** A `config` key that is no option at all (allowed lists the keys). */
  unknownKey: boolean;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The first bad option of `body` for a `modelType` job (absent options are fine); null when none. */
export function findJobOptionProblem(modelType: ModelType, body: { epochs?: unknown; config?: unknown }): JobOptionProblem | null {
  const { config } = body;
  if (config !== undefined && !isPlainObject(config)) {
    return { field: 'config', allowed: `an object with any of ${CONFIG_KEYS.join(', ')}`, received: config, unknownKey: false };
  }
  const c = config ?? {};
  const stray = Object.keys(c).find((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
  if (stray !== undefined) return { field: `config.${stray}`, allowed: CONFIG_KEYS.join(', '), received: c[stray], unknownKey: true };
  const p = findOptionProblem(OPTION_RULES[modelType], { epochs: body.epochs, batchSize: c.batch_size, learningRate: c.learning_rate, architecture: c.model_architecture });
  if (p) return { field: OPTION_FIELDS[p.option], allowed: p.allowed, received: p.received, unknownKey: false };
  if (c.seed !== undefined && !seedSchema.safeParse(c.seed).success) {
    return { field: 'config.seed', allowed: `an integer 0-${MAX_SEED}`, received: c.seed, unknownKey: false };
  }
  return null;
}

/** The message of a problem, as reactor and JARVIS both phrase it. */
export function describeJobOptionProblem(modelType: ModelType, p: JobOptionProblem): string {
  return p.unknownKey ? TrainingUnknownOption(p.field, p.allowed).message : TrainingInvalidOption(p.field, p.allowed, modelType, showValue(p.received)).message;
}

/** Reactor's check: TrainingInvalidOption or TrainingUnknownOption (400) with `field` and `allowed` in the body. */
export function checkJobOptions(modelType: ModelType, body: { epochs?: unknown; config?: unknown }): void {
  const p = findJobOptionProblem(modelType, body);
  if (!p) return;
  if (p.unknownKey) throw TrainingUnknownOption.with({ field: p.field, allowed: p.allowed }, p.field, p.allowed);
  throw TrainingInvalidOption.with({ field: p.field, allowed: p.allowed, model_type: modelType }, p.field, p.allowed, modelType, showValue(p.received));
}
