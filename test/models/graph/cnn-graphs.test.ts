/**
 * The convolution, pool and flatten layers (conv-layers.ts) against central finite differences of float64
 * JS, the whole CNN gradient graph against the float64 reference network (test/fixtures/cnn-reference.ts),
 * and the multi-step graph (a Loop of steps) against runs of the one-step graph, bit for bit.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../src/models/graph/builder.js';
import { buildCnnGradientGraph, buildCnnStepGraph, buildCnnStepsGraph, cnnParamSizes, firstLayerPatches, firstPatchRows, firstPatchWidth, PatchBuffer } from '../../../src/models/graph/cnn-graphs.js';
import { addConvTaps, convBackward, convForward, convTaps, poolBackward, poolForward, windowMajorOrder } from '../../../src/models/graph/conv-layers.js';
import { Rng } from '../../../src/models/kernels/rng.js';
import { adamStepSize } from '../../../src/models/kernels/sparse-embedding.js';
import { initCnnParams, type CnnLayout } from '../../../src/models/vision/cnn.js';
import { CNN_TEST_LAYOUTS, conv, referenceGradient } from '../../fixtures/cnn-reference.js';
import { maxRelError, numericGradient, randomArray, runGraph } from './reference.js';

const TOLERANCE = 1e-5;

/** Maps [n, rows, c] (rows: positions in `order`, then maybe a padding row) → NHWC [n, h, w, c] (padding dropped). */
function toNhwc(maps: ArrayLike<number>, n: number, hw: number, c: number, order?: Int32Array, rows = hw): Float64Array {
  const out = new Float64Array(n * hw * c);
  for (let e = 0; e < n; e++) {
    for (let k = 0; k < hw; k++) {
      const p = order ? order[k] : k;
      for (let ch = 0; ch < c; ch++) out[(e * hw + p) * c + ch] = maps[(e * rows + k) * c + ch];
    }
  }
  return out;
}

describe('3×3 convolution layer', () => {
  it.each([
    ['4×4, output rows window-major', 4, 4, true],
    ['6×4, output rows in position order', 6, 4, false],
  ])('z, dW, db and dx match float64 and finite differences of Σ dz·z (%s)', async (_name, h, w, windowMajor) => {
    const rng = new Rng(11);
    const [n, ci, co, hw] = [2, 3, 4, h * w];
    const x = randomArray(rng, n * (hw + 1) * ci);
    for (let e = 0; e < n; e++) x.fill(0, (e * (hw + 1) + hw) * ci, (e + 1) * (hw + 1) * ci);
    const wt = randomArray(rng, 9 * ci * co);
    const b = randomArray(rng, co);
    const dz = randomArray(rng, n * hw * co);
    const taps = convTaps(h, w, windowMajor ? windowMajorOrder(h, w) : undefined);
    const g = new GraphBuilder('conv');
    const [gx, gw, gb, gdz] = [g.input('x', [n, hw + 1, ci]), g.input('w', [9 * ci, co]), g.input('b', [co]), g.input('dz', [n * hw, co])];
    const c = addConvTaps(g, 'c', taps);
    const f = convForward(g, gx, gw, gb, c, ci);
    const back = convBackward(g, f, gw, gdz, c, ci, co, true);
    g.node('Identity', [f.z], {}, 'z');
    g.node('Identity', [back.dW], {}, 'dW');
    g.node('Identity', [back.db], {}, 'db');
    g.node('Identity', [back.dx as string], {}, 'dx');
    for (const [name, shape] of [['z', [n * hw, co]], ['dW', [9 * ci, co]], ['db', [co]], ['dx', [n * (hw + 1), ci]]] as const) g.output(name, shape);
    const out = await runGraph(g.encode(), { x: [x, [n, hw + 1, ci]], w: [wt, [9 * ci, co]], b: [b, [co]], dz: [dz, [n * hw, co]] });

    const dzNhwc = toNhwc(dz, n, hw, co, taps.outOrder);
    const z64 = (xs: ArrayLike<number>, ws: ArrayLike<number>, bs: ArrayLike<number>) => conv(toNhwc(xs, n, hw, ci, undefined, hw + 1), n, h, w, ci, Float64Array.from(ws), Float64Array.from(bs), co);
    const loss = (xs: ArrayLike<number>, ws: ArrayLike<number>, bs: ArrayLike<number>) => z64(xs, ws, bs).reduce((s, v, i) => s + v * dzNhwc[i], 0);
    expect(maxRelError(toNhwc(out.z, n, hw, co, taps.outOrder), z64(x, wt, b))).toBeLessThan(TOLERANCE);
    expect(maxRelError(out.dW, numericGradient((p) => loss(x, p, b), wt))).toBeLessThan(TOLERANCE);
    expect(maxRelError(out.db, numericGradient((p) => loss(x, wt, p), b))).toBeLessThan(TOLERANCE);
    // Finite differences of every input value; the padding rows are no input, so theirs is zero, as the graph's.
    expect(maxRelError(out.dx, numericGradient((p) => loss(p, wt, b), x))).toBeLessThan(TOLERANCE);
    for (let e = 0; e < n; e++) expect(out.dx.subarray((e * (hw + 1) + hw) * ci, (e + 1) * (hw + 1) * ci).every((v) => v === 0)).toBe(true);
  });
});

describe('2×2 max-pool layer', () => {
  it('takes window maxima and routes the gradient to each window’s first maximum, as finite differences and the tie rule say', async () => {
    const rng = new Rng(12);
    const [n, rest] = [2, 5];
    const z = randomArray(rng, n * 4 * rest);
    // A tie in the second example's window 3: the first tied position (window row 1) gets the gradient.
    const at = (e: number, win: number, i: number) => (e * 4 + win) * rest + i;
    z[at(1, 1, 3)] = z[at(1, 2, 3)] = 5;
    const dp = randomArray(rng, n * rest);
    const g = new GraphBuilder('pool');
    const [gz, gdp] = [g.input('z', [n * 4 * rest, 1]), g.input('dp', [n * rest])];
    const p = poolForward(g, gz, rest);
    g.node('Identity', [p.pooled], {}, 'pooled');
    g.node('Identity', [poolBackward(g, p, gdp, rest)], {}, 'dz');
    g.output('pooled', [n, 1, rest]);
    g.output('dz', [n, 4, rest]);
    const out = await runGraph(g.encode(), { z: [z, [n * 4 * rest, 1]], dp: [dp, [n * rest]] });
    const max64 = (v: ArrayLike<number>) => Float64Array.from({ length: n * rest }, (_, j) => {
      const [e, i] = [Math.floor(j / rest), j % rest];
      return Math.max(v[at(e, 0, i)], v[at(e, 1, i)], v[at(e, 2, i)], v[at(e, 3, i)]);
    });
    expect(maxRelError(out.pooled, max64(z))).toBeLessThan(TOLERANCE);
    const numeric = numericGradient((q) => max64(q).reduce((s, v, j) => s + v * dp[j], 0), z);
    const tied = [0, 1, 2, 3].map((win) => at(1, win, 3));
    for (let i = 0; i < z.length; i++) if (!tied.includes(i)) expect(Math.abs(out.dz[i] - numeric[i])).toBeLessThan(TOLERANCE);
    expect(tied.map((i) => out.dz[i])).toEqual([0, dp[rest + 3], 0, 0]);
  });
});

describe('CNN gradient graph', () => {
  it.each(CNN_TEST_LAYOUTS)('computes the gradient of the smoothed cross-entropy the float64 reference does (%s)', async (_name, layout) => {
    const rng = new Rng(3);
    const n = 5;
    const smoothing = 0.1;
    const x = Float32Array.from({ length: n * layout.height * layout.width * layout.channels }, () => rng.next());
    const labels = Int32Array.from({ length: n }, (_, i) => i % layout.classes);
    const params = initCnnParams(layout, rng);
    for (let i = 0; i < params.length; i++) if (params[i] === 0) params[i] = 0.05 * (rng.next() - 0.5);
    const patches = new Float32Array(firstPatchRows(layout) * n * firstPatchWidth(layout));
    firstLayerPatches(layout, x, Uint32Array.from({ length: n }, (_, i) => i), 0, n, patches);
    const targets = new Float32Array(n * layout.classes).fill(smoothing / layout.classes);
    labels.forEach((y, i) => (targets[i * layout.classes + y] += 1 - smoothing));
    const out = await runGraph(buildCnnGradientGraph(layout), {
      patches: [patches, [firstPatchRows(layout) * n, firstPatchWidth(layout)]],
      targets: [targets, [n, layout.classes]],
      params: [params, [params.length]],
    });
    const ref = referenceGradient(layout, params, x, labels, n, smoothing);
    let offset = 0;
    for (const size of cnnParamSizes(layout)) {
      let diff = 0;
      let norm = 0;
      for (let i = offset; i < offset + size; i++) {
        diff += (out.grad[i] - ref[i]) ** 2;
        norm += ref[i] ** 2;
      }
      expect(Math.sqrt(diff)).toBeLessThanOrEqual(1e-5 * Math.sqrt(norm) + 1e-9);
      offset += size;
    }
  });
});

describe('CNN multi-step graph (Loop over stacked batches)', () => {
  const ADAM = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
  const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

  it.each([
    ...CNN_TEST_LAYOUTS.map(([name, layout]): [string, CnnLayout, number, number] => [name, layout, 4, 5]),
    ['8×8 grey at the default filters [16, 32], 10 classes', { height: 8, width: 8, channels: 1, filters: [16, 32], classes: 10 } as CnnLayout, 6, 16] as [string, CnnLayout, number, number],
  ])('gives the bits of K runs of the one-step graph: %s', async (_name, layout, steps, n) => {
    const rng = new Rng(31);
    const size = layout.height * layout.width * layout.channels;
    // Half the pixels zero, as in digits: windows of equal values, so the pools' tie rule is exercised.
    const x = Float32Array.from({ length: steps * n * size }, () => (rng.next() < 0.5 ? 0 : rng.next()));
    const labels = Int32Array.from({ length: steps * n }, () => Math.floor(rng.next() * layout.classes));
    // Shuffled, as an epoch's order is: the patch buffer must follow it.
    const order = rng.shuffle(Uint32Array.from({ length: steps * n }, (_, i) => i)) as Uint32Array;
    const params = initCnnParams(layout, rng);
    const total = params.length;
    const c = layout.classes;
    const smoothing = 0.1;
    const targets = new Float32Array(steps * n * c).fill(smoothing / c);
    for (let i = 0; i < steps * n; i++) targets[i * c + labels[order[i]]] += 1 - smoothing;
    const stepSizes = Float32Array.from({ length: steps }, (_, k) => adamStepSize({ ...ADAM, learningRate: ADAM.learningRate * (1 - k / 10) }, k + 1));
    const [rows, width] = [firstPatchRows(layout) * n, firstPatchWidth(layout)];

    let state = [params, new Float32Array(total), new Float32Array(total)];
    const logits: number[] = [];
    const one = buildCnnStepGraph(layout, ADAM);
    for (let k = 0; k < steps; k++) {
      const patches = new Float32Array(rows * width);
      firstLayerPatches(layout, x, order, k * n, (k + 1) * n, patches);
      const out = await runGraph(one, {
        patches: [patches, [rows, width]],
        targets: [targets.slice(k * n * c, (k + 1) * n * c), [n, c]],
        step_size: [stepSizes.slice(k, k + 1), []],
        params: [state[0], [total]],
        m: [state[1], [total]],
        v: [state[2], [total]],
      });
      state = [out.new_params, out.new_m, out.new_v];
      logits.push(...out.logits);
    }

    const buffer = new PatchBuffer(layout);
    buffer.write(x, order, 0, steps * n, 0);
    const all = new Float32Array(steps * rows * width);
    firstLayerPatches(layout, x, order, 0, steps * n, all);
    expect(bits(buffer.data.subarray(0, all.length))).toEqual(bits(all));
    // The patch table two ways: this run's examples in order, or every example once, picked by `order`.
    const whole = new PatchBuffer(layout);
    whole.write(x, Uint32Array.from({ length: steps * n }, (_, i) => i), 0, steps * n, 0);
    const model = buildCnnStepsGraph(layout, ADAM);
    const perExample = [firstPatchRows(layout), width];
    for (const [table, picked] of [
      [buffer.data.subarray(0, all.length), BigInt64Array.from({ length: steps * n }, (_, i) => BigInt(i))],
      [whole.data.subarray(0, all.length), BigInt64Array.from(order, BigInt)],
    ] as const) {
      const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
      const f = (a: Float32Array, dims: number[]) => new ort.Tensor('float32', a, dims);
      const run = await session.run({
        patch_table: f(table, [steps * n, ...perExample]),
        rows: new ort.Tensor('int64', picked, [steps, n]),
        targets: f(targets, [steps, n, c]),
        step_size: f(stepSizes, [steps]),
        params: f(params, [total]),
        m: f(new Float32Array(total), [total]),
        v: f(new Float32Array(total), [total]),
      });
      await session.release();
      const out = Object.fromEntries(Object.entries(run).map(([k, t]) => [k, t.data as Float32Array]));
      expect(bits(out.logits)).toEqual(bits(Float32Array.from(logits)));
      expect(bits(out.new_params)).toEqual(bits(state[0]));
      expect(bits(out.new_m)).toEqual(bits(state[1]));
      expect(bits(out.new_v)).toEqual(bits(state[2]));
      // The steps moved the weights: equal bits are not equal starting points.
      expect(maxRelError(out.new_params, params)).toBeGreaterThan(1e-3);
    }
  });
});
