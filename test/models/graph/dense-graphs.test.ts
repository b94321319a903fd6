/**
 * The whole dense-classifier graphs: the gradient graph against finite differences of a float64 JS
 * network, the step graph's Adam against the JS Adam the trainers use today, repeatability (same state →
 * same bits, 1 and 2 threads alike), and the inference graph against the trained weights.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../src/models/graph/builder.js';
import { adamUpdate } from '../../../src/models/graph/adam.js';
import { buildDenseGradientGraph, buildDenseInferenceGraph, buildDenseStepGraph, INPUT_GRADIENT, newName, paramNames, paramShapes, stateNames } from '../../../src/models/graph/dense-graphs.js';
import { DenseStepTrainer } from '../../../src/models/graph/dense-trainer.js';
import { Rng } from '../../../src/models/kernels/rng.js';
import { initHeadWeights } from '../../../src/models/kernels/dense-head-weights.js';
import { FlatAdam, softmaxCrossEntropy } from '../../../src/models/kernels/dense-step.js';
import { adamStepSize, type AdamSettings } from '../../../src/models/kernels/sparse-embedding.js';
import { dense64, maxRelError, mlpLoss64, numericGradient, randomArray, runGraph } from './reference.js';

const ADAM: AdamSettings = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
const SIZES = [6, 7, 5, 3];

function oneHot(labels: readonly number[], c: number): Float32Array {
  const t = new Float32Array(labels.length * c);
  labels.forEach((y, i) => y >= 0 && (t[i * c + y] = 1));
  return t;
}

/** A small learnable problem: the label is the index of the largest of the first `classes` inputs. */
function toyBatch(rng: Rng, n: number, sizes: readonly number[]): { x: Float32Array; labels: Int32Array } {
  const [dim, classes] = [sizes[0], sizes[sizes.length - 1]];
  const x = randomArray(rng, n * dim);
  const labels = Int32Array.from({ length: n }, (_, i) => {
    const row = x.subarray(i * dim, i * dim + classes);
    return row.indexOf(Math.max(...row));
  });
  return { x, labels };
}

describe('dense gradient graph', () => {
  it('gives every parameter the gradient finite differences of the float64 network give', async () => {
    const rng = new Rng(5);
    const n = 4;
    const params = initHeadWeights(SIZES, rng).map((p) => p.map((v) => v + 0.1 * (2 * rng.next() - 1)));
    const x = randomArray(rng, n * SIZES[0]);
    const targets = oneHot([0, 2, 1, 2], 3);
    const shapes = paramShapes(SIZES);
    const feeds: Record<string, [Float32Array, number[]]> = { x: [x, [n, SIZES[0]]], targets: [targets, [n, 3]] };
    paramNames(SIZES).forEach((name, i) => (feeds[name] = [params[i], shapes[i]]));
    const out = await runGraph(buildDenseGradientGraph(SIZES), feeds);

    expect(out.loss[0]).toBeCloseTo(mlpLoss64(SIZES, params, x, targets, n), 5);
    paramNames(SIZES).forEach((name, i) => {
      const numeric = numericGradient((p) => mlpLoss64(SIZES, params.map((q, k) => (k === i ? p : q)), x, targets, n), params[i]);
      expect(maxRelError(out[`grad_${name}`], numeric), name).toBeLessThan(1e-5);
    });
  });
});

describe('dense gradient graph with the input gradient', () => {
  it.each([[[6, 3]], [SIZES]])('gives ∂loss/∂x the gradient finite differences give, for layers %j', async (sizes) => {
    const rng = new Rng(7);
    const n = 5;
    const classes = sizes[sizes.length - 1];
    const params = initHeadWeights(sizes, rng).map((p) => p.map((v) => v + 0.1 * (2 * rng.next() - 1)));
    const x = randomArray(rng, n * sizes[0], 1, 0.05);
    const targets = oneHot([0, 2, 1, 2, 0], classes);
    const shapes = paramShapes(sizes);
    const feeds: Record<string, [Float32Array, number[]]> = { x: [x, [n, sizes[0]]], targets: [targets, [n, classes]] };
    paramNames(sizes).forEach((name, i) => (feeds[name] = [params[i], shapes[i]]));
    const out = await runGraph(buildDenseGradientGraph(sizes, { inputGradient: true }), feeds);
    const numeric = numericGradient((p) => mlpLoss64(sizes, params, p, targets, n), x);
    expect(Math.max(...numeric.map(Math.abs))).toBeGreaterThan(1e-3);
    expect(maxRelError(out[INPUT_GRADIENT], numeric)).toBeLessThan(1e-5);
  });

  it('returns the same input gradient from the step graph as from the gradient graph', async () => {
    const rng = new Rng(12);
    const n = 8;
    const initial = initHeadWeights(SIZES, rng);
    const { x, labels } = toyBatch(rng, n, SIZES);
    const trainer = await DenseStepTrainer.create(SIZES, initial, ADAM, { threads: 1 }, { inputGradient: true });
    try {
      const step = await trainer.trainStep(x, n, labels, adamStepSize(ADAM, 1));
      const feeds: Record<string, [Float32Array, number[]]> = { x: [x, [n, SIZES[0]]], targets: [oneHot([...labels], 3), [n, 3]] };
      const shapes = paramShapes(SIZES);
      paramNames(SIZES).forEach((name, i) => (feeds[name] = [initial[i], shapes[i]]));
      const out = await runGraph(buildDenseGradientGraph(SIZES, { inputGradient: true }), feeds);
      expect(step.inputGradient).toEqual(out[INPUT_GRADIENT]);
    } finally {
      await trainer.dispose();
    }
  });
});

describe('Adam update subgraph', () => {
  it('matches the JS Adam (FlatAdam) over several steps within float32 rounding', async () => {
    const rng = new Rng(6);
    const size = 50;
    const w = randomArray(rng, size);
    const g = new GraphBuilder('adam');
    const inputs = ['w', 'grad', 'm', 'v'].map((name) => g.input(name, [size]));
    adamUpdate(g, { w: inputs[0], grad: inputs[1], m: inputs[2], v: inputs[3], stepSize: g.input('step_size', []) }, ADAM, { w: 'w2', m: 'm2', v: 'v2' });
    for (const name of ['w2', 'm2', 'v2']) g.output(name, [size]);
    const model = g.encode();

    const reference = new FlatAdam(size);
    const wRef = w.slice();
    let state: Record<'w' | 'm' | 'v', Float32Array> = { w: w.slice(), m: new Float32Array(size), v: new Float32Array(size) };
    for (let t = 1; t <= 5; t++) {
      const grad = randomArray(rng, size, 0.5);
      reference.step(wRef, grad, ADAM, t);
      const out = await runGraph(model, { w: [state.w, [size]], grad: [grad, [size]], m: [state.m, [size]], v: [state.v, [size]], step_size: [Float32Array.of(adamStepSize(ADAM, t)), []] });
      state = { w: out.w2, m: out.m2, v: out.v2 };
    }
    expect(maxRelError(state.m, reference.m)).toBeLessThan(1e-6);
    expect(maxRelError(state.v, reference.v)).toBeLessThan(1e-6);
    expect(maxRelError(state.w, wRef)).toBeLessThan(1e-6);
    // Five steps moved the weights by far more than the tolerance: the check above is not vacuous.
    expect(maxRelError(state.w, w)).toBeGreaterThan(1e-3);
  });
});

describe('DenseStepTrainer (the step graph)', () => {
  const make = (threads: number, seed = 7, sizes = SIZES) => DenseStepTrainer.create(sizes, initHeadWeights(sizes, new Rng(seed)), ADAM, { threads });

  async function run(trainer: DenseStepTrainer, steps: number, seed: number, batch = 16): Promise<number[]> {
    const rng = new Rng(seed);
    const losses: number[] = [];
    for (let t = 1; t <= steps; t++) {
      const { x, labels } = toyBatch(rng, batch, trainer.sizes);
      const { logits } = await trainer.trainStep(x, batch, labels, adamStepSize(ADAM, t));
      losses.push(softmaxCrossEntropy(logits, labels, batch, trainer.sizes[trainer.sizes.length - 1]).lossSum / batch);
    }
    return losses;
  }

  it('is one Adam step along the gradient graph\'s gradients', async () => {
    const weights = initHeadWeights(SIZES, new Rng(8));
    const { x, labels } = toyBatch(new Rng(9), 10, SIZES);
    const trainer = await DenseStepTrainer.create(SIZES, weights, ADAM, { threads: 1 });
    try {
      const step = await trainer.trainStep(x, 10, labels, adamStepSize(ADAM, 1));
      const shapes = paramShapes(SIZES);
      const feeds: Record<string, [Float32Array, number[]]> = { x: [x, [10, SIZES[0]]], targets: [oneHot([...labels], 3), [10, 3]] };
      paramNames(SIZES).forEach((name, i) => (feeds[name] = [weights[i], shapes[i]]));
      const grads = await runGraph(buildDenseGradientGraph(SIZES), feeds);
      expect([...step.logits]).toEqual([...grads.logits]);
      // The JS loss on the step's logits (the trainers' metrics) agrees with the gradient graph's.
      expect(softmaxCrossEntropy(step.logits, labels, 10, 3).lossSum / 10).toBeCloseTo(grads.loss[0], 5);
      const state = trainer.getState();
      paramNames(SIZES).forEach((name, i) => {
        const adam = new FlatAdam(weights[i].length);
        const expected = weights[i].slice();
        adam.step(expected, grads[`grad_${name}`], ADAM, 1);
        expect(maxRelError(state[i], expected), name).toBeLessThan(1e-6);
      });
    } finally {
      await trainer.dispose();
    }
  });

  // 512-256-16 at batch 64: big enough that onnxruntime splits the GEMMs across the second thread.
  it.each([
    ['small', SIZES, 16],
    ['512-256-16', [512, 256, 16], 64],
  ])('repeats bit for bit from the same state, and with 2 intra-op threads as with 1 (%s)', async (_name, sizes, batch) => {
    const runs: Float32Array[][] = [];
    const losses: number[][] = [];
    for (const threads of [1, 1, 2]) {
      const trainer = await make(threads, 7, sizes);
      try {
        losses.push(await run(trainer, 10, 10, batch));
        runs.push(trainer.getState());
      } finally {
        await trainer.dispose();
      }
    }
    expect(losses[1]).toEqual(losses[0]);
    expect(losses[2]).toEqual(losses[0]);
    for (const r of runs.slice(1)) r.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(runs[0][i].buffer))).toBe(true));
  });

  it('resumes from a saved state exactly where an uninterrupted run would be', async () => {
    const straight = await make(1);
    const first = await make(1);
    const resumed = await make(1, 99);
    try {
      await run(straight, 10, 11);
      await run(first, 5, 11);
      resumed.setState(first.getState());
      // The same batches 6..10 as the straight run: replay the data generator past the first five.
      const rng = new Rng(11);
      for (let t = 1; t <= 5; t++) toyBatch(rng, 16, SIZES);
      for (let t = 6; t <= 10; t++) {
        const { x, labels } = toyBatch(rng, 16, SIZES);
        await resumed.trainStep(x, 16, labels, adamStepSize(ADAM, t));
      }
      expect(resumed.getState()).toEqual(straight.getState());
    } finally {
      await Promise.all([straight.dispose(), first.dispose(), resumed.dispose()]);
    }
  });

  it('learns: the loss falls and held-out accuracy rises well above chance', async () => {
    const trainer = await make(1);
    try {
      const losses = await run(trainer, 300, 12);
      const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
      expect(mean(losses.slice(-20))).toBeLessThan(0.5 * mean(losses.slice(0, 20)));
      const { x, labels } = toyBatch(new Rng(13), 200, SIZES);
      const logits = await trainer.logits(x, 200);
      expect(softmaxCrossEntropy(logits, labels, 200, 3).correct / 200).toBeGreaterThan(0.8);
    } finally {
      await trainer.dispose();
    }
  });
});

describe('multi-step graph (Loop over stacked batches, flat state)', () => {
  /** `steps` runs of the one-step graph with per-tensor state: the reference the Loop must equal bit for bit. */
  async function perTensorSteps(sizes: readonly number[], weights: Float32Array[], x: Float32Array, labels: Int32Array, steps: number, n: number, inputGradient: boolean) {
    const shapes = paramShapes(sizes);
    const names = stateNames(sizes);
    const [dim, c] = [sizes[0], sizes[sizes.length - 1]];
    let state = [...weights, ...weights.map((w) => new Float32Array(w.length)), ...weights.map((w) => new Float32Array(w.length))];
    const logits: number[] = [];
    const dx: number[] = [];
    const model = buildDenseStepGraph(sizes, ADAM, { inputGradient });
    for (let k = 0; k < steps; k++) {
      const feeds: Record<string, [Float32Array, number[]]> = {
        x: [x.slice(k * n * dim, (k + 1) * n * dim), [n, dim]],
        targets: [oneHot([...labels.subarray(k * n, (k + 1) * n)], c), [n, c]],
        step_size: [Float32Array.of(adamStepSize(ADAM, k + 1)), []],
      };
      names.forEach((name, i) => (feeds[name] = [state[i], shapes[i % shapes.length]]));
      const out = await runGraph(model, feeds);
      state = names.map((name) => out[newName(name)]);
      logits.push(...out.logits);
      if (inputGradient) dx.push(...out[INPUT_GRADIENT]);
    }
    return { state, logits, dx };
  }

  it.each([
    ['6-7-5-3, 5 steps of 8 rows', SIZES, 5, 8, false],
    ['6-3 (no hidden layer), 3 steps of 4 rows', [6, 3], 3, 4, false],
    ['6-7-5-3 with ∂loss/∂x, 1 step of 7 rows', SIZES, 1, 7, true],
    ['6-7-5-3 with ∂loss/∂x, 4 steps of 5 rows', SIZES, 4, 5, true],
  ])('gives the bits of one-step runs with per-tensor state: %s', async (_name, sizes, steps, n, inputGradient) => {
    const rng = new Rng(21);
    const weights = initHeadWeights(sizes, rng);
    const { x, labels } = toyBatch(rng, steps * n, sizes);
    labels[1] = -1; // a row with no known label: no loss, no gradient
    const want = await perTensorSteps(sizes, weights, x, labels, steps, n, inputGradient);
    const trainer = await DenseStepTrainer.create(sizes, weights, ADAM, { threads: 1 }, { inputGradient });
    try {
      const got = await trainer.trainSteps(x, steps, n, labels, Array.from({ length: steps }, (_, k) => adamStepSize(ADAM, k + 1)));
      expect(Buffer.from(got.logits.buffer, got.logits.byteOffset, got.logits.byteLength).equals(Buffer.from(Float32Array.from(want.logits).buffer))).toBe(true);
      if (inputGradient) expect([...(got.inputGradient ?? [])]).toEqual(want.dx);
      else expect(got.inputGradient).toBeUndefined();
      const state = trainer.getState();
      expect(state).toHaveLength(want.state.length);
      state.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(want.state[i].buffer, want.state[i].byteOffset, want.state[i].byteLength)), `state array ${i}`).toBe(true));
      // The steps moved the weights: equal bits are not equal starting points.
      expect(maxRelError(state[0], weights[0])).toBeGreaterThan(1e-3);
    } finally {
      await trainer.dispose();
    }
  });

  it('gives the same bits in one run of K steps as in K runs of one step', async () => {
    const rng = new Rng(22);
    const weights = initHeadWeights(SIZES, rng);
    const { x, labels } = toyBatch(rng, 6 * 8, SIZES);
    const sizesOf = Array.from({ length: 6 }, (_, k) => adamStepSize(ADAM, k + 1));
    const [once, apart] = await Promise.all([DenseStepTrainer.create(SIZES, weights, ADAM, { threads: 1 }), DenseStepTrainer.create(SIZES, weights, ADAM, { threads: 1 })]);
    try {
      const all = await once.trainSteps(x, 6, 8, labels, sizesOf);
      const each: number[] = [];
      for (let k = 0; k < 6; k++) each.push(...(await apart.trainStep(x.subarray(k * 48), 8, labels.subarray(k * 8), sizesOf[k])).logits);
      expect([...all.logits]).toEqual(each);
      expect(once.getState()).toEqual(apart.getState());
    } finally {
      await Promise.all([once.dispose(), apart.dispose()]);
    }
  });

  it('refuses a run without a step size for every step', async () => {
    const trainer = await DenseStepTrainer.create(SIZES, initHeadWeights(SIZES, new Rng(1)), ADAM, { threads: 1 });
    try {
      const { x, labels } = toyBatch(new Rng(2), 4, SIZES);
      await expect(trainer.trainSteps(x, 2, 2, labels, [0.1])).rejects.toThrow(/a step size for each/);
    } finally {
      await trainer.dispose();
    }
  });
});

describe('dense inference graph', () => {
  it('stores the weights and gives the float64 forward pass\'s logits and their softmax', async () => {
    const rng = new Rng(14);
    const weights = initHeadWeights(SIZES, rng);
    const n = 3;
    const x = randomArray(rng, n * SIZES[0]);
    const out = await runGraph(buildDenseInferenceGraph(SIZES, weights), { x: [x, [n, SIZES[0]]] });
    let h: ArrayLike<number> = x;
    for (let l = 0; l + 1 < SIZES.length; l++) h = dense64(h, n, weights[2 * l], weights[2 * l + 1], SIZES[l], SIZES[l + 1], l + 2 < SIZES.length);
    expect(maxRelError(out.logits, h)).toBeLessThan(1e-5);
    for (let i = 0; i < n; i++) expect(out.probabilities.subarray(i * 3, i * 3 + 3).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
  });
});
