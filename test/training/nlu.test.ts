import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/models/kernels/rng.js';
import { createNluTrainer, nluTrainerModule, type NluTuning } from '../../src/models/nlu/trainer.js';
import type { EpochMetrics, Example, ModelTrainer, Predictor, TrainerOptions } from '../../src/models/types.js';
import { loadSnips, snipsSlice } from './snips.js';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('../fixtures/nlu-predict.mjs', import.meta.url));
const COMPILED = fileURLToPath(new URL('../../dist/models/nlu/trainer.js', import.meta.url));
/** A narrow table keeps the exactness tests fast; they test bookkeeping, not accuracy. */
const SMALL: NluTuning = { embeddingDim: 8 };

let dir: string;
const small = snipsSlice(16);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trinity-nlu-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function train(
  data: { train: Example[]; validation: Example[] },
  options: TrainerOptions,
  seed: number,
  tuning: NluTuning = SMALL,
): Promise<{ trainer: ModelTrainer; rng: Rng; metrics: EpochMetrics[] }> {
  const rng = new Rng(seed);
  const trainer = createNluTrainer(tuning);
  await trainer.init(data.train, data.validation, options, rng);
  const metrics: EpochMetrics[] = [];
  for (let e = 1; e <= options.epochs; e++) metrics.push(await trainer.runEpoch(e, rng, () => false));
  return { trainer, rng, metrics };
}

async function exportedWeights(trainer: ModelTrainer, name: string): Promise<Buffer> {
  const out = join(dir, name);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await trainer.exportModel(out);
  return readFile(join(out, 'weights.bin'));
}

describe('nluTrainerModule', () => {
  let model: string;
  let predictor: Predictor;
  let learned: EpochMetrics[];
  const data = snipsSlice(4);

  beforeAll(async () => {
    const { trainer, metrics } = await train(data, { epochs: 3 }, 1, {});
    learned = metrics;
    model = join(dir, 'learned');
    await mkdir(model, { recursive: true });
    await trainer.exportModel(model);
    trainer.dispose();
    predictor = await nluTrainerModule.loadPredictor(model);
  });

  it('learns SNIPS intents from a few thousand rows: held-out accuracy far above chance (1/7)', () => {
    const last = learned[learned.length - 1];
    expect(data.train.length).toBeGreaterThan(3000);
    expect(last.samples).toBe(data.train.length);
    expect(last.val_accuracy).toBeGreaterThan(0.93);
    expect(last.loss).toBeLessThan(learned[0].loss);
    const test = loadSnips('test.csv');
    const correct = test.filter((ex) => predictor.predict(ex.input).intent === ex.label).length;
    expect(correct / test.length).toBeGreaterThan(0.93);
  });

  it('predicts in plain JS what the onnxruntime forward scored in training (same validation accuracy)', () => {
    const correct = data.validation.filter((ex) => predictor.predict(ex.input).intent === ex.label).length;
    expect(correct / data.validation.length).toBeCloseTo(learned[learned.length - 1].val_accuracy, 10);
  });

  it('answers {intent, confidence, top_k} with up to 5 ranked scores that sum below 1', () => {
    const p = predictor.predict({ text: 'play some jazz by miles davis' });
    expect(p.intent).toBe('PlayMusic');
    const topK = p.top_k as { intent: string; score: number }[];
    expect(topK).toHaveLength(5);
    expect(topK[0]).toEqual({ intent: p.intent, score: p.confidence });
    for (let i = 1; i < topK.length; i++) expect(topK[i].score).toBeLessThanOrEqual(topK[i - 1].score);
    expect(topK.reduce((s, t) => s + t.score, 0)).toBeLessThanOrEqual(1 + 1e-9);
  });

  it('accepts input.query and input.utterance as aliases of input.text', () => {
    const text = 'what is the weather in paris tomorrow';
    const expected = predictor.predict({ text });
    expect(predictor.predict({ query: text })).toEqual(expected);
    expect(predictor.predict({ utterance: text })).toEqual(expected);
  });

  it('rejects blank or missing text with TRN_ERR_TRAINING_INVALID_REQUEST naming input.text', () => {
    for (const input of [{ text: '' }, { text: '   ' }, { text: 42 }, {}]) {
      expect(() => predictor.predict(input)).toThrow(expect.objectContaining({ code: 'TRN_ERR_TRAINING_INVALID_REQUEST', statusCode: 400, message: 'input.text must be a non-empty string' }));
    }
  });

  it('predicts the same intents and scores in a fresh process loading the compiled package', async () => {
    if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: run \`npm run build\` first (npm test does)`);
    const texts = loadSnips('test.csv').filter((_, i) => i % 10 === 0).map((ex) => ex.input.text as string);
    const textsFile = join(dir, 'texts.json');
    await writeFile(textsFile, JSON.stringify(texts));
    const { stdout } = await run(process.execPath, [FIXTURE, model, textsFile]);
    const fresh = JSON.parse(stdout) as { intent: string; confidence: number }[];
    expect(fresh).toHaveLength(texts.length);
    texts.forEach((text, i) => {
      const here = predictor.predict({ text });
      expect(fresh[i].intent).toBe(here.intent);
      expect(fresh[i].confidence).toBe(here.confidence);
    });
  });
});

describe('NluTrainer', () => {
  it('gives bit-identical weights for the same seed, different ones for another seed', async () => {
    const a = await train(small, { epochs: 2 }, 7);
    const b = await train(small, { epochs: 2 }, 7);
    const c = await train(small, { epochs: 2 }, 8);
    const [wa, wb, wc] = [await exportedWeights(a.trainer, 'a'), await exportedWeights(b.trainer, 'b'), await exportedWeights(c.trainer, 'c')];
    expect(a.metrics).toEqual(b.metrics);
    expect(wa.equals(wb)).toBe(true);
    expect(wa.equals(wc)).toBe(false);
    for (const t of [a, b, c]) t.trainer.dispose();
  });

  it('exports the same bytes with the table loops in WebAssembly as in JS (64 wide, a validation split)', async () => {
    const data = snipsSlice(8);
    const files = ['weights.bin', 'calibration.json', 'model.onnx'];
    const exported = async (tuning: NluTuning, name: string) => {
      const { trainer, metrics } = await train(data, { epochs: 2 }, 5, tuning);
      const out = join(dir, name);
      await rm(out, { recursive: true, force: true });
      await mkdir(out, { recursive: true });
      await trainer.exportModel(out);
      trainer.dispose();
      return { metrics, bytes: await Promise.all(files.map((f) => readFile(join(out, f)))) };
    };
    const wasm = await exported({}, 'wasm');
    const js = await exported({ wasm: false }, 'js');
    expect(wasm.metrics).toEqual(js.metrics);
    for (let i = 0; i < files.length; i++) expect(wasm.bytes[i].equals(js.bytes[i]), files[i]).toBe(true);
  });

  it('resumes exactly: 2 epochs, save, load into a new trainer, 2 more equals 4 uninterrupted', async () => {
    const options = { epochs: 4 };
    const straight = await train(small, options, 11);
    const first = createNluTrainer(SMALL);
    const rng = new Rng(11);
    await first.init(small.train, small.validation, options, rng);
    for (let e = 1; e <= 2; e++) await first.runEpoch(e, rng, () => false);
    const checkpoint = join(dir, 'checkpoint');
    await mkdir(checkpoint, { recursive: true });
    await first.saveState(checkpoint);
    const savedRng = rng.getState();
    first.dispose();

    const resumed = createNluTrainer(SMALL);
    const rng2 = new Rng(11);
    await resumed.init(small.train, small.validation, options, rng2);
    await resumed.loadState(checkpoint);
    rng2.setState(savedRng);
    const tail: EpochMetrics[] = [];
    for (let e = 3; e <= 4; e++) tail.push(await resumed.runEpoch(e, rng2, () => false));
    expect(tail).toEqual(straight.metrics.slice(2));
    expect((await exportedWeights(resumed, 'resumed')).equals(await exportedWeights(straight.trainer, 'straight'))).toBe(true);
    resumed.dispose();
    straight.trainer.dispose();
  });

  it('exports the same files from a checkpoint of the last epoch as the run that wrote it (a job killed before its export)', async () => {
    const options = { epochs: 3 };
    const straight = await train(small, options, 13);
    const checkpoint = join(dir, 'last-checkpoint');
    await mkdir(checkpoint, { recursive: true });
    await straight.trainer.saveState(checkpoint);
    const resumed = createNluTrainer(SMALL);
    await resumed.init(small.train, small.validation, options, new Rng(13));
    await resumed.loadState(checkpoint);
    const exportAll = async (t: ModelTrainer, name: string) => {
      const out = join(dir, name);
      await rm(out, { recursive: true, force: true });
      await mkdir(out, { recursive: true });
      await t.exportModel(out);
      const files = (await readdir(out)).sort();
      return Object.fromEntries(await Promise.all(files.map(async (f) => [f, (await readFile(join(out, f))).toString('base64')] as const)));
    };
    const a = await exportAll(straight.trainer, 'last-straight');
    const b = await exportAll(resumed, 'last-resumed');
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const f of Object.keys(a)) expect(b[f], f).toBe(a[f]);
    resumed.dispose();
    straight.trainer.dispose();
  });

  it('refuses a checkpoint written for other data', async () => {
    const a = await train(small, { epochs: 1 }, 3);
    const other = join(dir, 'other-checkpoint');
    await mkdir(other, { recursive: true });
    await a.trainer.saveState(other);
    a.trainer.dispose();
    const b = createNluTrainer(SMALL);
    await b.init(snipsSlice(9).train, [], { epochs: 1 }, new Rng(3));
    await expect(b.loadState(other)).rejects.toThrow(/another model or data set/);
    b.dispose();
  });

  it('stops after the batch where shouldStop turns true, counting only the samples it trained on', async () => {
    const rng = new Rng(5);
    const trainer = createNluTrainer(SMALL);
    await trainer.init(small.train, small.validation, { epochs: 1, batchSize: 16 }, rng);
    let batches = 0;
    const m = await trainer.runEpoch(1, rng, () => ++batches >= 3);
    expect(m.samples).toBe(48);
    expect(Number.isNaN(m.val_accuracy)).toBe(true);
    trainer.dispose();
  });

  it('rejects an unknown architecture, naming it and the known ones', async () => {
    const trainer = createNluTrainer();
    await expect(trainer.init(small.train, [], { epochs: 1, architecture: 'transformer' }, new Rng(1))).rejects.toThrow(
      expect.objectContaining({ code: 'TRN_ERR_TRAINING_INVALID_REQUEST', message: 'architecture must be fasttext or fasttext-hidden, got "transformer"' }),
    );
  });

  it('rejects batchSize 0 and 65536 and a negative learningRate with messages naming the option and value', async () => {
    const trainer = createNluTrainer();
    await expect(trainer.init(small.train, [], { epochs: 1, batchSize: 0 }, new Rng(1))).rejects.toThrow(/batchSize must be an integer 1-4096, got 0/);
    await expect(trainer.init(small.train, [], { epochs: 1, batchSize: 65_536 }, new Rng(1))).rejects.toThrow('batchSize must be an integer 1-4096, got 65536');
    await expect(trainer.init(small.train, [], { epochs: 1, learningRate: -1 }, new Rng(1))).rejects.toThrow(/learningRate must be a number in \(0, 1\], got -1/);
  });

  it('trains the fasttext-hidden architecture too', async () => {
    const { trainer, metrics } = await train(small, { epochs: 3, batchSize: 16, architecture: 'fasttext-hidden' }, 2);
    expect(metrics[2].val_accuracy).toBeGreaterThan(0.7);
    trainer.dispose();
  });

  it('throws TRN_ERR_TRAINING_NO_DATA when no example has text and an intent', async () => {
    const trainer = createNluTrainer();
    const bad: Example[] = [{ id: 'x', input: { text: ' ' }, label: 'A' }, { id: 'y', input: { text: 'hi' } }];
    await expect(trainer.init(bad, [], { epochs: 1 }, new Rng(1))).rejects.toThrow(expect.objectContaining({ code: 'TRN_ERR_TRAINING_NO_DATA' }));
  });
});
