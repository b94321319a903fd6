import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrinityError } from '../../src/errors.js';
import { evaluatePredictor } from '../../src/training/evaluate.js';
import { Rng } from '../../src/models/kernels/rng.js';
import { createEmbeddingTrainer, embeddingTrainerModule, similarity, type EmbeddingEpochMetrics } from '../../src/models/embedding/trainer.js';
import { EMBEDDING_ARCHITECTURES, type EmbeddingTuning } from '../../src/models/embedding/options.js';
import type { EmbeddingPredictor } from '../../src/models/embedding/predictor.js';
import type { Example, TrainerOptions } from '../../src/models/types.js';
import { parseCsvObjects } from '../../src/util/csv.js';
import { DATA_DIR } from '../helpers/processes.js';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('../fixtures/embedding-predict.mjs', import.meta.url));
const COMPILED = fileURLToPath(new URL('../../dist/models/embedding/trainer.js', import.meta.url));
/** Narrow vectors keep the tests quick; the exactness tests check bookkeeping, not quality. */
const SMALL: EmbeddingTuning = { dim: 32 };

/** STS-B pairs as embedding examples; every `step`-th row, so a slice spans all genres (the file is sorted by genre). */
function stsb(file: 'pairs_train.csv' | 'pairs_dev.csv', step: number, prefix: string): Example[] {
  const rows = parseCsvObjects(readFileSync(join(DATA_DIR, 'embedding-stsb', file), 'utf8'));
  return rows
    .filter((_, i) => i % step === 0)
    .map((r, i) => ({ id: `${prefix}-${i}`, input: { text_a: r.sentence1, text_b: r.sentence2 }, score: Number(r.score) }));
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trinity-embedding-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `epochs` of the `options.epochs` planned (the learning-rate schedule follows the plan). */
async function train(train: Example[], validation: Example[], options: TrainerOptions, seed: number, tuning: EmbeddingTuning, epochs = options.epochs) {
  const rng = new Rng(seed);
  const trainer = createEmbeddingTrainer(tuning);
  await trainer.init(train, validation, options, rng);
  const metrics: EmbeddingEpochMetrics[] = [];
  for (let e = 1; e <= epochs; e++) metrics.push(await trainer.runEpoch(e, rng, () => false));
  return { trainer, rng, metrics };
}

async function exportTo(trainer: { exportModel(dir: string): Promise<void> }, name: string): Promise<string> {
  const out = join(dir, name);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await trainer.exportModel(out);
  return out;
}

describe('embeddingTrainerModule', () => {
  const trainSet = stsb('pairs_train.csv', 2, 'train');
  const devSet = stsb('pairs_dev.csv', 3, 'dev');
  let metrics: EmbeddingEpochMetrics[];
  let report: ReturnType<ReturnType<typeof createEmbeddingTrainer>['validationReport']>;
  let model: string;
  let predictor: EmbeddingPredictor;

  beforeAll(async () => {
    const trained = await train(trainSet, devSet, { epochs: 3 }, 1, { dim: 64 });
    metrics = trained.metrics;
    report = trained.trainer.validationReport();
    model = await exportTo(trained.trainer, 'learned');
    trained.trainer.dispose();
    predictor = (await embeddingTrainerModule.loadPredictor(model)) as EmbeddingPredictor;
  });

  it('learns from an STS-B slice: validation Spearman rises above the untrained TF-IDF-like encoder', () => {
    const last = metrics[metrics.length - 1];
    expect(last.samples).toBe(trainSet.length);
    expect(report.untrained_spearman).toBeGreaterThan(0.6);
    expect(last.val_spearman).toBeGreaterThan((report.untrained_spearman as number) + 0.01);
    expect(report.spearman).toBeCloseTo(last.val_spearman, 10);
    for (const m of metrics) {
      for (const key of ['accuracy', 'val_accuracy'] as const) expect(m[key]).toBeGreaterThan(0.5);
      expect(Number.isFinite(m.loss) && Number.isFinite(m.val_loss)).toBe(true);
    }
    expect(metrics[2].loss).toBeLessThan(metrics[0].loss);
  });

  it('predicts unit vectors of the model width, similar for paraphrases and not for unrelated texts', () => {
    const a = predictor.predict({ text: 'A man is playing a guitar.' });
    const b = predictor.predict({ text: 'A man plays the guitar.' });
    const c = predictor.predict({ text: 'Stocks fell sharply in early trading on Monday.' });
    expect(a.dim).toBe(64);
    expect(a.embedding).toHaveLength(64);
    for (const p of [a, b, c]) expect(Math.hypot(...p.embedding)).toBeCloseTo(1, 6);
    expect(similarity(a.embedding, b.embedding)).toBeGreaterThan(similarity(a.embedding, c.embedding) + 0.2);
  });

  it('rejects empty or missing text with TRN_ERR_TRAINING_INVALID_REQUEST naming input.text', () => {
    for (const input of [{ text: '' }, { text: '   ' }, {}, { text: 42 }, { text: '?!' }]) {
      let caught: unknown;
      try {
        predictor.predict(input);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(TrinityError);
      expect((caught as TrinityError).code).toBe('TRN_ERR_TRAINING_INVALID_REQUEST');
      expect((caught as TrinityError).statusCode).toBe(400);
      expect((caught as TrinityError).message).toContain('input.text');
    }
  });

  it('serves the same vectors and figures from a fresh process as in this one', async () => {
    expect(existsSync(COMPILED), 'run `npm run build` before the tests').toBe(true);
    const texts = ['A plane is taking off.', 'An unseen wordzzz appears here.', 'Three dogs run on the beach.'];
    const input = join(dir, 'fresh-input.json');
    await writeFile(input, JSON.stringify({ texts, examples: devSet }));
    const { stdout } = await run(process.execPath, [FIXTURE, model, input]);
    const fresh = JSON.parse(stdout) as { vectors: number[][]; self_similarity: number[]; evaluation: { n: number; spearman: number; recall_at_1: number } };
    texts.forEach((text, i) => expect(fresh.vectors[i]).toEqual(predictor.predict({ text }).embedding));
    for (const s of fresh.self_similarity) expect(s).toBeCloseTo(1, 12);
    expect(fresh.evaluation).toEqual(await evaluatePredictor(predictor, devSet));
    expect(fresh.evaluation.n).toBe(devSet.length);
    // The plain-JS predictor and the onnxruntime trainer agree up to float32 rounding of the projection.
    expect(fresh.evaluation.spearman).toBeCloseTo(report.spearman as number, 3);
    expect(fresh.evaluation.recall_at_1).toBeCloseTo(report.recall_at_1 as number, 2);
  });
});

describe('EmbeddingTrainer', () => {
  const trainSet = stsb('pairs_train.csv', 20, 'small');
  const devSet = stsb('pairs_dev.csv', 15, 'small-dev');
  const positives: Example[] = trainSet.map((ex, i) => ({ id: `pos-${i}`, input: { text: ex.input.text_a, positive: ex.input.text_b } }));

  it.each(EMBEDDING_ARCHITECTURES)('refuses work once disposed (%s)', async (architecture) => {
    const rng = new Rng(3);
    const trainer = createEmbeddingTrainer(SMALL);
    await trainer.init(trainSet, devSet, { epochs: 1, architecture }, rng);
    await trainer.runEpoch(1, rng, () => false);
    trainer.dispose();
    await expect(trainer.runEpoch(2, rng, () => false)).rejects.toThrow(/not initialised|disposed/);
  });

  it.each(EMBEDDING_ARCHITECTURES)('repeats bit for bit from one seed and resumes exactly from a checkpoint, optimizer state included (%s)', async (architecture) => {
    const options = { epochs: 2, batchSize: 16, architecture };
    const a = await train([...trainSet, ...positives], devSet, options, 11, SMALL);
    const uninterrupted = await readFile(join(await exportTo(a.trainer, 'a'), 'weights.bin'));
    a.trainer.dispose();

    const b = await train([...trainSet, ...positives], devSet, options, 11, SMALL, 1);
    const checkpoint = join(dir, `checkpoint-${architecture}`);
    await mkdir(checkpoint, { recursive: true });
    await b.trainer.saveState(checkpoint);
    const rngState = b.rng.getState();
    b.trainer.dispose();

    const rng = new Rng(11);
    const resumed = createEmbeddingTrainer(SMALL);
    await resumed.init([...trainSet, ...positives], devSet, options, rng);
    await resumed.loadState(checkpoint);
    rng.setState(rngState);
    await resumed.runEpoch(2, rng, () => false);
    expect(Buffer.compare(await readFile(join(await exportTo(resumed, 'resumed'), 'weights.bin')), uninterrupted)).toBe(0);
    resumed.dispose();
    // Equality also proves determinism: the checkpointed run repeated the uninterrupted one's first epoch.
  });

  it('refuses a checkpoint written for other data with a RangeError naming the fingerprint', async () => {
    const first = await train(trainSet, devSet, { epochs: 1 }, 5, SMALL);
    const checkpoint = join(dir, 'other-checkpoint');
    await mkdir(checkpoint, { recursive: true });
    await first.trainer.saveState(checkpoint);
    first.trainer.dispose();
    const other = createEmbeddingTrainer(SMALL);
    await other.init(trainSet.slice(1), devSet, { epochs: 1 }, new Rng(5));
    await expect(other.loadState(checkpoint)).rejects.toThrow(/fingerprint/);
    other.dispose();
  });

  it('trains on unscored positive pairs alone (in-batch negatives only)', async () => {
    const { trainer, metrics } = await train(positives, [], { epochs: 1 }, 2, SMALL);
    expect(metrics[0].samples).toBe(positives.length);
    expect(metrics[0].accuracy).toBeGreaterThan(0.5);
    expect(metrics[0].val_spearman).toBeNaN();
    trainer.dispose();
  });

  it('rejects data without two usable pairs with TRN_ERR_TRAINING_NO_DATA', async () => {
    const trainer = createEmbeddingTrainer(SMALL);
    const unusable: Example[] = [{ id: 'x', input: { text_a: 'only a', text_b: 'no score' } }, { id: 'y', input: { text: '', positive: 'empty' } }];
    await expect(trainer.init(unusable, [], { epochs: 1 }, new Rng(1))).rejects.toMatchObject({ code: 'TRN_ERR_TRAINING_NO_DATA' });
  });

  it('rejects a batchSize of 1 with a message naming batchSize', async () => {
    const trainer = createEmbeddingTrainer(SMALL);
    await expect(trainer.init(trainSet, devSet, { epochs: 1, batchSize: 1 }, new Rng(1))).rejects.toThrow('batchSize must be an integer 2-4096 (in-batch negatives need two pairs), got 1');
  });
});

describe('similarity', () => {
  it('is the cosine: 1 for the same direction, 0 for orthogonal or zero vectors', () => {
    expect(similarity([3, 4], [6, 8])).toBeCloseTo(1, 12);
    expect(similarity([1, 0], [0, 2])).toBe(0);
    expect(similarity([0, 0], [1, 1])).toBe(0);
    expect(similarity([1, 0], [-1, 0])).toBeCloseTo(-1, 12);
  });

  it('rejects vectors of different lengths with TRN_ERR_TRAINING_INVALID_REQUEST', () => {
    expect(() => similarity([1, 2], [1])).toThrow(TrinityError);
  });
});
