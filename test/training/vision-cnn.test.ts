/**
 * The served forward pass (VisionForward, read by vision-predictor.ts) against the network training runs
 * (the onnxruntime graphs of src/models/graph/cnn-graphs.ts, whose backward is checked against the
 * float64 reference in test/models/graph/cnn-graphs.test.ts): the same logits up to float32 rounding, on
 * every layout the trainer builds, and the same logits and labels on real digits after training.
 */
import { describe, expect, it } from 'vitest';
import { buildCnnInferenceGraph, firstLayerPatches, firstPatchRows, firstPatchWidth } from '../../src/models/graph/cnn-graphs.js';
import { Rng } from '../../src/models/kernels/rng.js';
import { initCnnParams, type CnnLayout } from '../../src/models/vision/cnn.js';
import { VisionForward } from '../../src/models/vision/forward.js';
import { inputSize, readVisionInput, toModelInput, type VisionGeometry } from '../../src/models/vision/input.js';
import { VISION_DEFAULTS } from '../../src/models/vision/options.js';
import { CnnOptimizer } from '../../src/models/vision/train.js';
import { CNN_TEST_LAYOUTS } from '../fixtures/cnn-reference.js';
import { readOptdigits, type DigitRow } from '../fixtures/vision-optdigits.js';
import { maxRelError, runGraph } from '../models/graph/reference.js';

/** Row-wise argmax of [n, classes] scores. */
function argmaxRows(scores: Float32Array, classes: number): number[] {
  return Array.from({ length: scores.length / classes }, (_, i) => {
    let best = 0;
    for (let j = 1; j < classes; j++) if (scores[i * classes + j] > scores[i * classes + best]) best = j;
    return best;
  });
}

describe('VisionForward', () => {
  it.each(CNN_TEST_LAYOUTS)('serves the logits the training graph computes (%s)', async (_name, layout) => {
    const rng = new Rng(3);
    const n = 5;
    const x = Float32Array.from({ length: n * layout.height * layout.width * layout.channels }, () => rng.next());
    // Some exact zeros: the served convolutions skip them, the graph does not.
    for (let i = 0; i < x.length; i += 3) x[i] = 0;
    const params = initCnnParams(layout, rng);
    for (let i = 0; i < params.length; i++) if (params[i] === 0) params[i] = 0.05 * (rng.next() - 0.5);
    const served = new VisionForward(layout, params).logits(x, n);
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    const patches = new Float32Array(firstPatchRows(layout) * n * firstPatchWidth(layout));
    firstLayerPatches(layout, x, order, 0, n, patches);
    const trained = await runGraph(buildCnnInferenceGraph(layout), { patches: [patches, [firstPatchRows(layout) * n, firstPatchWidth(layout)]], params: [params, [params.length]] });
    expect(maxRelError(served, trained.logits)).toBeLessThan(1e-5);
  });

  it('serves the logits and labels of the onnxruntime forward on 500 optdigits test digits, after training on 1,024', async () => {
    const geometry: VisionGeometry = { width: 8, height: 8, channels: 1, pixelScale: 16 };
    const layout: CnnLayout = { height: 8, width: 8, channels: 1, filters: [...VISION_DEFAULTS.filters.small] as [number, number], classes: 10 };
    const stack = (rows: readonly DigitRow[]): Float32Array => {
      const data = new Float32Array(rows.length * inputSize(geometry));
      rows.forEach((r, i) => toModelInput(readVisionInput({ pixels: r.pixels, width: 8, height: 8 }), geometry, data, i * inputSize(geometry)));
      return data;
    };
    const train = readOptdigits('train').slice(0, 1024);
    const test = readOptdigits('test').slice(0, 500);
    const labels = Int32Array.from(train, (r) => Number(r.label));
    const adam = { learningRate: VISION_DEFAULTS.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
    const optimizer = await CnnOptimizer.create(layout, initCnnParams(layout, new Rng(5)), adam, 1);
    const data = stack(train);
    const order = Uint32Array.from({ length: train.length }, (_, i) => i);
    // 16 steps of 64 digits, 4 runs of 4 steps.
    for (let start = 0, t = 1; start < train.length; start += 4 * 64, t += 4) {
      await optimizer.trainSteps(data, { labels, order, start, size: 64, steps: 4, labelSmoothing: VISION_DEFAULTS.labelSmoothing }, adam, [adam.learningRate, adam.learningRate, adam.learningRate, adam.learningRate], t);
    }
    const testData = stack(test);
    const trained = await optimizer.logits(testData, Uint32Array.from({ length: test.length }, (_, i) => i), 0, test.length);
    const served = new VisionForward(layout, optimizer.getParams()).logits(testData, test.length);
    optimizer.dispose();
    expect(maxRelError(served, trained)).toBeLessThan(1e-5);
    const servedLabels = argmaxRows(served, 10);
    expect(servedLabels).toEqual(argmaxRows(trained, 10));
    // A trained network, so the comparison covers real activations (most of them zero after the ReLUs).
    expect(servedLabels.filter((y, i) => y === Number(test[i].label)).length / test.length).toBeGreaterThan(0.85);
  });

  it('trains to the same bits whether the training set’s patches are cut once or run by run', async () => {
    const geometry: VisionGeometry = { width: 8, height: 8, channels: 1, pixelScale: 16 };
    const layout: CnnLayout = { height: 8, width: 8, channels: 1, filters: [...VISION_DEFAULTS.filters.small] as [number, number], classes: 10 };
    const rows = readOptdigits('train').slice(0, 200);
    const data = new Float32Array(rows.length * inputSize(geometry));
    rows.forEach((r, i) => toModelInput(readVisionInput({ pixels: r.pixels, width: 8, height: 8 }), geometry, data, i * inputSize(geometry)));
    const labels = Int32Array.from(rows, (r) => Number(r.label));
    const order = new Rng(3).shuffle(Uint32Array.from({ length: rows.length }, (_, i) => i)) as Uint32Array;
    const adam = { learningRate: VISION_DEFAULTS.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
    const params = initCnnParams(layout, new Rng(4));
    const [kept, cut] = await Promise.all([CnnOptimizer.create(layout, params, adam, 1), CnnOptimizer.create(layout, params, adam, 1, 0)]);
    for (const optimizer of [kept, cut]) {
      // Runs of 5 and 1 steps of 32, then the last 8 digits alone.
      for (const [start, size, steps] of [[0, 32, 5], [160, 32, 1], [192, 8, 1]]) {
        await optimizer.trainSteps(data, { labels, order, start, size, steps, labelSmoothing: 0.1 }, adam, Array(steps).fill(adam.learningRate), start / 32 + 1);
      }
    }
    const [a, b] = [kept.getParams(), cut.getParams()];
    const [ta, tb] = [kept.takeTotals(), cut.takeTotals()];
    kept.dispose();
    cut.dispose();
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(ta).toEqual(tb);
    expect(maxRelError(a, params)).toBeGreaterThan(1e-3);
  });

  it('turns the logits into probabilities that sum to 1 and rank as the logits do', () => {
    const layout = CNN_TEST_LAYOUTS[0][1];
    const rng = new Rng(9);
    const forward = new VisionForward(layout, initCnnParams(layout, rng));
    const x = Float32Array.from({ length: 2 * layout.height * layout.width }, () => rng.next());
    const logits = forward.logits(x, 2);
    const p = forward.probabilities(x, 2);
    for (let e = 0; e < 2; e++) expect(p.subarray(e * layout.classes, (e + 1) * layout.classes).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(argmaxRows(p, layout.classes)).toEqual(argmaxRows(logits, layout.classes));
  });

  it('refuses parameters of the wrong length', () => {
    const layout = CNN_TEST_LAYOUTS[0][1];
    expect(() => new VisionForward(layout, new Float32Array(3))).toThrow(/cnn parameters have 3 values, the layout needs/);
  });
});
