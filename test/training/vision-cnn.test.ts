import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/training/rng.js';
import { initTf, type Tf } from '../../src/training/tf.js';
import { softmaxCrossEntropy } from '../../src/training/trainers/dense-step.js';
import { cnnParamSizes, initCnnParams, VisionCnn, type CnnLayout } from '../../src/training/trainers/vision-cnn.js';
import { referenceGradient } from '../fixtures/cnn-reference.js';

let tf: Tf;
beforeAll(async () => {
  tf = await initTf();
});

describe('VisionCnn', () => {
  it.each([
    ['8×8 grey, one pool each side of conv 2', { height: 8, width: 8, channels: 1, filters: [4, 6], classes: 3 }],
    ['16×16 RGB, pooled after both convolutions', { height: 16, width: 16, channels: 3, filters: [3, 5], classes: 4 }],
    ['12×8 grey, not square', { height: 12, width: 8, channels: 1, filters: [2, 3], classes: 5 }],
  ] as [string, CnnLayout][])('computes the gradient of the smoothed cross-entropy a plain float64 reference does (%s)', (_name, layout) => {
    const rng = new Rng(3);
    const n = 5;
    const x = Float32Array.from({ length: n * layout.height * layout.width * layout.channels }, () => rng.next());
    const labels = Int32Array.from({ length: n }, (_, i) => i % layout.classes);
    const params = initCnnParams(layout, rng);
    // Non-zero biases, so the gradient through them is exercised too.
    for (let i = 0; i < params.length; i++) if (params[i] === 0) params[i] = 0.05 * (rng.next() - 0.5);
    const cnn = new VisionCnn(tf, layout, params);
    const grad = new Float32Array(params.length);
    const before = tf.memory().numTensors;
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    cnn.gradient(x, order, 0, n, (logits, dLogits) => softmaxCrossEntropy(logits, labels, n, layout.classes, 0.1, dLogits), grad);
    expect(tf.memory().numTensors).toBe(before);
    const ref = referenceGradient(layout, params, x, labels, n, 0.1);
    let offset = 0;
    for (const size of cnnParamSizes(layout)) {
      let diff = 0;
      let norm = 0;
      for (let i = offset; i < offset + size; i++) {
        diff += (grad[i] - ref[i]) ** 2;
        norm += ref[i] ** 2;
      }
      expect(Math.sqrt(diff)).toBeLessThanOrEqual(1e-4 * Math.sqrt(norm) + 1e-9);
      offset += size;
    }
    cnn.dispose();
  });
});
