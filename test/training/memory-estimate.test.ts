/**
 * Each trainer's memory estimate against the peak RSS its trainer child really reaches (getrusage maxRSS,
 * reported by the child when it exports): real jobs of all four types on real data at two sizes each, so
 * the data-size terms are tested too. The estimate must cover the peak (it is what JARVIS reserves) and not
 * exceed twice it (or it would keep jobs waiting for memory they never use).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsvRows } from '../../bench/lib/data.js';
import type { ModelType } from '../../src/model-types.js';
import { TRAINER_NICENESS } from '../../src/training/trainer-protocol.js';
import { writeDataset } from '../../src/training/dataset-file.js';
import { TrainerChild } from '../../src/training/trainer-child.js';
import { getTrainerModule, type Example } from '../../src/models/index.js';
import { digitExamples, readOptdigits } from '../fixtures/vision-optdigits.js';
import { fsddExamples, fsddRows } from '../fixtures/voice-fsdd.js';
import { readSnips } from '../helpers/snips.js';
import { isValidation } from './snips.js';

const root = mkdtempSync(join(tmpdir(), 'trinity-memory-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every `n`-th of `items`, so a slice spans the whole (sorted) file. */
const spread = <T>(items: readonly T[], count: number): T[] => items.filter((_, i) => i % Math.max(1, Math.floor(items.length / count)) === 0).slice(0, count);

/** ~10 % to validation by a hash of the id, as reactor splits. */
function split(examples: Example[]): { train: Example[]; validation: Example[] } {
  return { train: examples.filter((e) => !isValidation(e.id)), validation: examples.filter((e) => isValidation(e.id)) };
}

const data: Record<ModelType, (count: number) => { train: Example[]; validation: Example[] }> = {
  nlu: (count) => split(spread(readSnips('train'), count).map((r, i) => ({ id: `snips-${i}`, input: { text: r.text }, label: r.intent }))),
  voice: (count) => {
    const rows = spread(fsddRows(), count);
    return split(fsddExamples([...new Set(rows.map((r) => r.index))], rows));
  },
  vision: (count) => split(digitExamples(spread(readOptdigits('train'), count), 'digit')),
  embedding: (count) =>
    split(
      spread(readCsvRows('embedding-stsb/pairs_train.csv'), count).map((r, i) => ({ id: `stsb-${i}`, input: { text_a: r[4], text_b: r[5] }, score: Number(r[6]) })),
    ),
};

/** Runs one job in a trainer child, as reactor does, and returns the peak RSS it reported. */
async function measuredPeak(modelType: ModelType, dataset: { train: Example[]; validation: Example[] }, epochs: number, jobId: string): Promise<number> {
  const datasetPath = join(root, `${jobId}.jsonl`);
  await writeDataset(datasetPath, dataset);
  const child = new TrainerChild({
    jobId,
    modelType,
    datasetPath,
    options: { epochs },
    seed: 7,
    checkpointsRoot: root,
    checkpointEnabled: true,
    checkpointInterval: epochs,
    exportDir: join(root, jobId, 'export'),
    resume: false,
  });
  let peak = 0;
  let error = '';
  let niceness: number | undefined;
  child.on('message', (m) => {
    niceness ??= getPriority(child.pid!);
    if (m.type === 'exported') peak = m.peakRssBytes;
    if (m.type === 'failed') error = m.error;
  });
  await child.waitForExit();
  if (peak === 0) throw new Error(`the ${modelType} job did not finish: ${error}`);
  // Training yields the CPU to the services and the user's programs.
  expect(niceness).toBe(TRAINER_NICENESS);
  return peak;
}

// Sizes (examples) and epochs: the defaults a job gets, small enough to run in ~30 s on two cores.
const CASES: [ModelType, number[], number][] = [
  ['nlu', [500, 3000], 5],
  ['voice', [150, 1200], 10],
  ['vision', [300, 1500], 10],
  ['embedding', [300, 1500], 5],
];

describe('memory estimates against measured peaks', () => {
  for (const [modelType, sizes, epochs] of CASES) {
    it(`${modelType}: estimate ≥ the trainer child's peak RSS and ≤ twice it, at ${sizes.join(' and ')} examples`, async () => {
      const figures: string[] = [];
      for (const size of sizes) {
        const dataset = data[modelType](size);
        const estimate = getTrainerModule(modelType).estimateMemory!(dataset.train, dataset.validation, { epochs });
        const peak = await measuredPeak(modelType, dataset, epochs, `${modelType}-${size}`);
        figures.push(`${size}: estimate ${(estimate.bytes / 2 ** 20).toFixed(0)} MB, peak ${(peak / 2 ** 20).toFixed(0)} MB`);
        expect(estimate.basis).toMatch(new RegExp(`^${modelType} estimate: `));
        expect(estimate.bytes, figures.join('; ')).toBeGreaterThanOrEqual(peak);
        expect(estimate.bytes, figures.join('; ')).toBeLessThanOrEqual(2 * peak);
      }
      console.log(`${modelType} ${figures.join('; ')}`);
    }, 60_000);
  }
});
