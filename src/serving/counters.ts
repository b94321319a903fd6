/**
 * Per-version outcome counters (requests, thrown predictions, feedback) and per-type prediction latency.
 * The record of a version outlives its predictor: feedback for an unloaded version still counts, and the
 * reactor reads cumulative figures per process (docs/prime-protocol.md).
 *
 * The predict path only bumps plain numbers; Prometheus reads them when it scrapes, through metrics that
 * collect from this book. (prom-client's own counters and histogram cost microseconds per prediction in a
 * busy server: label hashing and object lookups on every call.)
 */
import type { Registry } from 'prom-client';
import type { ModelType } from '../model-types.js';
import type { StatsWire, VersionCountsWire } from './types.js';

/** Prediction latency buckets in seconds: the target is single-digit milliseconds. */
const LATENCY_BUCKETS_S = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

/** A latency histogram with Prometheus's buckets, kept as counts per bucket (not cumulative). */
export class LatencyHistogram {
  /** counts[i]: observations ≤ LATENCY_BUCKETS_S[i] and above the bucket before; the last slot is +Inf. */
  readonly counts = new Float64Array(LATENCY_BUCKETS_S.length + 1);
  sum = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_S.length && seconds > LATENCY_BUCKETS_S[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
  }
}

/** One version's counts. */
export class VersionCounters {
  requests = 0;
  errors = 0;
  feedbackSuccess = 0;
  feedbackFailure = 0;

  constructor(
    readonly modelType: ModelType,
    readonly version: string,
    private readonly latency: LatencyHistogram,
  ) {}

  /** A prediction finished (`failed`: it threw) after `seconds`. */
  recordPrediction(failed: boolean, seconds: number): void {
    this.requests++;
    if (failed) this.errors++;
    this.latency.observe(seconds);
  }

  recordFeedback(success: boolean): void {
    if (success) this.feedbackSuccess++;
    else this.feedbackFailure++;
  }

  toWire(): VersionCountsWire {
    return { requests: this.requests, errors: this.errors, feedback_success: this.feedbackSuccess, feedback_failure: this.feedbackFailure };
  }
}

type Labels = Record<string, string>;
interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** A metric prom-client's Registry can print (what its own metric classes return from get()). */
function collectedMetric(name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]) {
  const get = async () => ({ name, help, type, values: values(), aggregator: 'sum' as const });
  return { name, help, type, aggregator: 'sum' as const, get, reset: () => undefined };
}

export class CounterBook {
  private readonly byType = new Map<ModelType, Map<string, VersionCounters>>();
  private readonly latency = new Map<ModelType, LatencyHistogram>();

  constructor(registry?: Registry) {
    if (!registry) return;
    // registerMetric's declared parameter is prom-client's Metric class; the Registry only calls get().
    const register = (m: ReturnType<typeof collectedMetric>) => registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
    register(
      collectedMetric('trinity_prime_predictions_total', 'Predictions served, by model type, version and outcome (ok, error: the prediction threw)', 'counter', () =>
        this.versions().flatMap((c) => [
          { labels: { model_type: c.modelType, model_version: c.version, outcome: 'ok' }, value: c.requests - c.errors },
          { labels: { model_type: c.modelType, model_version: c.version, outcome: 'error' }, value: c.errors },
        ]),
      ),
    );
    register(
      collectedMetric('trinity_prime_feedback_total', 'Feedback received, by model type, version and success', 'counter', () =>
        this.versions().flatMap((c) => [
          { labels: { model_type: c.modelType, model_version: c.version, success: 'true' }, value: c.feedbackSuccess },
          { labels: { model_type: c.modelType, model_version: c.version, success: 'false' }, value: c.feedbackFailure },
        ]),
      ),
    );
    register(
      collectedMetric('trinity_prime_prediction_seconds', 'Time a predictor took for one prediction', 'histogram', () =>
        [...this.latency].flatMap(([modelType, h]) => histogramValues('trinity_prime_prediction_seconds', { model_type: modelType }, h)),
      ),
    );
  }

  private versions(): VersionCounters[] {
    return [...this.byType.values()].flatMap((versions) => [...versions.values()]);
  }

  /** The counters of a version, created at zero on first use. */
  of(modelType: ModelType, version: string): VersionCounters {
    let versions = this.byType.get(modelType);
    if (!versions) this.byType.set(modelType, (versions = new Map()));
    let c = versions.get(version);
    if (!c) {
      let latency = this.latency.get(modelType);
      if (!latency) this.latency.set(modelType, (latency = new LatencyHistogram()));
      c = new VersionCounters(modelType, version, latency);
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

/** A histogram's exposition lines: cumulative `_bucket`s with `le`, then `_sum` and `_count`. */
function histogramValues(name: string, labels: Labels, h: LatencyHistogram): MetricValue[] {
  const out: MetricValue[] = [];
  let cumulative = 0;
  LATENCY_BUCKETS_S.forEach((le, i) => {
    cumulative += h.counts[i];
    out.push({ labels: { ...labels, le: String(le) }, value: cumulative, metricName: `${name}_bucket` });
  });
  cumulative += h.counts[LATENCY_BUCKETS_S.length];
  out.push({ labels: { ...labels, le: '+Inf' }, value: cumulative, metricName: `${name}_bucket` });
  out.push({ labels, value: h.sum, metricName: `${name}_sum` });
  out.push({ labels, value: cumulative, metricName: `${name}_count` });
  return out;
}
