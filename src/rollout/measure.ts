/**
 * The figures the controller decides on (docs/prime-protocol.md "Per-version error rate"): outcomes are
 * predictions that threw plus feedback, errors are throws plus negative feedback, both measured from the
 * start of the current step. Also the two-proportion z-test of ab_test. Pure functions.
 */
import type { CountsByVersion, VersionCounts } from './types.js';

export const ZERO_COUNTS: Readonly<VersionCounts> = Object.freeze({ requests: 0, errors: 0, feedbackSuccess: 0, feedbackFailure: 0 });

export interface StepFigures {
  /** errors + feedback_success + feedback_failure. */
  outcomes: number;
  /** errors + feedback_failure. */
  errors: number;
  /** errors / outcomes; 0 without outcomes. */
  errorRate: number;
  requests: number;
}

export function countsOf(map: CountsByVersion, version: string | null): VersionCounts {
  return (version !== null && map[version]) || ZERO_COUNTS;
}

/** `a − b` field by field, never below 0 (a baseline from another prime instance may be larger). */
export function subtractCounts(a: VersionCounts, b: VersionCounts): VersionCounts {
  return {
    requests: Math.max(0, a.requests - b.requests),
    errors: Math.max(0, a.errors - b.errors),
    feedbackSuccess: Math.max(0, a.feedbackSuccess - b.feedbackSuccess),
    feedbackFailure: Math.max(0, a.feedbackFailure - b.feedbackFailure),
  };
}

export function addCounts(a: VersionCounts, b: VersionCounts): VersionCounts {
  return {
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    feedbackSuccess: a.feedbackSuccess + b.feedbackSuccess,
    feedbackFailure: a.feedbackFailure + b.feedbackFailure,
  };
}

export function figuresOf(c: VersionCounts): StepFigures {
  const errors = c.errors + c.feedbackFailure;
  const outcomes = errors + c.feedbackSuccess;
  return { outcomes, errors, errorRate: outcomes === 0 ? 0 : errors / outcomes, requests: c.requests };
}

/** A version's figures since the window started. */
export function stepFigures(counts: CountsByVersion, baseline: CountsByVersion, version: string | null): StepFigures {
  return figuresOf(subtractCounts(countsOf(counts, version), countsOf(baseline, version)));
}

/**
 * True when the canary's error rate is over the limit on enough evidence. With `minSamples` outcomes in,
 * the measured rate decides. Before that, only a count of errors that keeps the rate over the limit even
 * if every remaining outcome up to `minSamples` succeeds: one early failure out of one outcome is noise,
 * three out of three (at 0.05 over 50) already fail the step whatever follows, so waiting would only send
 * more users to a version that has lost.
 */
export function isBreached(f: StepFigures, limit: number, minSamples: number): boolean {
  if (f.outcomes === 0 || f.errorRate <= limit) return false;
  return f.outcomes >= minSamples || f.errors > limit * minSamples;
}

export interface ZTest {
  /** (canary rate − stable rate) / pooled standard error; negative means the canary errs less. */
  z: number;
  /** The two-sided critical value for the confidence. */
  critical: number;
  verdict: 'better' | 'worse' | 'inconclusive';
}

/** Two-proportion z-test of the canary's error rate against stable's, two-sided at `confidence`. */
export function twoProportionZTest(canary: StepFigures, stable: StepFigures, confidence: number): ZTest {
  const critical = normalQuantile(1 - (1 - confidence) / 2);
  const n1 = canary.outcomes;
  const n2 = stable.outcomes;
  if (n1 === 0 || n2 === 0) return { z: 0, critical, verdict: 'inconclusive' };
  const pooled = (canary.errors + stable.errors) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  // Both arms all-success or all-error: no variance, no evidence of a difference.
  const z = se === 0 ? 0 : (canary.errorRate - stable.errorRate) / se;
  const verdict = z <= -critical ? 'better' : z >= critical ? 'worse' : 'inconclusive';
  return { z, critical, verdict };
}

/**
 * Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9), so any
 * AB_TEST_CONFIDENCE_THRESHOLD works, not just a table of the usual ones.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p <= 0 ? -Infinity : Infinity;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Rounds a figure for messages and events: 3 decimals for rates, enough to read, stable to compare. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
