/**
 * The vision step runs on onnxruntime with a fixed count of intra-op threads per job. Its kernels split
 * work by output blocks, never a sum, so the thread count must not change a single bit: two epochs on one
 * thread and on two end with the same metrics and the same exported weights.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/models/kernels/rng.js';
import type { EpochMetrics } from '../../src/models/types.js';
import { createVisionTrainer } from '../../src/models/vision/trainer.js';
import { digitExamples, readOptdigits } from '../fixtures/vision-optdigits.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function trainWith(threads: number): Promise<{ metrics: EpochMetrics[]; weights: Buffer }> {
  const rows = readOptdigits('train');
  const data = { train: digitExamples(rows.slice(0, 400), 'tr'), val: digitExamples(rows.slice(400, 500), 'va') };
  const trainer = createVisionTrainer({ threads });
  const rng = new Rng(5);
  await trainer.init(data.train, data.val, { epochs: 2 }, rng);
  const metrics = [await trainer.runEpoch(1, rng, () => false), await trainer.runEpoch(2, rng, () => false)];
  const dir = mkdtempSync(join(tmpdir(), 'vision-threads-'));
  dirs.push(dir);
  await trainer.exportModel(dir);
  trainer.dispose();
  return { metrics, weights: readFileSync(join(dir, 'weights.bin')) };
}

describe('vision training threads', () => {
  it('ends bit-identical on 1 and 2 onnxruntime threads', async () => {
    const one = await trainWith(1);
    const two = await trainWith(2);
    expect(two.metrics).toEqual(one.metrics);
    expect(two.weights.equals(one.weights)).toBe(true);
    expect(one.metrics[1].val_accuracy).toBeGreaterThan(0.5);
  });
});
