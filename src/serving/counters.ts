/**
 * Per-version outcome counters (requests, thrown predictions, feedback) and their Prometheus twins. The
 * record of a version outlives its predictor: feedback for an unloaded version still counts, and the
 * reactor reads cumulative figures per process (docs/prime-protocol.md).
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ModelType } from '../model-types.js';
import type { StatsWire, VersionCountsWire } from './types.js';

/** Prediction latency buckets in seconds: the target is single-digit milliseconds. */
const LATENCY_BUCKETS_S = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

interface MetricChild {
  inc(): void;
}
interface HistogramChild {
  observe(v: number): void;
}
const NO_METRIC: MetricChild & HistogramChild = { inc: () => undefined, observe: () => undefined };

/** One version's counts. Metric children are bound once so the predict path does no label lookups. */
export class VersionCounters {
  requests = 0;
  errors = 0;
  feedbackSuccess = 0;
  feedbackFailure = 0;

  constructor(
    readonly modelType: ModelType,
    readonly version: string,
    private readonly okMetric: MetricChild,
    private readonly errorMetric: MetricChild,
    private readonly successMetric: MetricChild,
    private readonly failureMetric: MetricChild,
    private readonly latency: HistogramChild,
  ) {}

  /** A prediction finished (`failed`: it threw) after `seconds`. */
  recordPrediction(failed: boolean, seconds: number): void {
    this.requests++;
    if (failed) {
      this.errors++;
      this.errorMetric.inc();
    } else this.okMetric.inc();
    this.latency.observe(seconds);
  }

  recordFeedback(success: boolean): void {
    if (success) {
      this.feedbackSuccess++;
      this.successMetric.inc();
    } else {
      this.feedbackFailure++;
      this.failureMetric.inc();
    }
  }

  toWire(): VersionCountsWire {
    return { requests: this.requests, errors: this.errors, feedback_success: this.feedbackSuccess, feedback_failure: this.feedbackFailure };
  }
}

export class CounterBook {
  private readonly byType = new Map<ModelType, Map<string, VersionCounters>>();
  private readonly predictions?: Counter<'model_type' | 'model_version' | 'outcome'>;
  private readonly feedback?: Counter<'model_type' | 'model_version' | 'success'>;
  private readonly latency?: Histogram<'model_type'>;

  constructor(registry?: Registry) {
    if (!registry) return;
    this.predictions = new Counter({
      name: 'trinity_prime_predictions_total',
      help: 'Predictions served, by model type, version and outcome (ok, error: the prediction threw)',
      labelNames: ['model_type', 'model_version', 'outcome'],
      registers: [registry],
    });
    this.feedback = new Counter({
      name: 'trinity_prime_feedback_total',
      help: 'Feedback received, by model type, version and success',
      labelNames: ['model_type', 'model_version', 'success'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'trinity_prime_prediction_seconds',
      help: 'Time a predictor took for one prediction',
      labelNames: ['model_type'],
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    });
  }

  /** The counters of a version, created at zero on first use. */
  of(modelType: ModelType, version: string): VersionCounters {
    let versions = this.byType.get(modelType);
    if (!versions) this.byType.set(modelType, (versions = new Map()));
    let c = versions.get(version);
    if (!c) {
      const labels = { model_type: modelType, model_version: version };
      c = new VersionCounters(
        modelType,
        version,
        this.predictions?.labels({ ...labels, outcome: 'ok' }) ?? NO_METRIC,
        this.predictions?.labels({ ...labels, outcome: 'error' }) ?? NO_METRIC,
        this.feedback?.labels({ ...labels, success: 'true' }) ?? NO_METRIC,
        this.feedback?.labels({ ...labels, success: 'false' }) ?? NO_METRIC,
        this.latency?.labels({ model_type: modelType }) ?? NO_METRIC,
      );
      versions.set(version, c);
    }
    return c;
  }

  toWire(instanceId: string, startedAt: string): StatsWire {
    const models: StatsWire['models'] = {};
    for (const [type, versions] of this.byType) {
      models[type] = Object.fromEntries([...versions].map(([v, c]) => [v, c.toWire()]));
    }
    return { instance_id: instanceId, started_at: startedAt, models };
  }
}
