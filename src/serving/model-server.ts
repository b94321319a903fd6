/**
 * J-Prime's serving core: predictions routed by the current split, feedback attributed to the version
 * that served, per-version counters, and hot swaps (see hot-swap.ts). No HTTP here: the routes in
 * src/http/routes/prime-*.ts and the reconciler in src/prime call these methods.
 */
import { randomUUID } from 'node:crypto';
import {
  HttpNotReady,
  ServingClosed,
  ServingFeedbackConflict,
  ServingInvalidInput,
  ServingInvalidOption,
  ServingModelLoading,
  ServingNoModel,
  ServingPredictionFailed,
  ServingPredictionNotFound,
  ServingUnknownModelType,
  TrinityError,
} from '../errors.js';
import { MODEL_TYPES, isModelType, type ModelType } from '../model-types.js';
import { CounterBook } from './counters.js';
import { HotSwap } from './hot-swap.js';
import type { LoadedVersion } from './loaded-version.js';
import { PredictionLog } from './prediction-log.js';
import { RateWindow } from './rate-window.js';
import { chooseVersion } from './routing-table.js';
import type { ApplyMode, FeedbackOutcome, LoadFailure, ModelServerOptions, PredictOutcome, ServingLogger, SplitSpec, SplitView, StatsWire } from './types.js';

export const DEFAULT_PREDICTION_MEMORY = 100_000;
/** The prediction log is allocated up front, about 30 bytes per entry: 10 million is some 300 MB. */
export const MAX_PREDICTION_MEMORY = 10_000_000;
export const DEFAULT_FAILED_RETRY_MS = 30_000;
export const DEFAULT_FAILURE_VISIBLE_MS = 600_000;
/** What a client is told to wait while a version is loading or the server has not had its first split. */
export const LOADING_RETRY_AFTER_SECONDS = 1;

function listingKey(s: SplitSpec): string {
  return JSON.stringify([s.stable, s.canary, s.canaryPercentage, s.deploymentId ?? null]);
}

function checkCount(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw ServingInvalidOption(name, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer ${min}-${max}`, v);
  }
  return v;
}

export class ModelServer {
  /** Changes with every process, so the reactor can tell a restart from counters that went back. */
  readonly instanceId = randomUUID();
  readonly startedAt: string;
  private readonly counters: CounterBook;
  private readonly log: PredictionLog;
  private readonly swap: HotSwap;
  private readonly rate: RateWindow;
  private readonly random: () => number;
  private readonly logger: ServingLogger | undefined;
  private readonly now: () => number;
  /** The last split reconcile brought per type, to tell when reactor changed its mind after a pin. */
  private readonly lastListing = new Map<ModelType, string>();
  private readonly pins = new Map<ModelType, { listing: string | undefined; at: string; version: string }>();
  private closing: Promise<void> | null = null;
  /** Until started(): the owner has not applied what it should serve yet, so "nothing served" means "not yet". */
  private starting: boolean;

  constructor(options: ModelServerOptions) {
    const o = options ?? ({} as Partial<ModelServerOptions>);
    if (typeof o.modelsDir !== 'string' || o.modelsDir === '') throw ServingInvalidOption('modelsDir', 'a non-empty path', o.modelsDir);
    const now = o.now ?? Date.now;
    if (typeof now !== 'function') throw ServingInvalidOption('now', 'a function', typeof now);
    this.now = now;
    this.random = o.random ?? Math.random;
    if (typeof this.random !== 'function') throw ServingInvalidOption('random', 'a function', typeof this.random);
    this.logger = o.logger;
    this.starting = o.starting ?? false;
    this.startedAt = new Date(now()).toISOString();
    this.counters = new CounterBook(o.metrics);
    this.log = new PredictionLog(checkCount('predictionMemory', o.predictionMemory ?? DEFAULT_PREDICTION_MEMORY, 1, MAX_PREDICTION_MEMORY));
    this.rate = new RateWindow(now);
    this.swap = new HotSwap({
      modelsDir: o.modelsDir,
      counters: this.counters,
      logger: o.logger,
      failedRetryMs: checkCount('failedRetryMs', o.failedRetryMs ?? DEFAULT_FAILED_RETRY_MS, 0),
      failureVisibleMs: checkCount('failureVisibleMs', o.failureVisibleMs ?? DEFAULT_FAILURE_VISIBLE_MS, 0),
      now,
    });
  }

  /**
   * Predicts with the version the split picks for `sessionId` (sticky) or at random without one. The
   * table is read once, so a swap during the call cannot change the version. Errors: 404 unknown type,
   * 503 nothing served, 400 bad input, 500 a predictor failure; the last two count as errors of the version
   * and carry `model_version`.
   */
  predict(modelType: string, input: Record<string, unknown>, sessionId?: string): PredictOutcome {
    const table = this.swap.table(modelType);
    const lv = table === undefined ? null : chooseVersion(table, sessionId, this.random);
    if (lv === null) throw this.nothingServed(modelType);
    this.rate.hit();
    lv.acquire();
    const t0 = performance.now();
    let prediction: Record<string, unknown>;
    try {
      prediction = lv.predictor.predict(input);
    } catch (err) {
      lv.counters.recordPrediction(true, (performance.now() - t0) / 1000);
      throw this.predictionError(lv, err);
    } finally {
      lv.release();
    }
    lv.counters.recordPrediction(false, (performance.now() - t0) / 1000);
    return { predictionId: this.log.add(lv.counters), modelVersion: lv.version, prediction };
  }

  /** Why `modelType` has no version to route to; every transient reason carries retry_after_seconds. */
  private nothingServed(modelType: string): TrinityError {
    if (this.closing) return ServingClosed();
    if (!isModelType(modelType)) return ServingUnknownModelType(modelType, MODEL_TYPES.join(', '));
    const retry = { retry_after_seconds: LOADING_RETRY_AFTER_SECONDS };
    if (this.starting) return HttpNotReady.with(retry, 'starting');
    const loading = this.swap.loadingVersion(modelType);
    if (loading !== undefined) return ServingModelLoading.with({ ...retry, version: loading }, modelType, loading);
    const failures = this.swap.recentFailures().filter((f) => f.modelType === modelType);
    const hint = failures.length
      ? `recent load failures: ${failures.map((f) => `${f.version}: ${f.error}`).join('; ')}`
      : `deploy a version (trinity deploy ${modelType} <version>) or load one with POST /api/v1/models/reload`;
    return ServingNoModel(modelType, hint);
  }

  private predictionError(lv: LoadedVersion, err: unknown): TrinityError {
    const message = err instanceof Error ? err.message : String(err);
    const extra = { model_version: lv.version, details: message, cause: err };
    if (err instanceof TrinityError && err.statusCode >= 400 && err.statusCode < 500) {
      return ServingInvalidInput.with(extra, lv.modelType, lv.version, message);
    }
    this.logger?.error({ model_type: lv.modelType, version: lv.version, err }, 'prediction failed');
    return ServingPredictionFailed.with(extra, lv.modelType, lv.version, message);
  }

  /** Counts feedback toward the version that served the prediction; the same feedback twice counts once. */
  feedback(predictionId: string, success: boolean): FeedbackOutcome {
    const claim = this.log.claimFeedback(predictionId, success);
    if (claim === undefined) throw ServingPredictionNotFound(predictionId, this.log.capacity);
    const { modelType, version } = claim.counters;
    if (claim.earlier !== undefined) {
      if (claim.earlier !== success) throw ServingFeedbackConflict(predictionId, claim.earlier);
      return { predictionId, modelType, modelVersion: version, success, duplicate: true };
    }
    claim.counters.recordFeedback(success);
    return { predictionId, modelType, modelVersion: version, success, duplicate: false };
  }

  /**
   * Loads, verifies and warms what the split needs, then switches atomically (see ApplyMode). A `strict`
   * split is reactor's push and ends any operator pin; a `reconcile` split skips a type an operator pinned
   * with reload() for as long as reactor keeps listing what it listed at the time of the pin.
   */
  async applySplit(spec: SplitSpec, mode: ApplyMode = 'strict'): Promise<SplitView> {
    if (this.closing) throw ServingClosed();
    if (mode === 'reconcile') {
      const listing = listingKey(spec);
      this.lastListing.set(spec.modelType, listing);
      const pin = this.pins.get(spec.modelType);
      if (pin !== undefined) {
        const current = this.split(spec.modelType);
        if (pin.listing === listing && current) return current;
        this.pins.delete(spec.modelType);
        this.logger?.info({ model_type: spec.modelType, pinned_at: pin.at }, 'reactor changed its split since the operator reload; following reactor again');
      }
    }
    const view = await this.swap.apply(spec, mode);
    if (mode === 'strict') this.pins.delete(spec.modelType);
    return view;
  }

  /**
   * The operator's forced swap: `version` becomes stable with no canary, and stays so (the periodic
   * reconcile leaves the type alone) until reactor's split for the type changes or reactor pushes one.
   */
  async reload(modelType: ModelType, version: string): Promise<SplitView> {
    if (this.closing) throw ServingClosed();
    // Pinned before the swap is queued, so a reconcile queued behind it cannot undo it.
    const pin = { listing: this.lastListing.get(modelType), at: new Date(this.now()).toISOString(), version };
    this.pins.set(modelType, pin);
    try {
      return await this.swap.apply({ modelType, stable: version, canary: null, canaryPercentage: 0, deploymentId: null }, 'strict');
    } catch (err) {
      if (this.pins.get(modelType) === pin) this.pins.delete(modelType);
      throw err;
    }
  }

  /** Types an operator reload pinned, with the version and when. */
  pinned(): { modelType: ModelType; version: string; at: string }[] {
    return [...this.pins].map(([modelType, p]) => ({ modelType, version: p.version, at: p.at }));
  }

  /**
   * Ends the starting phase (see ModelServerOptions.starting): from now on a type with nothing loaded or
   * loading answers "nothing deployed".
   */
  started(): void {
    this.starting = false;
  }

  /** What each served type routes to now. */
  splits(): SplitView[] {
    return this.swap.views();
  }

  split(modelType: string): SplitView | undefined {
    return this.swap.views().find((v) => v.modelType === modelType);
  }

  recentFailures(): LoadFailure[] {
    return this.swap.recentFailures();
  }

  stats(): StatsWire {
    return this.counters.toWire(this.instanceId, this.startedAt);
  }

  requestsLastMinute(): number {
    return this.rate.total();
  }

  /** Refuses new swaps and predictions, waits for swaps under way, disposes every version. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.swap.close();
    return this.closing;
  }
}
