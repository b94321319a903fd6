/**
 * The `authenticated` threshold, calibrated on held-out examples.
 *
 * A prediction names the most likely enrolled user; `authenticated` says its confidence (that user's
 * softmax probability) reaches the threshold. Two kinds of trial decide where the threshold goes:
 * - genuine: an enrolled user speaks. Correctly accepted when the model names them with confidence ≥ t;
 *   otherwise (wrong user, or too unsure) a false reject.
 * - impostor: someone the model does not know speaks. With three or more users this is played out for every
 *   held-out example by taking its true user out of the softmax: the confidence the best other user then
 *   gets is what an unenrolled voice like this one would score ('leave_one_user_out'). With two users that
 *   softmax would always be 1, so the impostor is the other enrolled user instead: the probability the
 *   model gives the wrong user ('other_user', a closed-set figure). A validation example of a user the
 *   model never enrolled is a real impostor, scored by its top confidence. Accepted when ≥ t.
 * Rule: the equal-error-rate point, the threshold that minimises the larger of the two error rates (ties:
 * the smaller sum, then the higher threshold), placed midway between the two scores around it. It balances
 * lock-outs against break-ins without a target the caller would have to choose, and it is the figure
 * speaker-verification results are compared by. The constructed impostor is pessimistic for a softmax
 * classifier (the remaining users are the closest voices it knows), so the false-accept rate errs on the
 * safe side.
 */

export const CALIBRATION_RULE = 'equal_error_rate' as const;
/** Used when there is nothing to calibrate on: a majority vote over the users, which at least means something. */
export const FALLBACK_THRESHOLD = 0.5;

export type ImpostorModel = 'leave_one_user_out' | 'other_user';

/** Fewer users than this and leaving the true one out leaves a softmax over one user, which is always 1. */
const MIN_USERS_TO_LEAVE_ONE_OUT = 3;

export function impostorModel(users: number): ImpostorModel {
  return users >= MIN_USERS_TO_LEAVE_ONE_OUT ? 'leave_one_user_out' : 'other_user';
}

export interface VoiceCalibration {
  rule: typeof CALIBRATION_RULE;
  threshold: number;
  /** Share of impostor trials accepted at the threshold; null without trials. */
  false_accept_rate: number | null;
  /** Share of genuine trials not accepted as their own user at the threshold; null without trials. */
  false_reject_rate: number | null;
  /** Mean of the two rates at the threshold (they are equal up to the data's granularity). */
  equal_error_rate: number | null;
  genuine_trials: number;
  impostor_trials: number;
  /** How impostor trials were constructed (see above). */
  impostors: ImpostorModel;
  /** Which examples the threshold was fitted on: the validation split, or the training set when that was empty. */
  calibrated_on: 'validation' | 'train' | 'none';
}

/** Genuine and impostor scores of one example from its logits and true label id (see the rule above). */
export function trialScores(logits: ArrayLike<number>, label: number): { genuine: number; impostor: number } {
  let best = 0;
  for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) max = Math.max(max, logits[j]);
  let sum = 0;
  for (let j = 0; j < logits.length; j++) sum += Math.exp(logits[j] - max);
  const genuine = best === label ? Math.exp(logits[label] - max) / sum : -Infinity;
  let otherMax = -Infinity;
  for (let j = 0; j < logits.length; j++) if (j !== label) otherMax = Math.max(otherMax, logits[j]);
  if (otherMax === -Infinity) return { genuine, impostor: -Infinity };
  if (impostorModel(logits.length) === 'other_user') return { genuine, impostor: Math.exp(otherMax - max) / sum };
  // Softmax without the true user: its largest probability is 1 / Σ exp(z_j − z_max) over j ≠ label.
  let otherSum = 0;
  for (let j = 0; j < logits.length; j++) if (j !== label) otherSum += Math.exp(logits[j] - otherMax);
  return { genuine, impostor: 1 / otherSum };
}

/** The smallest double above a finite x (JS has no Math.nextUp). */
function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigInt64(0, view.getBigInt64(0) + (x > 0 ? 1n : -1n));
  return view.getFloat64(0);
}

/**
 * Every threshold in (candidates[i-1], candidates[i]] accepts the same trials; the middle of that gap is
 * the choice farthest from both neighbouring scores, so unseen scores near them are least likely to flip.
 */
function marginThreshold(candidates: readonly number[], i: number): number {
  const t = candidates[i];
  if (i === 0 || i === candidates.length - 1) return t;
  const mid = (candidates[i - 1] + t) / 2;
  // Adjacent doubles: the midpoint can round down onto the lower score, which would accept it.
  return mid > candidates[i - 1] ? mid : t;
}

/** Fraction of `sorted` (ascending) that is ≥ t. */
function shareAtLeast(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return (sorted.length - lo) / sorted.length;
}

/** The threshold at the equal-error-rate point for these trials; `labels` of -1 (unknown users) count as impostors only. */
export function calibrate(logits: readonly ArrayLike<number>[], labels: ArrayLike<number>, calibratedOn: VoiceCalibration['calibrated_on']): VoiceCalibration {
  const impostors = impostorModel(logits[0]?.length ?? 0);
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i];
    if (labels[i] < 0) {
      // A user the model never enrolled is a real impostor: its top confidence is its score.
      let max = -Infinity;
      for (let j = 0; j < z.length; j++) max = Math.max(max, z[j]);
      let sum = 0;
      for (let j = 0; j < z.length; j++) sum += Math.exp(z[j] - max);
      impostor.push(1 / sum);
      continue;
    }
    const s = trialScores(z, labels[i]);
    genuine.push(s.genuine);
    if (Number.isFinite(s.impostor)) impostor.push(s.impostor);
  }
  if (genuine.length === 0 || impostor.length === 0) {
    return { rule: CALIBRATION_RULE, threshold: FALLBACK_THRESHOLD, false_accept_rate: null, false_reject_rate: null, equal_error_rate: null, genuine_trials: genuine.length, impostor_trials: impostor.length, impostors, calibrated_on: 'none' };
  }
  const g = Float64Array.from(genuine).sort();
  const imp = Float64Array.from(impostor).sort();
  const candidates = [...new Set([...g, ...imp].filter((s) => Number.isFinite(s)))].sort((a, b) => a - b);
  // Just above every score: nothing is accepted (FAR 0, FRR 1); it competes like any other candidate.
  candidates.push(nextUp(candidates[candidates.length - 1] ?? 0));
  let best = { index: 0, far: 1, frr: 1 };
  candidates.forEach((t, index) => {
    const far = shareAtLeast(imp, t);
    const frr = 1 - shareAtLeast(g, t);
    const byMax = Math.max(far, frr) - Math.max(best.far, best.frr);
    const bySum = far + frr - (best.far + best.frr);
    // Candidates ascend, so on a full tie the later (higher) threshold wins.
    if (byMax < 0 || (byMax === 0 && bySum <= 0)) best = { index, far, frr };
  });
  return {
    rule: CALIBRATION_RULE,
    threshold: marginThreshold(candidates, best.index),
    false_accept_rate: best.far,
    false_reject_rate: best.frr,
    equal_error_rate: (best.far + best.frr) / 2,
    genuine_trials: g.length,
    impostor_trials: imp.length,
    impostors,
    calibrated_on: calibratedOn,
  };
}
