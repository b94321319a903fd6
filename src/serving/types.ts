/** Options, inputs and answers of the serving layer (J-Prime's model cache, routing and counters). */
import type { Registry } from 'prom-client';
import type { ModelType } from '../model-types.js';

export interface ServingLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface ModelServerOptions {
  /** MODEL_REGISTRY_DIR (config.paths.models): versions are read from `<modelsDir>/<type>/<version>/`. */
  modelsDir: string;
  /** Receives swaps, load failures and prediction failures. Default: none. */
  logger?: ServingLogger;
  /** Where the prediction counters and latency histogram are registered. Default: none. */
  metrics?: Registry;
  /** Prediction ids remembered for feedback (oldest forgotten first), allocated up front. Default 100 000, at most 10 000 000. */
  predictionMemory?: number;
  /**
   * Milliseconds a version that failed to load is not tried again by a reconcile (an explicit split or
   * reload always tries again), and stays listed as a problem. Default 30 000.
   */
  failedRetryMs?: number;
  /** Milliseconds a load failure stays listed as a problem unless the version loads later. Default 600 000. */
  failureVisibleMs?: number;
  /** Clock in milliseconds since the epoch. Default: Date.now. */
  now?: () => number;
  /** Uniform [0, 1) for requests without a session id. Default: Math.random. */
  random?: () => number;
  /**
   * True when the owner still has to apply what it should serve (prime before its first reconcile): until
   * started() a type with nothing loaded answers 503 "starting" with Retry-After, not "nothing deployed".
   * Default false.
   */
  starting?: boolean;
}

/** The split one model type should serve. */
export interface SplitSpec {
  modelType: ModelType;
  stable: string | null;
  canary: string | null;
  /** 0–100; ignored (0) without a canary. */
  canaryPercentage: number;
  /** `undefined` keeps the current deployment id; `null` clears it. */
  deploymentId?: string | null;
  /** Digest a version's manifest must carry (reactor's registry listing), checked on top of the files. */
  expectedDigests?: Readonly<Record<string, string>>;
}

/**
 * How a split is applied. `strict` (a push or an operator's reload): any version that fails leaves the old
 * table in place and the call throws ServingLoadFailed. `reconcile` (the periodic pull): a failed canary
 * is left out (the stable part still applies), and versions that failed recently are not retried.
 */
export type ApplyMode = 'strict' | 'reconcile';

/** What a type serves now. */
export interface SplitView {
  modelType: ModelType;
  stable: string | null;
  canary: string | null;
  canaryPercentage: number;
  deploymentId: string | null;
  /** ISO 8601: when the routing last changed; null when the type serves nothing. */
  appliedAt: string | null;
}

/** Cumulative outcome counts of one version since this process started (docs/prime-protocol.md). */
export interface VersionCountsWire {
  requests: number;
  errors: number;
  feedback_success: number;
  feedback_failure: number;
}

/** `GET /api/v1/models/stats`. */
export interface StatsWire {
  instance_id: string;
  started_at: string;
  models: Record<string, Record<string, VersionCountsWire>>;
}

export interface PredictOutcome {
  predictionId: string;
  modelVersion: string;
  prediction: Record<string, unknown>;
}

export interface FeedbackOutcome {
  predictionId: string;
  modelType: ModelType;
  modelVersion: string;
  success: boolean;
  /** The same feedback was already counted; nothing changed. */
  duplicate: boolean;
}

/** A version that failed to load or probe, while it is listed as a problem. */
export interface LoadFailure {
  modelType: ModelType;
  version: string;
  error: string;
  /** ISO 8601 of the last failed attempt. */
  at: string;
}
