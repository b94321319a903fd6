import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/training/rng.js';
import { initTf, type Tf } from '../../src/training/tf.js';
import { softmaxCrossEntropy } from '../../src/training/trainers/dense-step.js';
import { initCnnParams, VisionCnn, type CnnLayout } from '../../src/training/trainers/vision-cnn.js';
import { ShardedGradient } from '../../src/training/trainers/vision-shards.js';

const layout: CnnLayout = { height: 8, width: 8, channels: 1, filters: [4, 6], classes: 3 };
const COUNT = 40;

let tf: Tf;
let images: Float32Array;
let labels: Int32Array;
beforeAll(async () => {
  tf = await initTf();
  const rng = new Rng(5);
  images = new Float32Array(new SharedArrayBuffer(4 * COUNT * 64));
  for (let i = 0; i < images.length; i++) images[i] = rng.next();
  labels = Int32Array.from({ length: COUNT }, (_, i) => i % layout.classes);
});

describe('ShardedGradient', () => {
  it('computes bit for bit the same gradient and totals on a worker thread as on this one', async () => {
    const params = initCnnParams(layout, new Rng(9));
    const order = Uint32Array.from({ length: COUNT }, (_, i) => (i * 7) % COUNT);
    const results = [];
    for (const threads of [1, 2]) {
      const cnn = new VisionCnn(tf, layout, params);
      const shards = new ShardedGradient(cnn, images, 16, threads);
      // The worker loads TF.js in the background; this thread computes alone until it is ready.
      for (let waited = 0; threads === 2 && !shards.threaded && waited < 30_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      expect(shards.threaded).toBe(threads === 2);
      const grads = [];
      const totals = [];
      for (const [start, end] of [[0, 16], [16, 32], [32, 39]]) {
        const grad = new Float32Array(params.length);
        totals.push(shards.gradient(order, labels, start, end, 0.1, grad));
        grads.push(Buffer.from(grad.buffer));
      }
      shards.close();
      shards.close();
      results.push({ grads, totals });
    }
    expect(results[1]).toEqual(results[0]);
  });

  it('is the mean of its two halves: the gradient of the whole batch up to rounding', async () => {
    const params = initCnnParams(layout, new Rng(9));
    const cnn = new VisionCnn(tf, layout, params);
    const order = Uint32Array.from({ length: COUNT }, (_, i) => i);
    const shards = new ShardedGradient(cnn, images, 16, 1);
    const split = new Float32Array(params.length);
    const totals = shards.gradient(order, labels, 0, 16, 0, split);
    const whole = new Float32Array(params.length);
    const y = labels.subarray(0, 16);
    let expected = { lossSum: 0, correct: 0 };
    cnn.gradient(images, order, 0, 16, (logits, d) => (expected = softmaxCrossEntropy(logits, y, 16, layout.classes, 0, d)), whole);
    expect(totals.correct).toBe(expected.correct);
    expect(totals.lossSum).toBeCloseTo(expected.lossSum, 4);
    const scale = Math.max(...whole.map(Math.abs));
    for (let i = 0; i < whole.length; i++) expect(Math.abs(split[i] - whole[i])).toBeLessThanOrEqual(1e-5 * scale);
  });
});
