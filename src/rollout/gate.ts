/**
 * The accuracy gate (issue 4, "Gate"): a version whose validation accuracy is clearly below the current
 * stable one's is not deployed unless the request says `force: true`. "Clearly" is more than
 * MAX_VAL_ACCURACY_DROP below, in absolute terms: two trainings on the same data differ by about a point
 * from shuffling and the validation split alone, so a smaller drop is noise, not a worse model.
 */
import { DeployAccuracyGate } from '../errors.js';
import type { ModelMetrics } from '../registry/index.js';

/** Largest val_accuracy drop (absolute, 0–1) a deploy accepts without `force`. */
export const MAX_VAL_ACCURACY_DROP = 0.02;
/** Keeps a drop of exactly MAX_VAL_ACCURACY_DROP from failing on floating-point dust (0.88 − 0.86). */
const EPSILON = 1e-9;

export interface GateInput {
  modelType: string;
  candidate: { version: string; metrics: ModelMetrics };
  /** The stable version now; none means nothing to compare against. */
  stable: { version: string; metrics: ModelMetrics } | undefined;
  force: boolean;
}

export type GateResult =
  | { passed: true; note: string | null }
  | { passed: false; candidate: number; stable: number; drop: number };

function accuracyOf(m: ModelMetrics): number | null {
  const v = m.val_accuracy;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Pure: compares and says why. Types without val_accuracy (embedding) and `force` pass with a note. */
export function evaluateGate(input: GateInput): GateResult {
  if (!input.stable || input.stable.version === input.candidate.version) return { passed: true, note: null };
  const candidate = accuracyOf(input.candidate.metrics);
  const stable = accuracyOf(input.stable.metrics);
  if (candidate === null || stable === null) return { passed: true, note: 'no val_accuracy to compare; gate skipped' };
  const drop = stable - candidate;
  if (drop <= MAX_VAL_ACCURACY_DROP + EPSILON) return { passed: true, note: null };
  if (input.force) return { passed: true, note: `forced past the accuracy gate (val_accuracy ${candidate} vs stable ${stable})` };
  return { passed: false, candidate, stable, drop };
}

/** Throws TRN_ERR_DEPLOY_ACCURACY_GATE (422) with both accuracies when the gate refuses. */
export function assertGate(input: GateInput): string | null {
  const r = evaluateGate(input);
  if (r.passed) return r.note;
  const extra = {
    candidate_version: input.candidate.version,
    candidate_val_accuracy: r.candidate,
    stable_version: input.stable?.version,
    stable_val_accuracy: r.stable,
    max_drop: MAX_VAL_ACCURACY_DROP,
  };
  throw DeployAccuracyGate.with(extra, input.modelType, input.candidate.version, r.candidate, MAX_VAL_ACCURACY_DROP, input.stable?.version, r.stable);
}
