import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/models/kernels/rng.js';
import { calibrateScope, minInScopeTrials, TARGET_IN_SCOPE_REJECTION, topProbability, WORD_SUPPORT_SHARE } from '../../src/models/nlu/calibration.js';

/** Logits whose softmax is `p` (log-probabilities). */
const logitsOf = (p: number[]) => p.map(Math.log);

/** Three intents; the true one (0) gets `top` (> 1/3, so it is the top one), the other two share the rest. */
const withTop = (top: number) => logitsOf([top, (1 - top) / 2, (1 - top) / 2]);

describe('topProbability', () => {
  it('is the largest softmax probability, or the largest with one intent taken out', () => {
    expect(topProbability(logitsOf([0.7, 0.2, 0.1]))).toBeCloseTo(0.7, 12);
    expect(topProbability(logitsOf([0.7, 0.2, 0.1]), 0)).toBeCloseTo(2 / 3, 12);
    expect(topProbability([400, -300, -310], 0)).toBeCloseTo(1 / (1 + Math.exp(-10)), 12);
  });
});

describe('calibrateScope', () => {
  it('rejects at most 5 % of the in-scope validation examples, and about that many', () => {
    const rng = new Rng(7);
    for (const n of [19, 20, 99, 100, 809, 1348]) {
      const logits = Array.from({ length: n }, () => withTop(0.35 + 0.65 * rng.next()));
      const c = calibrateScope(logits, new Int32Array(n), 'validation');
      const rejected = logits.filter((z) => topProbability(z) < c.threshold).length;
      expect(rejected / n).toBeLessThanOrEqual(TARGET_IN_SCOPE_REJECTION);
      // ⌊0.05 (n + 1)⌋ − 1 of them: the most the conformal quantile allows.
      expect(rejected).toBe(Math.floor(TARGET_IN_SCOPE_REJECTION * (n + 1)) - 1);
      expect(c.in_scope_rejection_rate).toBe(rejected / n);
      expect(c).toMatchObject({ score: 'max_softmax_probability', in_scope_trials: n, calibrated_on: 'validation' });
    }
  });

  it('puts the threshold midway between the last rejected and the first accepted score', () => {
    // 40 examples: k = ⌊0.05 · 41⌋ = 2, so the smallest score is rejected and the second is the first accepted.
    const tops = [0.5, 0.7, ...Array.from({ length: 38 }, () => 0.9)];
    const c = calibrateScope(tops.map(withTop), new Int32Array(tops.length), 'validation');
    expect(c.threshold).toBeCloseTo(0.6, 12);
    expect(c.in_scope_rejection_rate).toBe(1 / 40);
  });

  it('counts unknown trials: an intent the model never saw (-1) and every example without its own intent', () => {
    const tops = Array.from({ length: 39 }, (_, i) => 0.6 + i / 100);
    const logits = [...tops.map(withTop), logitsOf([0.98, 0.01, 0.01]), logitsOf([0.34, 0.33, 0.33])];
    const c = calibrateScope(logits, Int32Array.from([...tops.map(() => 0), -1, -1]), 'validation');
    expect(c.in_scope_trials).toBe(39);
    expect(c.unknown_trials).toBe(39 + 2);
    // The threshold rejects the 0.60 alone. Each left-out trial scores 1/2 (the other two intents share the
    // rest evenly), so all 39 are rejected, as is the unknown at 0.34; the unknown at 0.98 is accepted.
    expect(c.threshold).toBeCloseTo(0.605, 12);
    expect(c.unknown_acceptance_rate).toBeCloseTo(1 / 41, 12);
  });

  it('accepts everything, and says so, when too few in-scope examples support a 5 % quantile', () => {
    const n = minInScopeTrials() - 1;
    const c = calibrateScope(Array.from({ length: n }, () => withTop(0.9)), new Int32Array(n), 'validation');
    expect(c).toMatchObject({ threshold: 0, calibrated_on: 'none', in_scope_rejection_rate: 0, in_scope_trials: n });
    expect(calibrateScope([], new Int32Array(0), 'train')).toMatchObject({ threshold: 0, in_scope_rejection_rate: null, unknown_acceptance_rate: null });
  });
});

describe('calibrateScope with the word check', () => {
  /** Rows most frequent first with these document frequencies: 1000, 999, …, 1. */
  const rowDf = Array.from({ length: 1000 }, (_, r) => 1000 - r);
  const rowsWithDocFreq = (df: number) => rowDf.filter((d) => d >= df).length;

  it('spends a tenth of the budget on the word check and the rest on confidence, rejecting at most 5 % together', () => {
    const rng = new Rng(11);
    for (const n of [199, 400, 999]) {
      const tops = Array.from({ length: n }, () => 0.35 + 0.65 * rng.next());
      // Distinct frequencies, so no tie decides how many the quantile rejects.
      const docFreq = rng.shuffle(Array.from({ length: n }, (_, i) => i + 1)) as number[];
      const c = calibrateScope(tops.map(withTop), new Int32Array(n), 'validation', TARGET_IN_SCOPE_REJECTION, { docFreq, rowsWithDocFreq });
      const w = c.word_support!;
      const unsupported = docFreq.filter((d) => d < w.min_doc_freq).length;
      // ⌊0.005 (n + 1)⌋ − 1 fail the word check, and together ⌊0.05 (n + 1)⌋ − 1 are rejected.
      expect(unsupported).toBe(Math.floor(TARGET_IN_SCOPE_REJECTION * WORD_SUPPORT_SHARE * (n + 1)) - 1);
      expect(w.in_scope_rejection_rate).toBe(unsupported / n);
      const rejected = tops.filter((t, i) => docFreq[i] < w.min_doc_freq || t < c.threshold).length;
      expect(rejected).toBe(Math.floor(TARGET_IN_SCOPE_REJECTION * (n + 1)) - 1);
      expect(c.in_scope_rejection_rate).toBe(rejected / n);
      expect(w).toMatchObject({ score: 'most_frequent_word_doc_freq', share: WORD_SUPPORT_SHARE, rows: 1000 - w.min_doc_freq + 1, trials: n });
    }
  });

  it('rejects an unknown trial whose words are rare in training, however confident the model is', () => {
    // 399 in-scope examples at top 0.9: two with rare words (df 1 and 2; k = ⌊0.005 · 400⌋ = 2, so the first
    // fails the check), the rest with common ones (df 500); two real unknowns at 0.99: one with a common
    // word, one with no known word (df 0).
    const n = 399;
    const docFreq = [1, 2, ...Array.from({ length: n - 2 }, () => 500), 500, 0];
    const logits = [...Array.from({ length: n }, () => withTop(0.9)), logitsOf([0.99, 0.005, 0.005]), logitsOf([0.99, 0.005, 0.005])];
    const labels = Int32Array.from([...Array.from({ length: n }, () => 0), -1, -1]);
    const c = calibrateScope(logits, labels, 'validation', TARGET_IN_SCOPE_REJECTION, { docFreq, rowsWithDocFreq });
    expect(c.word_support).toMatchObject({ min_doc_freq: 2, rows: 999, in_scope_rejection_rate: 1 / n, trials: n });
    // Left-out trials score 1/2 < threshold 0.9: rejected. The common-word unknown is accepted, the other not.
    expect(c.unknown_acceptance_rate).toBeCloseTo(1 / (n + 2), 12);
  });

  it('takes its quantile over the validation examples and the training utterances together', () => {
    // 100 validation examples at df 500 and 1,000 training utterances at df 1..1000: k = ⌊0.005 · 1101⌋ = 5,
    // so the threshold sits between the 5th and 4th smallest of all 1,100 (training's 5 and 4).
    const n = 100;
    const training = Array.from({ length: 1000 }, (_, i) => i + 1);
    const c = calibrateScope(Array.from({ length: n }, () => withTop(0.9)), new Int32Array(n), 'validation', TARGET_IN_SCOPE_REJECTION, {
      docFreq: Array.from({ length: n }, () => 500),
      training,
      rowsWithDocFreq,
    });
    expect(c.word_support).toMatchObject({ min_doc_freq: 5, trials: 1100, in_scope_rejection_rate: 4 / 1100 });
    // No validation example fails it, so confidence keeps the whole budget on the validation split.
    expect(c.in_scope_rejection_rate).toBe(0);
  });

  it('is left out when too few in-scope examples support its quantile, and confidence keeps the whole budget', () => {
    const n = Math.ceil(1 / (TARGET_IN_SCOPE_REJECTION * WORD_SUPPORT_SHARE)) - 2;
    const tops = Array.from({ length: n }, (_, i) => 0.4 + i / (2 * n));
    const c = calibrateScope(tops.map(withTop), new Int32Array(n), 'validation', TARGET_IN_SCOPE_REJECTION, { docFreq: tops.map(() => 1), rowsWithDocFreq });
    expect(c.word_support).toBeUndefined();
    expect(c).toEqual(calibrateScope(tops.map(withTop), new Int32Array(n), 'validation'));
  });
});
