/**
 * The bounds of the options a job gives its trainer (epochs, batch size, learning rate, architecture).
 * Each model type states its own in `<type>-options.ts`; the same rules are checked twice: at
 * POST /api/training/start and /estimate, before anything is created (job-options.ts, naming the fields
 * as the request spells them), and again in the trainer child, which never trusts its job spec.
 */
import { z } from 'zod';
import { TrainingInvalidRequest } from '../../errors.js';
import type { TrainerOptions } from '../types.js';

/** An inclusive integer range. */
export interface IntRange {
  min: number;
  max: number;
}

export interface TrainerOptionRules {
  epochs: IntRange;
  /** Examples per step; `note` says why the range is what it is, when that is not obvious. */
  batchSize: IntRange & { note?: string };
  /** The learning rate must lie in (0, maxLearningRate]. */
  maxLearningRate: number;
  /** What `architecture` may name, in words ("fasttext or fasttext-hidden"), and the test of a name. */
  architecture: { allowed: string; accepts(name: string): boolean };
}

/**
 * Epochs of one job. Epochs cost time, not memory (every trainer holds one epoch's state), so one bound
 * serves every type: 10,000 nlu epochs on SNIPS are ~2 h on one core. JARVIS's trigger uses the same.
 */
export const MAX_EPOCHS = 10_000;
/** Adam's step size: above 1 every trainer diverges; at 1 each still finishes (measured, docs/decisions.md). */
export const MAX_LEARNING_RATE = 1;

/** The options a rule covers, by the name a trainer knows them by. */
export const OPTION_NAMES = ['epochs', 'batchSize', 'learningRate', 'architecture'] as const;
export type OptionName = (typeof OPTION_NAMES)[number];

/** One option that breaks its rule: which, what is allowed (as a phrase), and what came. */
export interface OptionProblem {
  option: OptionName;
  allowed: string;
  received: unknown;
}

const integerIn = (r: IntRange) => z.number().int().min(r.min).max(r.max);

/** Each option's test and its allowed values in words, from a type's rules. */
function checks(rules: TrainerOptionRules): Record<OptionName, { allowed: string; ok: (v: unknown) => boolean }> {
  const { batchSize } = rules;
  const lr = z.number().gt(0).max(rules.maxLearningRate);
  return {
    epochs: { allowed: `an integer ${rules.epochs.min}-${rules.epochs.max}`, ok: (v) => integerIn(rules.epochs).safeParse(v).success },
    batchSize: {
      allowed: `an integer ${batchSize.min}-${batchSize.max}${batchSize.note ? ` (${batchSize.note})` : ''}`,
      ok: (v) => integerIn(batchSize).safeParse(v).success,
    },
    learningRate: { allowed: `a number in (0, ${rules.maxLearningRate}]`, ok: (v) => lr.safeParse(v).success },
    architecture: { allowed: rules.architecture.allowed, ok: (v) => typeof v === 'string' && rules.architecture.accepts(v) },
  };
}

/** The first option of `values` (absent ones skipped) that breaks `rules`; null when all keep them. */
export function findOptionProblem(rules: TrainerOptionRules, values: Partial<Record<OptionName, unknown>>): OptionProblem | null {
  const byName = checks(rules);
  for (const option of OPTION_NAMES) {
    const v = values[option];
    if (v !== undefined && !byName[option].ok(v)) return { option, allowed: byName[option].allowed, received: v };
  }
  return null;
}

/** A received value as messages show it: JSON, cut short so a huge value cannot bloat the answer. */
export function showValue(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * The trainer child's own check of its options (the request was checked already; a job spec written by
 * an older version, or a caller in tests and benches, may not have been). TrainingInvalidRequest naming
 * the option as the trainer knows it, e.g. "batchSize must be an integer 1-4096, got 65536".
 */
export function assertTrainerOptions(rules: TrainerOptionRules, options: TrainerOptions): void {
  const architecture = options.architecture === '' ? undefined : options.architecture;
  // epochs has no default: a missing one is as wrong as a bad one.
  const problem = findOptionProblem(rules, { ...options, epochs: options.epochs ?? null, architecture });
  if (problem) throw TrainingInvalidRequest(`${problem.option} must be ${problem.allowed}, got ${showValue(problem.received)}`);
}
