/**
 * The served forward pass (VisionCnn on TF.js, read by vision-predictor.ts) against the network training
 * runs (the onnxruntime graphs of src/models/graph/cnn-graphs.ts, whose backward is checked against the
 * float64 reference in test/models/graph/cnn-graphs.test.ts): the same logits up to float32 rounding, on
 * every layout the trainer builds.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCnnInferenceGraph, firstLayerPatches, firstPatchRows, firstPatchWidth } from '../../src/models/graph/cnn-graphs.js';
import { Rng } from '../../src/training/rng.js';
import { initTf, type Tf } from '../../src/training/tf.js';
import { initCnnParams, VisionCnn } from '../../src/training/trainers/vision-cnn.js';
import { CNN_TEST_LAYOUTS } from '../fixtures/cnn-reference.js';
import { maxRelError, runGraph } from '../models/graph/reference.js';

let tf: Tf;
beforeAll(async () => {
  tf = await initTf();
});

describe('VisionCnn', () => {
  it.each(CNN_TEST_LAYOUTS)('serves the logits the training graph computes (%s)', async (_name, layout) => {
    const rng = new Rng(3);
    const n = 5;
    const x = Float32Array.from({ length: n * layout.height * layout.width * layout.channels }, () => rng.next());
    const params = initCnnParams(layout, rng);
    for (let i = 0; i < params.length; i++) if (params[i] === 0) params[i] = 0.05 * (rng.next() - 0.5);
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    const cnn = new VisionCnn(tf, layout, params);
    const before = tf.memory().numTensors;
    const served = cnn.logits(x, order, 0, n).slice();
    expect(tf.memory().numTensors).toBe(before);
    cnn.dispose();
    const patches = new Float32Array(firstPatchRows(layout) * n * firstPatchWidth(layout));
    firstLayerPatches(layout, x, order, 0, n, patches);
    const trained = await runGraph(buildCnnInferenceGraph(layout), { patches: [patches, [firstPatchRows(layout) * n, firstPatchWidth(layout)]], params: [params, [params.length]] });
    expect(maxRelError(served, trained.logits)).toBeLessThan(1e-5);
  });
});
