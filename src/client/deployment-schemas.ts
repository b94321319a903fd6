/**
 * Shapes of the reactor's deployment answers and stream events (CONTRACT §3), checked at the edge.
 * Loose objects with nullish numbers, like ./schemas.ts: a reactor that adds a field must not break a client.
 */
import { z } from 'zod';

const num = z.number().nullish();
const str = z.string().nullish();

export const DEPLOYMENT_STRATEGIES = ['immediate', 'gradual_rollout', 'canary', 'ab_test', 'blue_green'] as const;
export const DEPLOYMENT_COMMANDS = ['promote', 'pause', 'resume', 'abort'] as const;
/** Events after which a deployment's log is complete. */
export const DEPLOYMENT_TERMINAL_EVENTS = ['completed', 'rolled_back', 'aborted'] as const;

export const deployResponseSchema = z.looseObject({
  deployment_id: z.string(),
  model_type: str,
  model_version: str,
  strategy: str,
  status: z.string(),
  current_percentage: num,
  message: str,
});

export const rollbackResponseSchema = z.looseObject({
  model_type: z.string(),
  rolled_back_to: z.string(),
  previous_stable: str,
  aborted_deployment_id: str,
  message: str,
});

const figuresSchema = z.looseObject({
  role: str,
  requests: num,
  samples: num,
  errors: num,
  error_rate: num,
  step: z.looseObject({ samples: num, errors: num, error_rate: num }).nullish(),
});

export const deploymentEventDataSchema = z.looseObject({
  deployment_id: str,
  model_type: str,
  model_version: str,
  status: str,
  reason: str,
  message: str,
  current_percentage: num,
  error_rate: num,
  samples: num,
  at: str,
});

export const deploymentSchema = z.looseObject({
  deployment_id: z.string(),
  model_type: str,
  model_version: str,
  previous_version: str,
  strategy: str,
  status: z.string(),
  current_percentage: num,
  step: z.looseObject({ index: num, percentage: num, steps: z.array(z.number()).nullish(), elapsed_seconds: num }).nullish(),
  versions: z.record(z.string(), figuresSchema).nullish(),
  decisions: z.array(deploymentEventDataSchema.extend({ id: num, event: str })).nullish(),
  created_at: str,
  finished_at: str,
});

export const deploymentListSchema = z.union([
  z.array(deploymentSchema),
  z.looseObject({ deployments: z.array(deploymentSchema) }).transform((o) => o.deployments),
]);

export type DeployResponse = z.infer<typeof deployResponseSchema>;
export type RollbackResponse = z.infer<typeof rollbackResponseSchema>;
export type DeploymentStatus = z.infer<typeof deploymentSchema>;
export type DeploymentCommand = (typeof DEPLOYMENT_COMMANDS)[number];

/** `POST /api/models/deploy` (CONTRACT §3). */
export interface DeployRequestBody {
  model_type: string;
  model_version: string;
  strategy?: (typeof DEPLOYMENT_STRATEGIES)[number];
  /** Same id again means the same deployment. */
  deployment_id?: string;
  /** Deploy even when val_accuracy is clearly below stable's. */
  force?: boolean;
  config?: {
    initial_percentage?: number;
    rollout_steps?: number[];
    rollback_on_error_rate?: number;
    monitor_duration_seconds?: number;
    min_samples?: number;
    auto_rollback?: boolean;
  };
}

export interface RollbackRequestBody {
  model_type: string;
  previous_version?: string;
}

export interface DeploymentsFilter {
  model_type?: string;
  status?: string;
  limit?: number;
}
