import { describe, expect, it } from 'vitest';
import { calibrate, FALLBACK_THRESHOLD, trialScores } from '../../src/models/voice/calibration.js';

/** Logits whose softmax is `p` (log-probabilities). */
const logitsOf = (p: number[]) => p.map(Math.log);

describe('trialScores', () => {
  it('scores a correct prediction by its confidence and the impostor by the softmax without the true user', () => {
    const s = trialScores(logitsOf([0.7, 0.2, 0.1]), 0);
    expect(s.genuine).toBeCloseTo(0.7, 12);
    // Without user 0 the remaining users share 0.3 as 2:1.
    expect(s.impostor).toBeCloseTo(2 / 3, 12);
  });

  it('with two users, scores the impostor by the probability of the other enrolled user', () => {
    const s = trialScores(logitsOf([0.8, 0.2]), 0);
    expect(s.genuine).toBeCloseTo(0.8, 12);
    expect(s.impostor).toBeCloseTo(0.2, 12);
    expect(calibrate([logitsOf([0.8, 0.2])], [0], 'validation').impostors).toBe('other_user');
  });

  it('gives a misidentified genuine trial no score (it can never be accepted as its own user)', () => {
    expect(trialScores(logitsOf([0.2, 0.7, 0.1]), 0).genuine).toBe(-Infinity);
  });

  it('stays finite when the true user takes all the probability mass (saturated logits)', () => {
    const s = trialScores([400, -300, -310], 0);
    expect(s.genuine).toBe(1);
    expect(s.impostor).toBeCloseTo(1 / (1 + Math.exp(-10)), 12);
  });
});

describe('calibrate', () => {
  it('puts the threshold where genuine and impostor scores separate, with both error rates 0', () => {
    // Confident and right every time; the best other user never exceeds 0.6 once the true one is removed.
    const logits = [logitsOf([0.97, 0.018, 0.012]), logitsOf([0.015, 0.98, 0.005]), logitsOf([0.01, 0.01, 0.98])];
    const c = calibrate(logits, [0, 1, 2], 'validation');
    expect(c).toMatchObject({ rule: 'equal_error_rate', impostors: 'leave_one_user_out', false_accept_rate: 0, false_reject_rate: 0, equal_error_rate: 0, genuine_trials: 3, impostor_trials: 3, calibrated_on: 'validation' });
    // Midway between the highest impostor score (0.75) and the lowest genuine one (0.97).
    expect(c.threshold).toBeCloseTo(0.86, 12);
  });

  it('balances the two error rates when the scores overlap', () => {
    // Genuine scores 0.9, 0.8, 0.6, 0.5; impostor scores 0.9, 0.7, 0.4, 0.3. At t = 0.8: FAR 1/4, FRR 2/4
    // (the best worst case; t = 0.7 also has 2/4 but a larger sum, t = 0.9 has FRR 3/4).
    const two = (g: number, imp: number) => {
      // Three users: g for the true one; the rest split imp : 1 − imp, so the impostor score is imp.
      const rest = 1 - g;
      return logitsOf([g, rest * imp, rest * (1 - imp)]);
    };
    const logits = [two(0.9, 0.9), two(0.8, 0.7), two(0.6, 0.4), two(0.5, 0.3)];
    const c = calibrate(logits, [0, 0, 0, 0], 'validation');
    expect(c.false_accept_rate).toBe(0.25);
    expect(c.false_reject_rate).toBe(0.5);
    // Any threshold in (0.7, 0.8] gives these rates; the midpoint is used.
    expect(c.threshold).toBeCloseTo(0.75, 12);
  });

  it('counts a user the model never saw (label -1) as an impostor trial scored by its top confidence', () => {
    const c = calibrate([logitsOf([0.9, 0.05, 0.05]), logitsOf([0.95, 0.03, 0.02])], [0, -1], 'validation');
    expect(c.genuine_trials).toBe(1);
    expect(c.impostor_trials).toBe(2);
    // Accepting the one genuine trial (0.9) means accepting the stranger (0.95) too: FAR 1/2 beats FRR 1.
    expect(c).toMatchObject({ false_accept_rate: 0.5, false_reject_rate: 0 });
    expect(c.threshold).toBeCloseTo(0.7, 12);
  });

  it('falls back to the documented threshold when there are no trials', () => {
    expect(calibrate([], [], 'validation')).toMatchObject({ threshold: FALLBACK_THRESHOLD, false_accept_rate: null, false_reject_rate: null, calibrated_on: 'none' });
  });
});
