/**
 * Deployment shapes: the spec (what was asked, fixed at creation), the status (what the controller
 * decided so far), the observations it decides from, and the decisions it records. Times are
 * milliseconds since the epoch; percentages are the canary's share of traffic, 0–100.
 */
import type { PrimeStatsWire, SplitRequest } from '../client/index.js';
import type { ModelType } from '../model-types.js';
import type { ModelRegistry } from '../registry/index.js';
import type { Sql, SqlDb } from '../store/sql.js';
import type { RolloutDefaults } from './deploy-request.js';
import type { LoopLogger } from './controller-loop.js';

export const STRATEGIES = ['immediate', 'gradual_rollout', 'canary', 'ab_test', 'blue_green'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const PHASES = ['deploying', 'paused', 'completed', 'rolled_back', 'aborted'] as const;
export type Phase = (typeof PHASES)[number];
export const ACTIVE_PHASES: readonly Phase[] = ['deploying', 'paused'];
export const TERMINAL_PHASES: readonly Phase[] = ['completed', 'rolled_back', 'aborted'];

/** Operator commands (`POST /api/models/deployments/{id}/{intent}`). */
export const INTENTS = ['promote', 'pause', 'resume', 'abort'] as const;
export type Intent = (typeof INTENTS)[number];

/** The normalised deploy request; nothing in it changes after creation. */
export interface RolloutSpec {
  deploymentId: string;
  modelType: ModelType;
  /** The version being deployed (the canary while the rollout runs). */
  modelVersion: string;
  /** The stable version when the deployment started: what a rollback returns to. */
  previousVersion: string | null;
  strategy: Strategy;
  /**
   * Canary percentages the rollout walks through. The last entry of gradual_rollout, canary and
   * immediate is 100 (reaching it completes the rollout); ab_test holds its one step; blue_green is
   * [0, 100]: warm at 0 %, then everything on the new version while the old one stays loaded.
   */
  steps: number[];
  /** Canary error rate above which the rollout is rolled back (or paused without auto_rollback). */
  rollbackOnErrorRate: number;
  /** How long each step holds at least, in ms. */
  monitorDurationMs: number;
  /** Canary outcomes a step needs before it may advance (ab_test: per arm). */
  minSamples: number;
  autoRollback: boolean;
  /** ab_test: two-sided confidence of the z-test, e.g. 0.95. */
  confidence: number;
  /** The accuracy gate was overridden. */
  force: boolean;
  createdAt: number;
}

/** Cumulative outcome counters of one version, as prime reports them. */
export interface VersionCounts {
  requests: number;
  errors: number;
  feedbackSuccess: number;
  feedbackFailure: number;
}

/** Per version. */
export type CountsByVersion = Readonly<Record<string, VersionCounts>>;

export const CONDITION_TYPES = ['Progressing', 'Paused'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** Stable CamelCase reasons; each has one meaning and one message form (see controller.ts). */
export type Reason =
  | 'DeploymentStarted'
  | 'AlreadyStable'
  | 'NoStableVersion'
  | 'WaitingForDuration'
  | 'WaitingForSamples'
  | 'WaitingForWarmup'
  | 'NoSignificantDifference'
  | 'StepAdvanced'
  | 'TrafficSwitched'
  | 'RolloutCompleted'
  | 'CanaryBetter'
  | 'CanaryWorse'
  | 'ErrorRateExceeded'
  | 'CanaryLoadFailed'
  | 'OperatorPromoted'
  | 'OperatorPaused'
  | 'OperatorResumed'
  | 'OperatorAborted'
  | 'OperatorRollback';

/** argo-rollouts' condition: writing the same status and reason again changes nothing. */
export interface Condition {
  type: ConditionType;
  status: boolean;
  reason: Reason;
  message: string;
  /** When `status` last flipped. */
  lastTransitionAt: number;
  /** When reason or status last changed. */
  lastUpdateAt: number;
}

export interface RolloutStatus {
  phase: Phase;
  /** The canary's share of traffic now. */
  currentPercentage: number;
  /** Index into spec.steps. */
  stepIndex: number;
  /** Start of the current measurement window (step start, or resume). */
  stepStartedAt: number;
  /** Accumulated counts when the window started: step figures are the counts minus these. */
  stepBaseline: CountsByVersion;
  conditions: Condition[];
  /** Last time anything in this status changed. */
  updatedAt: number;
  finishedAt: number | null;
}

/** What the canary's load on prime looks like, from the split pushes. */
export type CanaryLoad = 'ready' | 'failed' | 'unknown';

export interface Observations {
  /** Counts accumulated since the deployment started, per version. */
  counts: CountsByVersion;
  canaryLoad: CanaryLoad;
  /** Prime's reason when canaryLoad is `failed`. */
  canaryLoadError?: string;
  /** Operator commands received since the last reconcile, in order. */
  intents: readonly Intent[];
}

/** Past-tense event names of the deployment's log; the last three end it. */
export type DecisionEvent = 'started' | 'waiting' | 'advanced' | 'paused' | 'resumed' | 'completed' | 'rolled_back' | 'aborted';
export const TERMINAL_EVENTS: readonly DecisionEvent[] = ['completed', 'rolled_back', 'aborted'];

/** One decision: an event of the log, with the numbers it was taken on. */
export interface Decision {
  event: DecisionEvent;
  reason: Reason;
  message: string;
  /** The canary's share after the decision. */
  percentage: number;
  /** Extra figures (error_rate, samples, threshold, z, …), snake_case as on the wire. */
  numbers: Record<string, number>;
  at: number;
}

export interface ReconcileResult {
  status: RolloutStatus;
  decisions: Decision[];
  /** False when nothing changed: the caller writes nothing. */
  changed: boolean;
}

/** What prime should serve for a model type. */
export interface SplitPointers {
  stable: string | null;
  canary: string | null;
  canaryPercentage: number;
}

// ── the service ─────────────────────────────────────────────────────────────
/** Prime's side, as reactor uses it (PrimeClient implements it). */
export interface PrimePort {
  stats(signal?: AbortSignal): Promise<PrimeStatsWire>;
  pushSplit(split: SplitRequest, signal?: AbortSignal): Promise<unknown>;
}

export type DeploymentLogger = LoopLogger;

export interface DeploymentServiceOptions {
  /** The service's store seam (src/store/sql.ts) over the registry's database. */
  db: SqlDb;
  registry: ModelRegistry;
  prime: PrimePort;
  /** AB_TEST_* and ROLLOUT_STEPS (config.abTest). */
  defaults: RolloutDefaults;
  /** Ms between controller ticks. Default 1 000. */
  tickMs?: number;
  /** Clock in ms since the epoch. Default Date.now. */
  now?: () => number;
  logger?: DeploymentLogger;
  /**
   * Checked inside each controller tick's transaction, given its connection: false (this node lost the
   * rollout-controller lease) skips the tick. Default: always leads.
   */
  leading?: (tx: Sql) => boolean | Promise<boolean>;
}

export interface DeployResponse {
  deployment_id: string;
  model_type: string;
  model_version: string;
  strategy: string;
  status: string;
  current_percentage: number;
  message: string;
}

export interface RollbackResponse {
  model_type: string;
  rolled_back_to: string;
  previous_stable: string | null;
  aborted_deployment_id: string | null;
  message: string;
}
