import { describe, expect, it } from 'vitest';
import { initTf } from '../../src/training/tf.js';

describe('initTf', () => {
  it('loads TF.js once on the single-threaded wasm backend and shares it between callers', async () => {
    const [a, b] = await Promise.all([initTf(), initTf()]);
    expect(a).toBe(b);
    expect(a.getBackend()).toBe('wasm');
    expect(await initTf()).toBe(a);
    const product = a.tidy(() => a.matMul(a.tensor2d([[1, 2]]), a.tensor2d([[3], [4]])).dataSync());
    expect(Array.from(product)).toEqual([11]);
  });
});
