import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrinityError } from '../../src/errors.js';
import { Rng } from '../../src/models/kernels/rng.js';
import { getTrainerModule } from '../../src/models/index.js';
import type { EpochMetrics, Example, ModelTrainer } from '../../src/models/types.js';
import { createVisionTrainer } from '../../src/models/vision/trainer.js';
import { loadVisionPredictor, type VisionPredictor } from '../../src/models/vision/predictor.js';
import { initCnnParams } from '../../src/models/vision/cnn.js';
import { layoutOf, readVisionModel } from '../../src/models/vision/files.js';
import { inputSize, readVisionInput, toModelInput } from '../../src/models/vision/input.js';
import { LR_FLOOR, VISION_DEFAULTS } from '../../src/models/vision/options.js';
import { CnnOptimizer } from '../../src/models/vision/train.js';
import { linearDecay } from '../../src/models/kernels/schedule.js';
import { digitExamples, digitPng, readOptdigits, type DigitRow } from '../fixtures/vision-optdigits.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SEED = 7;

const tmp: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vision-test-'));
  tmp.push(dir);
  return dir;
}

/** Trains `epochs` epochs from a fresh trainer; returns it (not disposed), its rng and each epoch's metrics. */
async function train(data: { train: Example[]; val: Example[] }, epochs: number): Promise<{ trainer: ModelTrainer; rng: Rng; metrics: EpochMetrics[] }> {
  const trainer = createVisionTrainer();
  const rng = new Rng(SEED);
  await trainer.init(data.train, data.val, { epochs }, rng);
  const metrics: EpochMetrics[] = [];
  for (let e = 1; e <= epochs; e++) metrics.push(await trainer.runEpoch(e, rng, () => false));
  return { trainer, rng, metrics };
}

function rejection(f: () => unknown): TrinityError {
  try {
    f();
  } catch (err) {
    if (err instanceof TrinityError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

function accuracy(predictor: VisionPredictor, examples: readonly Example[]): number {
  return examples.filter((ex) => predictor.predict(ex.input).label === ex.label).length / examples.length;
}

let trainRows: DigitRow[];
let heldOut: Example[];
/** 800 training digits as pixels, 5 epochs; its export and predictor. */
let slice: { train: Example[]; val: Example[] };
let finalMetrics: EpochMetrics;
let exportDir: string;
let predictor: VisionPredictor;

beforeAll(async () => {
  trainRows = readOptdigits('train');
  heldOut = digitExamples(readOptdigits('test').slice(0, 300), 'test');
  slice = { train: digitExamples(trainRows.slice(0, 800), 'train'), val: heldOut };
  const { trainer, metrics } = await train(slice, 5);
  finalMetrics = metrics[metrics.length - 1];
  exportDir = tempDir();
  await trainer.exportModel(exportDir);
  trainer.dispose();
  predictor = await loadVisionPredictor(exportDir);
});

afterAll(() => {
  predictor?.dispose();
  for (const dir of tmp) rmSync(dir, { recursive: true, force: true });
});

describe('VisionTrainer', () => {
  it('is the trainer registered for model type vision', () => {
    expect(getTrainerModule('vision').modelType).toBe('vision');
  });

  it('learns optdigits from 800 pixel examples: held-out accuracy far above chance (1/10)', () => {
    expect(finalMetrics.samples).toBe(800);
    expect(finalMetrics.val_accuracy).toBeGreaterThanOrEqual(0.85);
    // The exported predictor measures what the trainer measured on the same rows.
    expect(accuracy(predictor, heldOut)).toBeCloseTo(finalMetrics.val_accuracy, 10);
  });

  it('exports the input geometry it chose from the data: 8×8 grey, pixels divided by 16', () => {
    const model = JSON.parse(readFileSync(join(exportDir, 'model.json'), 'utf8')) as { input: unknown; labels: string[] };
    expect(model.input).toEqual({ width: 8, height: 8, channels: 1, pixel_scale: 16 });
    expect(model.labels).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('reads base64 PNG images: a model trained on half PNG, half pixels learns, and PNG and pixel inputs predict alike', async () => {
    const mixed = { train: digitExamples(trainRows.slice(0, 600), 'mix', (i) => i % 2 === 0), val: digitExamples(readOptdigits('test').slice(0, 200), 'png', () => true) };
    const { trainer, metrics } = await train(mixed, 4);
    trainer.dispose();
    expect(metrics[3].val_accuracy).toBeGreaterThanOrEqual(0.8);
    // PNG levels are 0–255 rounded; pixels are 0–16: the model sees almost the same image either way.
    const same = heldOut.filter((ex) => predictor.predict({ image: digitPng(ex.input.pixels as number[]) }).label === predictor.predict(ex.input).label);
    expect(same.length / heldOut.length).toBeGreaterThanOrEqual(0.98);
  });

  it('is deterministic, and resuming from a checkpoint after epoch 1 ends bit-identical to an uninterrupted run', async () => {
    const data = { train: digitExamples(trainRows.slice(0, 300), 'r'), val: heldOut.slice(0, 100) };
    const exported = async (trainer: ModelTrainer): Promise<Buffer> => {
      const dir = tempDir();
      await trainer.exportModel(dir);
      trainer.dispose();
      return readFileSync(join(dir, 'weights.bin'));
    };
    const a = await train(data, 2);
    const b = await train(data, 2);
    expect(b.metrics).toEqual(a.metrics);
    const weightsA = await exported(a.trainer);
    expect((await exported(b.trainer)).equals(weightsA)).toBe(true);

    const first = createVisionTrainer();
    const rng = new Rng(SEED);
    await first.init(data.train, data.val, { epochs: 2 }, rng);
    await first.runEpoch(1, rng, () => false);
    const checkpoint = tempDir();
    await first.saveState(checkpoint);
    const rngState = rng.getState();
    first.dispose();

    const resumed = createVisionTrainer();
    const rng2 = new Rng(SEED);
    await resumed.init(data.train, data.val, { epochs: 2 }, rng2);
    await resumed.loadState(checkpoint);
    rng2.setState(rngState);
    expect(await resumed.runEpoch(2, rng2, () => false)).toEqual(a.metrics[1]);
    expect((await exported(resumed)).equals(weightsA)).toBe(true);
  });

  it('refuses a checkpoint written for other data', async () => {
    const trainer = createVisionTrainer();
    await trainer.init(digitExamples(trainRows.slice(0, 50), 'x'), [], { epochs: 1 }, new Rng(1));
    const dir = tempDir();
    await trainer.saveState(dir);
    trainer.dispose();
    const other = createVisionTrainer();
    await other.init(digitExamples(trainRows.slice(50, 100), 'y'), [], { epochs: 1 }, new Rng(1));
    await expect(other.loadState(dir)).rejects.toThrow(/belongs to another model or data set/);
    other.dispose();
  });

  it('ends an epoch of runs of 16 and 2 steps and a shorter last batch with the bits of one step per run', async () => {
    // 150 digits in batches of 8: 18 full batches (runs of 16 and 2 steps), then 6 digits alone.
    const rows = trainRows.slice(0, 150);
    const trainer = createVisionTrainer();
    const rng = new Rng(SEED);
    await trainer.init(digitExamples(rows, 'g'), [], { epochs: 2, batchSize: 8 }, rng);
    await trainer.runEpoch(1, rng, () => false);
    const dir = tempDir();
    await trainer.exportModel(dir);
    trainer.dispose();
    const model = await readVisionModel(dir);

    // The same epoch by hand, one step per onnxruntime run: the same draws from the same seed.
    const layout = layoutOf(model);
    const ref = new Rng(SEED);
    const adam = { learningRate: VISION_DEFAULTS.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
    const optimizer = await CnnOptimizer.create(layout, initCnnParams(layout, ref), adam, 1);
    const size = inputSize(model.geometry);
    const data = new Float32Array(rows.length * size);
    rows.forEach((r, i) => toModelInput(readVisionInput({ pixels: r.pixels, width: 8, height: 8 }), model.geometry, data, i * size));
    const labels = Int32Array.from(rows, (r) => model.labels.indexOf(r.label));
    const order = ref.shuffle(Uint32Array.from({ length: rows.length }, (_, i) => i)) as Uint32Array;
    for (let start = 0, t = 1; start < rows.length; start += 8, t++) {
      const batch = { labels, order, start, size: Math.min(8, rows.length - start), steps: 1, labelSmoothing: VISION_DEFAULTS.labelSmoothing };
      await optimizer.trainSteps(data, batch, adam, [adam.learningRate * linearDecay(t, 2 * 19, LR_FLOOR)], t);
    }
    const want = optimizer.getParams();
    optimizer.dispose();
    expect(Buffer.from(model.params.buffer, model.params.byteOffset, model.params.byteLength).equals(Buffer.from(want.buffer))).toBe(true);
  });

  it('stops after the run (up to 16 batches) where shouldStop turns true, skipping validation', async () => {
    const trainer = createVisionTrainer();
    const rng = new Rng(SEED);
    await trainer.init(digitExamples(trainRows.slice(0, 300), 's'), heldOut.slice(0, 50), { epochs: 1, batchSize: 64 }, rng);
    // 300 digits: one run of the four full batches of 64, then the last 44 alone.
    const m = await trainer.runEpoch(1, rng, () => true);
    trainer.dispose();
    expect(m.samples).toBe(256);
    expect(m.val_accuracy).toBeNaN();
    const small = createVisionTrainer();
    await small.init(digitExamples(trainRows.slice(0, 300), 's'), heldOut.slice(0, 50), { epochs: 1, batchSize: 16 }, rng);
    const s = await small.runEpoch(1, rng, () => true);
    small.dispose();
    expect(s.samples).toBe(16 * 16);
  });

  it('predicts the same in a fresh process from dist/ as in this one, errors included', () => {
    const inputs: unknown[] = [
      ...heldOut.slice(0, 20).map((ex) => ex.input),
      ...heldOut.slice(20, 25).map((ex) => ({ image: digitPng(ex.input.pixels as number[]) })),
      { pixels: [1, 2, 3], width: 8, height: 8 },
    ];
    const file = join(tempDir(), 'inputs.json');
    writeFileSync(file, JSON.stringify(inputs));
    const out = execFileSync(process.execPath, [join(ROOT, 'test/fixtures/predict-inputs.mjs'), 'vision', exportDir, file], { encoding: 'utf8' });
    const fresh = JSON.parse(out) as Record<string, unknown>[];
    const here = inputs.slice(0, 25).map((input) => predictor.predict(input as Record<string, unknown>));
    expect(fresh.slice(0, 25)).toEqual(here);
    expect(here[0]).toMatchObject({ label: expect.any(String), confidence: expect.any(Number) });
    expect((here[0].top_k as unknown[]).length).toBe(5);
    expect(fresh[25]).toMatchObject({ error: 'TRN_ERR_TRAINING_INVALID_REQUEST', message: expect.stringContaining('input.pixels') });
  });
});

describe('VisionPredictor', () => {
  it.each([
    [{ pixels: [1, 2, 3], width: 8, height: 8 }, 'input.pixels has 3 values, expected 8×8 = 64 (grey) or ×3 = 192 (RGB)'],
    [{ pixels: new Array(64).fill(0), width: 8, height: 8, channels: 3 }, 'input.pixels has 64 values, expected 8×8×3 = 192'],
    [{ pixels: [...new Array(63).fill(0), 'x'], width: 8, height: 8 }, 'input.pixels[63] must be a finite number, got "x"'],
    [{ pixels: new Array(64).fill(0), width: 8.5, height: 8 }, 'input.width must be a positive integer, got 8.5'],
    [{ image: 'not base64!' }, 'input.image is not valid base64'],
    [{ image: Buffer.from('GIF89a....').toString('base64') }, 'input.image is not a PNG or JPEG image (unknown file signature)'],
    [{ image: Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(40, 1)]).toString('base64') }, 'input.image'],
    [{ text: 'a cat' }, 'input.image (or input.pixels with width and height) is missing'],
  ])('rejects %j with TRN_ERR_TRAINING_INVALID_REQUEST naming the field', (input, message) => {
    const err = rejection(() => predictor.predict(input));
    expect(err.code).toBe('TRN_ERR_TRAINING_INVALID_REQUEST');
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain(message);
  });
});

describe('VisionTrainer init', () => {
  it('skips examples with unreadable inputs, and fails with TRN_ERR_TRAINING_NO_DATA when none is usable', async () => {
    const good = digitExamples(trainRows.slice(0, 40), 'g');
    const bad: Example[] = [
      { id: 'b1', input: { pixels: [1, 2], width: 8, height: 8 }, label: '1' },
      { id: 'b2', input: { image: 'bm90IGFuIGltYWdl' }, label: '2' },
    ];
    const trainer = createVisionTrainer();
    await trainer.init([...good, ...bad], [], { epochs: 1 }, new Rng(1));
    expect((await trainer.runEpoch(1, new Rng(2), () => false)).samples).toBe(40);
    trainer.dispose();
    const none = createVisionTrainer();
    await expect(none.init(bad, [], { epochs: 1 }, new Rng(1))).rejects.toMatchObject({
      code: 'TRN_ERR_TRAINING_NO_DATA',
      message: expect.stringContaining('example b1: input.pixels has 2 values'),
    });
  });

  it('rejects an unknown architecture naming it, and takes cnn@WxH as the input size', async () => {
    const data = digitExamples(trainRows.slice(0, 20), 'a');
    await expect(createVisionTrainer().init(data, [], { epochs: 1, architecture: 'resnet50' }, new Rng(1))).rejects.toThrow(
      'architecture must be cnn or cnn@<width>x<height> with sides multiples of 4 in 8-32, got "resnet50"',
    );
    await expect(createVisionTrainer().init(data, [], { epochs: 1, architecture: 'cnn@36x36' }, new Rng(1))).rejects.toThrow(/architecture must be .*, got "cnn@36x36"/);
    await expect(createVisionTrainer().init(data, [], { epochs: 0 }, new Rng(1))).rejects.toThrow('epochs must be an integer 1-10000, got 0');
    const trainer = createVisionTrainer();
    await trainer.init(data, [], { epochs: 1, architecture: 'cnn@16x12' }, new Rng(1));
    const dir = tempDir();
    await trainer.exportModel(dir);
    trainer.dispose();
    const model = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { input: { width: number; height: number } };
    expect(model.input).toMatchObject({ width: 16, height: 12 });
    const p = await loadVisionPredictor(dir);
    expect(p.predict(data[0].input).top_k).toHaveLength(5);
    p.dispose();
  });
});
