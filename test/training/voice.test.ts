import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrinityError } from '../../src/errors.js';
import { encodeWav } from '../../src/models/audio/index.js';
import { Rng } from '../../src/models/kernels/rng.js';
import { getTrainerModule } from '../../src/models/index.js';
import type { Example } from '../../src/models/types.js';
import { createVoiceTrainer, type VoiceCalibration, type VoiceTrainer } from '../../src/models/voice/trainer.js';
import { loadVoicePredictor, type VoicePredictor } from '../../src/models/voice/predictor.js';
import { answerJson } from '../../src/http/answer-json.js';
import { fsddExamples, fsddRows } from '../fixtures/voice-fsdd.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SEED = 11;

/** Trains `epochs` epochs from a fresh trainer; returns it (not disposed) and its rng. */
async function train(examples: { train: Example[]; val: Example[] }, epochs: number, options: Record<string, unknown> = {}): Promise<{ trainer: VoiceTrainer; rng: Rng }> {
  const trainer = createVoiceTrainer();
  const rng = new Rng(SEED);
  await trainer.init(examples.train, examples.val, { epochs, ...options }, rng);
  for (let e = 1; e <= epochs; e++) await trainer.runEpoch(e, rng, () => false);
  return { trainer, rng };
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

const tmp: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'voice-test-'));
  tmp.push(dir);
  return dir;
}

/** Six FSDD speakers: three takes of every digit to train on, a fourth take held out. */
let fsdd: { train: Example[]; val: Example[] };
let exportDir: string;
let predictor: VoicePredictor;
let calibration: VoiceCalibration | null;
let valAccuracy: number;

beforeAll(async () => {
  const rows = fsddRows();
  fsdd = { train: fsddExamples([5, 6, 7], rows), val: fsddExamples([10], rows) };
  const { trainer } = await train(fsdd, 6);
  exportDir = tempDir();
  await trainer.exportModel(exportDir);
  calibration = trainer.summary().calibration;
  trainer.dispose();
  predictor = await loadVoicePredictor(exportDir);
  valAccuracy = fsdd.val.filter((ex) => predictor.predict(ex.input).user === ex.label).length / fsdd.val.length;
});

afterAll(() => {
  for (const dir of tmp) rmSync(dir, { recursive: true, force: true });
});

describe('VoiceTrainer', () => {
  it('is the trainer registered for model type voice', () => {
    expect(getTrainerModule('voice').modelType).toBe('voice');
  });

  it('learns six FSDD speakers from base64 WAV experiences: held-out accuracy far above chance (1/6)', () => {
    expect(fsdd.train).toHaveLength(180);
    expect(fsdd.val).toHaveLength(60);
    expect(valAccuracy).toBeGreaterThanOrEqual(0.85);
  });

  it('exports the calibrated threshold with its false-accept and false-reject rates (model.json and calibration.json)', () => {
    const file = JSON.parse(readFileSync(join(exportDir, 'calibration.json'), 'utf8')) as VoiceCalibration & { data: { train: number; validation: number } };
    const model = JSON.parse(readFileSync(join(exportDir, 'model.json'), 'utf8')) as { calibration: VoiceCalibration; input: { kind: string } };
    expect(file).toMatchObject({ model_type: 'voice', rule: 'equal_error_rate', impostors: 'leave_one_user_out', calibrated_on: 'validation', genuine_trials: 60, impostor_trials: 60 });
    expect(file.data).toMatchObject({ train: 180, validation: 60 });
    expect(model.calibration).toEqual(calibration);
    expect(model.input.kind).toBe('audio');
    // Audio models take prime's default probe (a silent clip); only a fixed embedding length needs its own.
    expect(existsSync(join(exportDir, 'probe.json'))).toBe(false);
    expect(file.threshold).toBeGreaterThan(0);
    expect(file.threshold).toBeLessThanOrEqual(1);
    for (const rate of [file.false_accept_rate, file.false_reject_rate]) {
      expect(rate).toBeGreaterThanOrEqual(0);
      expect(rate).toBeLessThan(0.5);
    }
  });

  it('authenticates most genuine held-out speakers, exactly as often as the reported false-reject rate says', () => {
    const accepted = fsdd.val.filter((ex) => {
      const p = predictor.predict(ex.input);
      return p.user === ex.label && p.authenticated;
    }).length;
    expect(accepted / fsdd.val.length).toBeCloseTo(1 - (calibration?.false_reject_rate ?? 1), 10);
    expect(accepted / fsdd.val.length).toBeGreaterThan(0.6);
  });

  it('answers predict with user, confidence, authenticated and top_k', () => {
    const p = predictor.predict(fsdd.val[0].input);
    expect(p.top_k[0]).toEqual({ user: p.user, score: p.confidence });
    expect(p.top_k.length).toBe(5);
    expect(p.authenticated).toBe(p.confidence >= (calibration?.threshold ?? NaN));
    expect(p.top_k.map((t) => t.score)).toEqual([...p.top_k.map((t) => t.score)].sort((a, b) => b - a));
    // Prime writes voice answers field by field (answer-json.ts): every field the predictor returns must be there.
    const id = '7caa2d84-4db5-4eb7-960a-2eb92acd86d9';
    expect(answerJson('voice', id, 'v1.0.0', p)).toBe(JSON.stringify({ prediction_id: id, model_version: 'v1.0.0', ...p }));
  });

  it('predicts the same in a fresh process loading the compiled export (npm run build first)', () => {
    expect(existsSync(join(ROOT, 'dist/models/voice/trainer.js')), 'dist is missing the voice trainer: run `npm run build`').toBe(true);
    const inputs = [...fsdd.val.slice(0, 12).map((ex) => ex.input), { audio_embedding: [1, 2, 3] }];
    const file = join(tempDir(), 'inputs.json');
    writeFileSync(file, JSON.stringify(inputs));
    const out = execFileSync(process.execPath, [join(ROOT, 'test/fixtures/predict-inputs.mjs'), 'voice', exportDir, file], { encoding: 'utf8' });
    const fresh = JSON.parse(out) as Record<string, unknown>[];
    expect(fresh.slice(0, 12)).toEqual(inputs.slice(0, 12).map((input) => predictor.predict(input)));
    expect(fresh[12]).toMatchObject({ error: 'TRN_ERR_TRAINING_INVALID_REQUEST', message: expect.stringMatching(/input\.audio is missing/) });
  });

  it('trains bit-exactly alike twice, resumes from saved state to the same weights', async () => {
    const small = { train: fsdd.train.slice(0, 90), val: fsdd.val.slice(0, 30) };
    const straight = await train(small, 4);
    const a = tempDir();
    await straight.trainer.saveState(a);
    straight.trainer.dispose();

    const first = await train(small, 2, { epochs: 4 });
    const checkpoint = tempDir();
    await first.trainer.saveState(checkpoint);
    const rngState = first.rng.getState();
    first.trainer.dispose();

    const resumed = createVoiceTrainer();
    const rng = new Rng(SEED);
    await resumed.init(small.train, small.val, { epochs: 4 }, rng);
    await resumed.loadState(checkpoint);
    rng.setState(rngState);
    for (let e = 3; e <= 4; e++) await resumed.runEpoch(e, rng, () => false);
    const b = tempDir();
    await resumed.saveState(b);
    resumed.dispose();

    expect(readFileSync(join(b, 'state.bin')).equals(readFileSync(join(a, 'state.bin')))).toBe(true);
    expect(JSON.parse(readFileSync(join(b, 'state.json'), 'utf8'))).toEqual(JSON.parse(readFileSync(join(a, 'state.json'), 'utf8')));
  });
});

describe('VoiceTrainer steps per onnxruntime run', () => {
  it('repeats bit for bit when an epoch is runs of 16 and 6 steps and a shorter last batch, and stops within one run when asked', async () => {
    const small = { train: fsdd.train.slice(0, 90), val: fsdd.val.slice(0, 30) };
    // Batch 4: 22 full batches (a run of 16 steps, then 6) and a last batch of 2.
    const a = await train(small, 2, { batchSize: 4 });
    const b = await train(small, 2, { batchSize: 4 });
    const [da, db] = [tempDir(), tempDir()];
    await a.trainer.saveState(da);
    await b.trainer.saveState(db);
    a.trainer.dispose();
    b.trainer.dispose();
    expect(readFileSync(join(da, 'state.bin')).equals(readFileSync(join(db, 'state.bin')))).toBe(true);

    const trainer = createVoiceTrainer();
    const rng = new Rng(SEED);
    await trainer.init(small.train, small.val, { epochs: 1, batchSize: 4 }, rng);
    let asked = 0;
    const m = await trainer.runEpoch(1, rng, () => ++asked > 0);
    trainer.dispose();
    // One run of 16 steps of 4, then the stop is seen: not the whole epoch's 90 samples.
    expect(asked).toBe(1);
    expect(m.samples).toBe(64);
  });
});

describe('VoiceTrainer with audio_embedding input', () => {
  /** Four users, each a Gaussian cloud around its own centre in 16 dimensions. */
  function embeddings(perUser: number, rng: Rng, prefix: string): Example[] {
    const centres = Array.from({ length: 4 }, (_, u) => Array.from({ length: 16 }, (_, d) => Math.sin(7 * u + 3 * d) * 2));
    return centres.flatMap((c, u) =>
      Array.from({ length: perUser }, (_, i) => ({ id: `${prefix}-${u}-${i}`, input: { audio_embedding: c.map((x) => x + rng.normal()) }, label: `user${u}` })),
    );
  }

  it('learns from fixed-length vectors, records the length, and refuses another length naming the field', async () => {
    const rng = new Rng(5);
    const data = { train: embeddings(40, rng, 't'), val: embeddings(10, rng, 'v') };
    const { trainer } = await train(data, 8);
    const dir = tempDir();
    await trainer.exportModel(dir);
    trainer.dispose();
    const p = await loadVoicePredictor(dir);
    const correct = data.val.filter((ex) => p.predict(ex.input).user === ex.label).length;
    expect(correct / data.val.length).toBeGreaterThanOrEqual(0.9);
    expect(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).input).toEqual({ kind: 'embedding', length: 16 });
    const short = rejection(() => p.predict({ audio_embedding: [1, 2, 3] }));
    expect(short.code).toBe('TRN_ERR_TRAINING_INVALID_REQUEST');
    expect(short.message).toMatch(/input\.audio_embedding must have 16 numbers .* got 3/);
    expect(rejection(() => p.predict({ audio_embedding: [...Array(15).fill(0), 'x'] })).message).toMatch(/input\.audio_embedding\[15\] must be a finite number/);
    expect(rejection(() => p.predict({ audio: 'UklGRg==' })).message).toMatch(/input\.audio_embedding is missing/);
    // prime's default probe is a silent clip, which this model refuses: the export names an input it takes.
    const probe = JSON.parse(readFileSync(join(dir, 'probe.json'), 'utf8')) as { input: { audio_embedding: number[] } };
    expect(probe.input.audio_embedding).toHaveLength(16);
    expect(p.predict(probe.input)).toMatchObject({ user: expect.stringMatching(/^user[0-3]$/) });
  });
});

describe('VoiceTrainer bad input', () => {
  const stereo = Buffer.from(encodeWav(new Float32Array(800), 8000));
  stereo.writeUInt16LE(2, 22);

  it.each([
    ['no audio', {}, /input\.audio is missing/],
    ['text that is not base64', { audio: 'not base64 at all!' }, /input\.audio is not base64/],
    ['a stereo WAV', { audio: stereo.toString('base64') }, /input\.audio must be mono, got 2 channels/],
    ['4 kHz audio for an 8 kHz model', { audio: Buffer.from(encodeWav(new Float32Array(800), 4000)).toString('base64') }, /input\.audio sample rate 4000 Hz is too low/],
  ])('an audio model rejects %s with TRN_ERR_TRAINING_INVALID_REQUEST naming the field', (_name, input, message) => {
    const err = rejection(() => predictor.predict(input));
    expect(err.code).toBe('TRN_ERR_TRAINING_INVALID_REQUEST');
    expect(err.message).toMatch(message);
  });

  it('skips unusable training examples, counting each with its reason, and trains on the rest', async () => {
    const bad: Example[] = [
      { id: 'stereo', input: { audio: stereo.toString('base64') }, label: 'george' },
      { id: 'garbage', input: { audio: 'AAAA' }, label: 'george' },
    ];
    const trainer = createVoiceTrainer();
    await trainer.init([...fsdd.train.slice(0, 30), ...bad], [], { epochs: 1 }, new Rng(1));
    const s = trainer.summary();
    trainer.dispose();
    expect(s.train).toBe(30);
    expect(s.skipped.train.count).toBe(2);
    expect(s.skipped.train.reasons.join('\n')).toMatch(/stereo: input\.audio must be mono/);
  });

  it.each([
    [{ epochs: 0 }, /epochs must be an integer 1-10000, got 0/],
    [{ epochs: 1, batchSize: 0 }, /batchSize must be an integer 1-4096, got 0/],
    [{ epochs: 1, architecture: 'cnn' }, /architecture must be mlp or linear, got "cnn"/],
  ])('rejects options %j before decoding any audio', async (options, message) => {
    await expect(createVoiceTrainer().init(fsdd.train.slice(0, 4), [], options, new Rng(1))).rejects.toThrow(message);
  });

  it('refuses to train on one user alone (it would authenticate every voice) with TRN_ERR_TRAINING_NO_DATA', async () => {
    const george = fsdd.train.filter((ex) => ex.label === 'george').slice(0, 5);
    await expect(createVoiceTrainer().init(george, [], { epochs: 1 }, new Rng(1))).rejects.toMatchObject({
      code: 'TRN_ERR_TRAINING_NO_DATA',
      message: expect.stringMatching(/one user \("george"\).*at least 2 users/),
    });
  });

  it('fails with TRN_ERR_TRAINING_NO_DATA when no example has a label and usable input', async () => {
    const none: Example[] = [{ id: 'a', input: { text: 'hello' }, label: 'x' }, { id: 'b', input: { audio: 'AAAA' } }];
    await expect(createVoiceTrainer().init(none, [], { epochs: 1 }, new Rng(1))).rejects.toMatchObject({ code: 'TRN_ERR_TRAINING_NO_DATA' });
  });
});
