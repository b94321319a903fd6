/**
 * Each layer's hand-written backward subgraph, run on onnxruntime in float32, against central finite
 * differences of a float64 JS forward pass, on small random shapes.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../src/models/graph/builder.js';
import { denseBackward, denseForward, reluBackward, softmaxCrossEntropy } from '../../../src/models/graph/layers.js';
import { Rng } from '../../../src/models/kernels/rng.js';
import { crossEntropy64, dense64, maxRelError, numericGradient, randomArray, runGraph } from './reference.js';

/** Float32 against float64: a few float32 ulps of the values involved, plus the finite difference's own error. */
const TOLERANCE = 1e-5;

describe('dense layer backward', () => {
  it('dW, db and dx match finite differences of Σ dy·(x·W + b)', async () => {
    const rng = new Rng(1);
    const [n, i, o] = [5, 4, 3];
    const x = randomArray(rng, n * i);
    const w = randomArray(rng, i * o);
    const b = randomArray(rng, o);
    const dy = randomArray(rng, n * o);
    const g = new GraphBuilder('dense');
    const [gx, gw, gb, gdy] = [g.input('x', [n, i]), g.input('W', [i, o]), g.input('b', [o]), g.input('dy', [n, o])];
    denseForward(g, gx, gw, gb, 'linear', 'y');
    denseBackward(g, gx, gw, gdy, true, { dW: 'dW', db: 'db', dx: 'dx' });
    for (const [name, shape] of [['y', [n, o]], ['dW', [i, o]], ['db', [o]], ['dx', [n, i]]] as const) g.output(name, shape);
    const out = await runGraph(g.encode(), { x: [x, [n, i]], W: [w, [i, o]], b: [b, [o]], dy: [dy, [n, o]] });

    const loss = (xs: ArrayLike<number>, ws: ArrayLike<number>, bs: ArrayLike<number>): number => dense64(xs, n, ws, bs, i, o, false).reduce((s, v, k) => s + v * dy[k], 0);
    expect(maxRelError(out.y, dense64(x, n, w, b, i, o, false))).toBeLessThan(TOLERANCE);
    expect(maxRelError(out.dW, numericGradient((p) => loss(x, p, b), w))).toBeLessThan(TOLERANCE);
    expect(maxRelError(out.db, numericGradient((p) => loss(x, w, p), b))).toBeLessThan(TOLERANCE);
    expect(maxRelError(out.dx, numericGradient((p) => loss(p, w, b), x))).toBeLessThan(TOLERANCE);
  });
});

describe('ReLU backward', () => {
  it('passes dy where the output is positive and zero elsewhere, as finite differences say', async () => {
    const rng = new Rng(2);
    const n = 24;
    // Kept away from 0, where ReLU has no derivative for finite differences to find.
    const z = randomArray(rng, n, 1, 0.05);
    const dy = randomArray(rng, n);
    const g = new GraphBuilder('relu');
    const [gz, gdy] = [g.input('z', [n]), g.input('dy', [n])];
    reluBackward(g, g.node('Relu', [gz]), gdy, 'dz');
    g.output('dz', [n]);
    const out = await runGraph(g.encode(), { z: [z, [n]], dy: [dy, [n]] });
    const numeric = numericGradient((p) => p.reduce((s, v, k) => s + Math.max(0, v) * dy[k], 0), z);
    expect(maxRelError(out.dz, numeric)).toBeLessThan(TOLERANCE);
    expect(out.dz.filter((v) => v === 0).length).toBe(z.filter((v) => v < 0).length);
  });
});

describe('softmax cross-entropy', () => {
  it('gives the mean loss and its gradient w.r.t. the logits, with smoothed targets and an unlabelled row', async () => {
    const rng = new Rng(3);
    const [n, c] = [4, 5];
    const logits = randomArray(rng, n * c, 3);
    const targets = new Float32Array(n * c);
    targets[0 * c + 2] = 1;
    targets[1 * c + 4] = 1;
    // Row 2: label smoothing 0.1. Row 3: no known label, all zeros.
    for (let k = 0; k < c; k++) targets[2 * c + k] = 0.1 / c + (k === 0 ? 0.9 : 0);
    const g = new GraphBuilder('ce');
    const r = softmaxCrossEntropy(g, g.input('logits', [n, c]), g.input('targets', [n, c]), { loss: 'loss', dLogits: 'dLogits' });
    g.output(r.loss, []);
    g.output(r.dLogits, [n, c]);
    const out = await runGraph(g.encode(), { logits: [logits, [n, c]], targets: [targets, [n, c]] });
    expect(out.loss[0]).toBeCloseTo(crossEntropy64(logits, targets, n, c), 5);
    expect(maxRelError(out.dLogits, numericGradient((p) => crossEntropy64(p, targets, n, c), logits))).toBeLessThan(TOLERANCE);
    expect([...out.dLogits.subarray(3 * c)]).toEqual(new Array(c).fill(0));
  });
});
