import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/models/kernels/rng.js';
import { SparseEmbedding } from '../../src/models/kernels/sparse-embedding.js';
import type { FeatureMatrix } from '../../src/models/nlu/features.js';

const ADAM = { learningRate: 0.02, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** `count` examples of 0–`maxLen` rows drawn from `rows` (repeats allowed), weights summing to 1 per example. */
function randomMatrix(rng: Rng, count: number, rows: number, maxLen: number): FeatureMatrix {
  const offsets = new Uint32Array(count + 1);
  const ids: number[] = [];
  const w: number[] = [];
  for (let e = 0; e < count; e++) {
    const len = e % 9 === 0 ? 0 : 1 + Math.floor(rng.next() * maxLen);
    for (let k = 0; k < len; k++) {
      ids.push(Math.floor(rng.next() ** 2 * rows));
      w.push(1 / len);
    }
    offsets[e + 1] = ids.length;
  }
  return { count, offsets, rows: Int32Array.from(ids), weights: Float32Array.from(w) };
}

/** A JS table and a wasm one from the same start, trained side by side on the same batches. */
function trainBoth(dim: number, seed: number): { js: SparseEmbedding; wasm: SparseEmbedding; pooledJs: Float32Array; pooledWasm: Float32Array } {
  const rows = 500;
  const batch = 16;
  const rng = new Rng(seed);
  const x = randomMatrix(rng, 200, rows, 40);
  const js = new SparseEmbedding(rows, dim, 'row', false);
  const { table: wasm, trainingMatrix } = SparseEmbedding.withWasm(rows, dim, x, batch);
  expect(trainingMatrix).not.toBe(x); // the wasm path was taken
  js.initUniform(new Rng(seed + 1), 1 / dim);
  wasm.initUniform(new Rng(seed + 1), 1 / dim);
  const order = rng.shuffle(Uint32Array.from({ length: x.count }, (_, i) => i)) as Uint32Array;
  const pooledJs = new Float32Array(batch * dim);
  const pooledWasm = new Float32Array(batch * dim);
  const dPooled = new Float32Array(batch * dim);
  let t = 0;
  for (let start = 0; start < x.count; start += batch) {
    const end = Math.min(start + batch, x.count);
    js.pool(x, order, start, end, pooledJs);
    wasm.pool(trainingMatrix, order, start, end, pooledWasm);
    expect(Buffer.from(pooledWasm.buffer).equals(Buffer.from(pooledJs.buffer))).toBe(true);
    for (let i = 0; i < dPooled.length; i++) dPooled[i] = pooledJs[i] * 3 - 0.01 * (rng.next() - 0.5);
    t++;
    js.applyGradient(x, order, start, end, dPooled, ADAM, t);
    wasm.applyGradient(trainingMatrix, order, start, end, dPooled, ADAM, t);
  }
  return { js, wasm, pooledJs, pooledWasm };
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('the table in WebAssembly (table-wasm.ts)', () => {
  for (const dim of [8, 24, 64]) {
    it(`pools and updates exactly as the JS loops do, bit for bit, at width ${dim}`, () => {
      const { js, wasm } = trainBoth(dim, dim);
      expect(bytes(wasm.table).equals(bytes(js.table))).toBe(true);
      expect(bytes(wasm.v).equals(bytes(js.v))).toBe(true);
      // The updates did something: the table moved away from its start.
      const start = new SparseEmbedding(500, dim, 'row', false);
      start.initUniform(new Rng(dim + 1), 1 / dim);
      expect(bytes(js.table).equals(bytes(start.table))).toBe(false);
    });
  }

  it('pools a wider range than its batch arrays hold through the JS loop, with the same result', () => {
    const x = randomMatrix(new Rng(3), 40, 50, 30);
    const { table, trainingMatrix } = SparseEmbedding.withWasm(50, 16, x, 8);
    const js = new SparseEmbedding(50, 16, 'row', false);
    table.initUniform(new Rng(4), 0.1);
    js.initUniform(new Rng(4), 0.1);
    const order = Uint32Array.from({ length: 40 }, (_, i) => 39 - i);
    const [a, b] = [new Float32Array(40 * 16), new Float32Array(40 * 16)];
    table.pool(trainingMatrix, order, 0, 40, a);
    js.pool(x, order, 0, 40, b);
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(a.some((f) => f !== 0)).toBe(true);
  });

  it('sizes its memory for batches of long examples: 256 examples of 200 rows each (51,200 row uses a batch)', () => {
    // The row-update arrays are four of `uses` elements; sized for three, the page of slack hid it until a
    // batch's uses passed ~16,000 (a real buffer of 400k experiences: "wasm memory … is too small").
    const count = 256;
    const len = 200;
    const offsets = Uint32Array.from({ length: count + 1 }, (_, i) => i * len);
    const x: FeatureMatrix = { count, offsets, rows: Int32Array.from({ length: count * len }, (_, i) => i % 1000), weights: new Float32Array(count * len).fill(1 / len) };
    const { table, trainingMatrix } = SparseEmbedding.withWasm(1000, 16, x, count);
    expect(trainingMatrix).not.toBe(x);
    const order = Uint32Array.from({ length: count }, (_, i) => i);
    const pooled = new Float32Array(count * 16);
    table.pool(trainingMatrix, order, 0, count, pooled);
    table.applyGradient(trainingMatrix, order, 0, count, new Float32Array(count * 16).fill(0.01), ADAM, 1);
    expect(table.table.some((v) => v !== 0)).toBe(true);
  });

  it('keeps the JS loops where the kernels do not apply (a width not a multiple of 8)', () => {
    const x = randomMatrix(new Rng(1), 20, 50, 5);
    expect(SparseEmbedding.withWasm(50, 12, x, 8).trainingMatrix).toBe(x);
  });

  it('refuses to train a wasm table on another matrix than its own copy', () => {
    const x = randomMatrix(new Rng(2), 20, 50, 5);
    const { table } = SparseEmbedding.withWasm(50, 8, x, 8);
    const order = Uint32Array.from({ length: 8 }, (_, i) => i);
    expect(() => table.applyGradient(x, order, 0, 8, new Float32Array(64), ADAM, 1)).toThrow(/trainingMatrix/);
  });
});
