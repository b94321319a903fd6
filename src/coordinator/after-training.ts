/**
 * After a completed training: ask reactor to deploy the new version (CONTRACT §3 `POST /api/models/deploy`)
 * with a gradual rollout over ROLLOUT_STEPS when AB_TEST_ENABLED, else at once. Whatever reactor answers
 * is recorded on the job; a refusal (no such endpoint, a deployment already active, the accuracy gate)
 * does not undo the training, which stays completed and registered.
 */
import { ReactorHttpError } from '../client/index.js';
import type { DeployBody } from './deploy-call.js';
import type { ReactorLink } from './reactor-link.js';
import { describeError } from './reactor-link.js';
import type { DeploymentRecord } from './types.js';

/** config.abTest, as the deploy request needs it. */
export interface DeployPolicy {
  /** AB_TEST_ENABLED: roll out gradually; off: deploy at once (`immediate`). */
  enabled: boolean;
  /** AB_TEST_GRADUAL_ROLLOUT: walk ROLLOUT_STEPS; off: an A/B test at the initial percentage. */
  gradualRollout: boolean;
  initialPercentage: number;
  rolloutSteps: readonly number[];
  minSamples: number;
  /** ROLLOUT_MONITOR_DURATION_SECONDS: how long each step holds. */
  monitorDurationSeconds: number;
}

/** CONTRACT §3's default error rate above which a canary is rolled back. */
export const ROLLBACK_ON_ERROR_RATE = 0.05;

export function deployBody(policy: DeployPolicy, modelType: string, version: string, deploymentId: string): DeployBody {
  if (!policy.enabled) return { deployment_id: deploymentId, model_version: version, model_type: modelType, strategy: 'immediate' };
  return {
    deployment_id: deploymentId,
    model_version: version,
    model_type: modelType,
    strategy: policy.gradualRollout ? 'gradual_rollout' : 'ab_test',
    config: {
      initial_percentage: policy.initialPercentage,
      rollout_steps: [...policy.rolloutSteps],
      rollback_on_error_rate: ROLLBACK_ON_ERROR_RATE,
      min_samples: policy.minSamples,
      monitor_duration_seconds: policy.monitorDurationSeconds,
      auto_rollback: true,
    },
  };
}

/** Sends the deploy request and turns every answer, refusal or failure into a record. */
export async function requestDeployment(link: ReactorLink, body: DeployBody, signal?: AbortSignal): Promise<DeploymentRecord> {
  const base = { strategy: body.strategy, requested_at: new Date().toISOString() };
  try {
    const res = await link.deploy(body, signal);
    const id = typeof res.deployment_id === 'string' ? res.deployment_id : body.deployment_id;
    return { ...base, status: res.status === 'completed' ? 'completed' : 'deploying', http_status: 200, deployment_id: id, response: res };
  } catch (err) {
    if (signal?.aborted) throw err;
    if (err instanceof ReactorHttpError) {
      // A 404 from the router (no such route) means this reactor cannot deploy; any other 4xx is its answer.
      const noRoute = err.status === 404 && err.code === 'TRN_ERR_HTTP_NOT_FOUND';
      const status = noRoute ? 'not_available' : err.status < 500 ? 'refused' : 'failed';
      return { ...base, status, http_status: err.status, error: err.message };
    }
    return { ...base, status: 'failed', error: describeError(err) };
  }
}
