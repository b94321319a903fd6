/**
 * `POST /api/models/deploy` and `POST /api/models/rollback` bodies (CONTRACT §3), checked once and
 * normalised: defaults filled in one place (the request's config, else the environment's AB_TEST_* and
 * ROLLOUT_STEPS), each field checked with a message naming it, and each strategy's step plan derived.
 */
import { z } from 'zod';
import { DeployInvalidRequest } from '../errors.js';
import type { ModelType } from '../model-types.js';
import { assertModelType, assertVersion } from '../registry/index.js';
import { STRATEGIES, type Strategy } from './types.js';

/** What the environment says when the request does not (config.abTest). */
export interface RolloutDefaults {
  /** ROLLOUT_STEPS: increasing, ending at 100. */
  rolloutSteps: readonly number[];
  /** AB_TEST_INITIAL_PERCENTAGE: canary and ab_test start here. */
  initialPercentage: number;
  /** AB_TEST_MIN_SAMPLES: outcomes a step needs (ab_test: per arm). */
  minSamples: number;
  /** AB_TEST_CONFIDENCE_THRESHOLD. */
  confidence: number;
}

/** CONTRACT §3's defaults for the fields the environment does not name. */
export const DEFAULT_ROLLBACK_ON_ERROR_RATE = 0.05;
export const DEFAULT_MONITOR_DURATION_SECONDS = 300;
export const DEFAULT_STRATEGY: Strategy = 'gradual_rollout';

export interface DeployRequest {
  deploymentId: string | undefined;
  modelType: ModelType;
  modelVersion: string;
  strategy: Strategy;
  steps: number[];
  rollbackOnErrorRate: number;
  monitorDurationMs: number;
  minSamples: number;
  autoRollback: boolean;
  confidence: number;
  force: boolean;
}

const percentage = z.number().gt(0).lte(100);
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const deploySchema = z.object({
  deployment_id: z.string().regex(ID_RE, 'must be 1-128 letters, digits, ".", "_" or "-"').optional(),
  model_type: z.string(),
  model_version: z.string(),
  strategy: z.enum(STRATEGIES).optional(),
  force: z.boolean().optional(),
  config: z
    .object({
      initial_percentage: percentage.optional(),
      rollout_steps: z
        .array(percentage)
        .min(1)
        .refine((s) => s.every((p, i) => i === 0 || p > s[i - 1]), 'must be increasing')
        .refine((s) => s[s.length - 1] === 100, 'must end at 100')
        .optional(),
      rollback_on_error_rate: z.number().min(0).max(1).optional(),
      monitor_duration_seconds: z.number().min(0).max(7 * 24 * 3600).optional(),
      min_samples: z.number().int().min(1).optional(),
      auto_rollback: z.boolean().optional(),
    })
    .optional(),
});

const rollbackSchema = z.object({ model_type: z.string(), previous_version: z.string().nullish() });

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue.path.length === 0 ? 'body' : issue.path.join('.');
  throw DeployInvalidRequest(`${where}: ${issue.message}`);
}

export function parseDeployRequest(body: unknown, defaults: RolloutDefaults): DeployRequest {
  const b = parse(deploySchema, body);
  const modelType = assertModelType(b.model_type);
  const modelVersion = assertVersion(b.model_version);
  const strategy = b.strategy ?? DEFAULT_STRATEGY;
  const c = b.config ?? {};
  if (strategy === 'ab_test' && c.initial_percentage === 100) {
    throw DeployInvalidRequest('config.initial_percentage: ab_test needs traffic on both versions, so it must be below 100');
  }
  return {
    deploymentId: b.deployment_id,
    modelType,
    modelVersion,
    strategy,
    steps: planSteps(strategy, c.initial_percentage, c.rollout_steps, defaults),
    rollbackOnErrorRate: c.rollback_on_error_rate ?? DEFAULT_ROLLBACK_ON_ERROR_RATE,
    monitorDurationMs: Math.round((c.monitor_duration_seconds ?? DEFAULT_MONITOR_DURATION_SECONDS) * 1000),
    minSamples: c.min_samples ?? defaults.minSamples,
    autoRollback: c.auto_rollback ?? true,
    confidence: defaults.confidence,
    force: b.force ?? false,
  };
}

/**
 * The canary percentages each strategy walks through. gradual_rollout starts at initial_percentage when
 * one is given and continues with the larger steps; otherwise at the first step.
 */
export function planSteps(strategy: Strategy, initial: number | undefined, steps: readonly number[] | undefined, defaults: RolloutDefaults): number[] {
  const start = initial ?? defaults.initialPercentage;
  switch (strategy) {
    case 'immediate':
      return [100];
    case 'blue_green':
      return [0, 100];
    case 'ab_test':
      return [Math.min(start, 99)];
    case 'canary':
      return start >= 100 ? [100] : [start, 100];
    case 'gradual_rollout': {
      const plan = [...(steps ?? defaults.rolloutSteps)];
      return initial === undefined ? plan : [initial, ...plan.filter((s) => s > initial)];
    }
  }
}

export interface RollbackRequest {
  modelType: ModelType;
  previousVersion: string | undefined;
}

export function parseRollbackRequest(body: unknown): RollbackRequest {
  const b = parse(rollbackSchema, body);
  const modelType = assertModelType(b.model_type);
  return { modelType, previousVersion: b.previous_version == null ? undefined : assertVersion(b.previous_version) };
}
