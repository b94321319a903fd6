import { describe, expect, it } from 'vitest';
import { EstimateReuse, REUSE_GROWTH } from '../../src/training/estimate-reuse.js';
import type { EstimateResponse } from '../../src/training/training-types.js';

const answer = (examples: number): EstimateResponse => ({ model_type: 'nlu', memory_bytes: examples * 1000, memory_gb: null, basis: 'test', examples });

describe('EstimateReuse', () => {
  it('computes once for callers asking together and while the buffer grows by less than REUSE_GROWTH', async () => {
    const reuse = new EstimateReuse();
    let computed = 0;
    const compute = (rows: number) => async () => {
      computed++;
      await new Promise((r) => setTimeout(r, 20));
      return answer(rows);
    };
    const [a, b] = await Promise.all([reuse.get('nlu', 1000, compute(1000)), reuse.get('nlu', 1000, compute(1000))]);
    expect(a).toBe(b);
    expect(computed).toBe(1);
    expect(await reuse.get('nlu', Math.floor(1000 * (1 + REUSE_GROWTH)), compute(1100))).toEqual(answer(1000));
    expect(computed).toBe(1);
    // Grown by more, or a different job (options): computed again.
    expect(await reuse.get('nlu', 1101, compute(1101))).toEqual(answer(1101));
    expect(await reuse.get('nlu {"batchSize":8}', 1101, compute(7))).toEqual(answer(7));
    // Fewer rows than it was computed on (a new quality threshold): computed again.
    expect(await reuse.get('nlu', 900, compute(900))).toEqual(answer(900));
    expect(computed).toBe(4);
  });

  it('does not keep a refusal: the next ask computes again', async () => {
    const reuse = new EstimateReuse();
    await expect(reuse.get('nlu', 0, async () => Promise.reject(new Error('no data')))).rejects.toThrow('no data');
    expect(await reuse.get('nlu', 0, async () => answer(5))).toEqual(answer(5));
  });
});
