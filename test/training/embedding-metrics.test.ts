import { describe, expect, it } from 'vitest';
import { averageRanks, pearson, recallAtOne, spearman } from '../../src/models/kernels/metrics.js';

describe('averageRanks', () => {
  it('gives tied values the mean of the ranks they span', () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([3, 1, 4, 1, 5]))).toEqual([3, 1.5, 4, 1.5, 5]);
    expect(Array.from(averageRanks([7, 7, 7]))).toEqual([2, 2, 2]);
  });
});

describe('spearman', () => {
  // Reference values from scipy.stats.spearmanr 1.17 (average ranks for ties).
  it('matches scipy on data with and without ties', () => {
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(0.8207826816681233, 12);
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(0.9486832980505139, 12);
    expect(spearman([3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8])).toBeCloseTo(0.19885368120992467, 12);
  });

  it('is ±1 for monotone relations, whatever their shape', () => {
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
  });

  it('is NaN when undefined: fewer than two values, a constant side, or a NaN value', () => {
    expect(spearman([1], [2])).toBeNaN();
    expect(spearman([1, 2, 3], [4, 4, 4])).toBeNaN();
    expect(spearman([1, NaN, 3], [1, 2, 3])).toBeNaN();
    expect(pearson([], [])).toBeNaN();
  });

  it('rejects sides of different lengths with a RangeError', () => {
    expect(() => spearman([1, 2], [1])).toThrow(RangeError);
  });
});

describe('recallAtOne', () => {
  const unit = (deg: number): number[] => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];

  it('counts the queries whose own candidate is the strict nearest', () => {
    const queries = [...unit(0), ...unit(90), ...unit(180)];
    // Query 1 (90°) has candidate 0 (60°) nearer than its own (170°): one miss out of three.
    const candidates = [...unit(60), ...unit(170), ...unit(175)];
    expect(recallAtOne(queries, candidates, 3, 2)).toBeCloseTo(2 / 3, 12);
  });

  it('scores a collapsed encoder 0: a tie with another candidate is a miss', () => {
    const same = [1, 0, 1, 0, 1, 0];
    expect(recallAtOne(same, same, 3, 2)).toBe(0);
  });

  it('skips candidates that are the same text as the query own one', () => {
    const same = [1, 0, 1, 0];
    expect(recallAtOne(same, same, 2, 2, [7, 7])).toBe(1);
  });

  it('is NaN for no queries and rejects short inputs', () => {
    expect(recallAtOne([], [], 0, 4)).toBeNaN();
    expect(() => recallAtOne([1, 0], [1, 0], 2, 2)).toThrow(RangeError);
  });
});
