/**
 * How deployments look on the wire (CONTRACT §3): snake_case, ISO times, per-version figures both since
 * the deployment began and over the current step (the window the controller judges).
 */
import { figuresOf, round3, stepFigures, countsOf } from './measure.js';
import type { CountsByVersion, Decision, RolloutSpec, RolloutStatus } from './types.js';
import type { PushState } from './split-pusher.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The data of one log event; the event's name is the decision's `event`. */
export function decisionData(spec: RolloutSpec, status: RolloutStatus, d: Decision): Record<string, unknown> {
  return {
    deployment_id: spec.deploymentId,
    model_type: spec.modelType,
    model_version: spec.modelVersion,
    status: status.phase,
    reason: d.reason,
    message: d.message,
    current_percentage: d.percentage,
    ...d.numbers,
    at: iso(d.at),
  };
}

export interface VersionFiguresWire {
  role: 'canary' | 'stable';
  requests: number;
  samples: number;
  errors: number;
  error_rate: number;
  step: { samples: number; errors: number; error_rate: number };
}

export interface DeploymentWire {
  deployment_id: string;
  model_type: string;
  model_version: string;
  previous_version: string | null;
  strategy: string;
  status: string;
  current_percentage: number;
  step: { index: number; percentage: number; steps: number[]; started_at: string | null; elapsed_seconds: number };
  config: {
    rollout_steps: number[];
    rollback_on_error_rate: number;
    monitor_duration_seconds: number;
    min_samples: number;
    auto_rollback: boolean;
    confidence: number;
    force: boolean;
  };
  versions: Record<string, VersionFiguresWire>;
  conditions: Array<{ type: string; status: boolean; reason: string; message: string; last_transition_at: string | null; last_update_at: string | null }>;
  decisions: Array<Record<string, unknown>>;
  prime: { split: PushState['state'] | null; error: string | null };
  created_at: string | null;
  updated_at: string | null;
  finished_at: string | null;
}

function versionFigures(role: VersionFiguresWire['role'], counts: CountsByVersion, baseline: CountsByVersion, version: string): VersionFiguresWire {
  const all = countsOf(counts, version);
  const total = figuresOf(all);
  const step = stepFigures(counts, baseline, version);
  return {
    role,
    requests: all.requests,
    samples: total.outcomes,
    errors: total.errors,
    error_rate: round3(total.errorRate),
    step: { samples: step.outcomes, errors: step.errors, error_rate: round3(step.errorRate) },
  };
}

export interface WireInput {
  spec: RolloutSpec;
  status: RolloutStatus;
  counts: CountsByVersion;
  events: ReadonlyArray<{ id: number; event: string; data: Record<string, unknown> }>;
  push: PushState | undefined;
  now: number;
}

export function toDeploymentWire({ spec, status, counts, events, push, now }: WireInput): DeploymentWire {
  const versions: Record<string, VersionFiguresWire> = { [spec.modelVersion]: versionFigures('canary', counts, status.stepBaseline, spec.modelVersion) };
  if (spec.previousVersion !== null && spec.previousVersion !== spec.modelVersion) {
    versions[spec.previousVersion] = versionFigures('stable', counts, status.stepBaseline, spec.previousVersion);
  }
  const active = status.phase === 'deploying' || status.phase === 'paused';
  return {
    deployment_id: spec.deploymentId,
    model_type: spec.modelType,
    model_version: spec.modelVersion,
    previous_version: spec.previousVersion,
    strategy: spec.strategy,
    status: status.phase,
    current_percentage: status.currentPercentage,
    step: {
      index: status.stepIndex,
      percentage: spec.steps[status.stepIndex] ?? status.currentPercentage,
      steps: spec.steps,
      started_at: iso(status.stepStartedAt),
      elapsed_seconds: active ? Math.max(0, Math.round((now - status.stepStartedAt) / 100) / 10) : 0,
    },
    config: {
      rollout_steps: spec.steps,
      rollback_on_error_rate: spec.rollbackOnErrorRate,
      monitor_duration_seconds: spec.monitorDurationMs / 1000,
      min_samples: spec.minSamples,
      auto_rollback: spec.autoRollback,
      confidence: spec.confidence,
      force: spec.force,
    },
    versions,
    conditions: status.conditions.map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      last_transition_at: iso(c.lastTransitionAt),
      last_update_at: iso(c.lastUpdateAt),
    })),
    decisions: events.map((e) => ({ id: e.id, event: e.event, ...e.data })),
    prime: { split: push?.state ?? null, error: push?.error ?? null },
    created_at: iso(spec.createdAt),
    updated_at: iso(status.updatedAt),
    finished_at: iso(status.finishedAt),
  };
}
