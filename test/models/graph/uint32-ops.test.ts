/**
 * The 32-bit integer arithmetic of uint32-ops.ts against JS's own (Math.imul, ^, >>>), and the embedding
 * export's random rows against the trainer's randomRow, bit for bit, on onnxruntime-node.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../src/models/graph/builder.js';
import { lowbias32, mulU32, xorShiftRightU32, xorU32 } from '../../../src/models/graph/uint32-ops.js';
import { Rng } from '../../../src/models/kernels/rng.js';
import { mix32, randomRow } from '../../../src/models/embedding/features.js';
import { randomRows } from '../../../src/models/embedding/onnx.js';

async function run(model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

const int64 = (values: readonly number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [values.length]);
const numbers = (t: ort.Tensor) => Array.from(t.data as BigInt64Array, Number);

/** Edge values and random 32-bit words. */
function words(count: number, seed: number): number[] {
  const rng = new Rng(seed);
  return [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xdeadbeef, ...Array.from({ length: count }, () => rng.nextUint32())];
}

describe('uint32-ops', () => {
  it('xor, xor-shift, wrapping multiply and lowbias32 agree with JS on edge and random words', async () => {
    const a = words(200, 1);
    const b = words(200, 2);
    const g = new GraphBuilder('u32');
    const x = g.input('a', [a.length], 'int64');
    const y = g.input('b', [b.length], 'int64');
    const outs: [string, (p: number, q: number) => number][] = [
      [g.node('Identity', [xorU32(g, x, y)], {}, 'xor'), (p, q) => (p ^ q) >>> 0],
      [g.node('Identity', [xorShiftRightU32(g, x, 13)], {}, 'xsr'), (p) => (p ^ (p >>> 13)) >>> 0],
      [g.node('Identity', [mulU32(g, x, 0x846ca68b)], {}, 'mul'), (p) => Math.imul(p, 0x846ca68b) >>> 0],
      [g.node('Identity', [lowbias32(g, x)], {}, 'hash'), (p) => mix32(p)],
    ];
    for (const [name] of outs) g.output(name, [a.length], 'int64');
    const got = await run(g.encode(), { a: int64(a), b: int64(b) });
    for (const [name, f] of outs) expect(numbers(got[name]), name).toEqual(a.map((p, i) => f(p, b[i])));
  });

  it('refuses a multiplier outside 32 bits', () => {
    const g = new GraphBuilder('u32');
    expect(() => mulU32(g, g.input('x', [1], 'int64'), 2 ** 32)).toThrow(/32-bit unsigned/);
  });
});

describe('randomRows', () => {
  it.each([
    [32, 7],
    [48, 0xffffffff],
    [256, 123456],
  ])('gives randomRow (embedding-features.ts) bit for bit at dim %i, seed %i', async (dim, seed) => {
    const buckets = [0, 1, 2 ** 20 - 1, ...words(60, dim).map((w) => w & (2 ** 20 - 1))];
    const g = new GraphBuilder('rows');
    g.node('Identity', [randomRows(g, g.input('buckets', [buckets.length], 'int64'), seed, dim)], {}, 'rows');
    g.output('rows', [buckets.length, dim]);
    const got = (await run(g.encode(), { buckets: int64(buckets) })).rows.data as Float32Array;
    const want = new Float32Array(buckets.length * dim);
    buckets.forEach((b, i) => randomRow(seed, b, dim, want, i * dim));
    expect(got).toEqual(want);
  });
});
