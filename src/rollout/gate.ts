/**
 * The accuracy gate (issue 4, "Gate"): a version whose validation accuracy is clearly below the current
 * stable one's is not deployed unless the request says `force: true`. "Clearly" is more than
 * MAX_VAL_ACCURACY_DROP below, in absolute terms: two trainings on the same data differ by about a point
 * from shuffling and the validation split alone, so a smaller drop is noise, not a worse model.
 *
 * Which accuracies: when the candidate's job evaluated the stable version too, on its own validation
 * split (the manifest's `evaluation`, recorded at completion), those two are compared: same examples,
 * so the difference is the models. Otherwise each version's own val_accuracy, from its own job's split.
 */
import { DeployAccuracyGate } from '../errors.js';
import type { ModelMetrics } from '../registry/index.js';

/** Largest val_accuracy drop (absolute, 0–1) a deploy accepts without `force`. */
export const MAX_VAL_ACCURACY_DROP = 0.02;
/** Keeps a drop of exactly MAX_VAL_ACCURACY_DROP from failing on floating-point dust (0.88 − 0.86). */
const EPSILON = 1e-9;

export interface GateInput {
  modelType: string;
  /** `evaluation` is the candidate manifest's record of both versions on its validation split, if any. */
  candidate: { version: string; metrics: ModelMetrics; evaluation?: unknown };
  /** The stable version now; none means nothing to compare against. */
  stable: { version: string; metrics: ModelMetrics } | undefined;
  force: boolean;
}

/** Where the compared accuracies come from: the candidate job's split, or each version's own. */
export type GateBasis = 'same validation split' | 'own validation splits';

export type GateResult =
  | { passed: true; note: string | null }
  | { passed: false; candidate: number; stable: number; drop: number; basis: GateBasis };

const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

const record = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null);

/** Both accuracies from the candidate's completion evaluation, when it evaluated this stable version. */
function sameSplit(evaluation: unknown, stableVersion: string): { candidate: number; stable: number } | null {
  const e = record(evaluation);
  const candidate = finite(record(e?.candidate)?.accuracy);
  const stable = record(e?.stable);
  if (candidate === null || stable?.version !== stableVersion) return null;
  const accuracy = finite(stable.accuracy);
  return accuracy === null ? null : { candidate, stable: accuracy };
}

function accuracies(input: GateInput & { stable: NonNullable<GateInput['stable']> }): { candidate: number; stable: number; basis: GateBasis } | null {
  const same = sameSplit(input.candidate.evaluation, input.stable.version);
  if (same) return { ...same, basis: 'same validation split' };
  const candidate = finite(input.candidate.metrics.val_accuracy);
  const stable = finite(input.stable.metrics.val_accuracy);
  return candidate === null || stable === null ? null : { candidate, stable, basis: 'own validation splits' };
}

/** Pure: compares and says why. Types without val_accuracy (embedding) and `force` pass with a note. */
export function evaluateGate(input: GateInput): GateResult {
  const { stable } = input;
  if (!stable || stable.version === input.candidate.version) return { passed: true, note: null };
  const a = accuracies({ ...input, stable });
  if (a === null) return { passed: true, note: 'no val_accuracy to compare; gate skipped' };
  const drop = a.stable - a.candidate;
  if (drop <= MAX_VAL_ACCURACY_DROP + EPSILON) return { passed: true, note: null };
  if (input.force) return { passed: true, note: `forced past the accuracy gate (accuracy ${a.candidate} vs stable ${a.stable}, ${a.basis})` };
  return { passed: false, candidate: a.candidate, stable: a.stable, drop, basis: a.basis };
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
    compared_on: r.basis,
  };
  throw DeployAccuracyGate.with(extra, input.modelType, input.candidate.version, r.candidate, MAX_VAL_ACCURACY_DROP, input.stable?.version, r.stable, r.basis);
}
