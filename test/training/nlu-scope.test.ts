/**
 * `in_scope` end to end: a model trained on SNIPS the way a job trains (the id-hash validation split,
 * default options) calibrates its threshold at export, and its predictor answers `in_scope`.
 *
 * OUT_OF_DOMAIN is a small fixture written for this test: 40 sentences that are none of SNIPS's seven
 * intents (small talk, general questions, other assistant commands). It was written before any score was
 * measured on it and not edited after. Measured with the default model (seed 42): 25 of 40 answered
 * `in_scope: false` (0.625), among them not "hello how are you" (SearchCreativeWork 0.985: SNIPS has song
 * titles like it); the assertion asks for more than half. SNIPS test rows kept in scope: 0.954.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/models/kernels/rng.js';
import { NLU_DEFAULTS, nluTrainerModule } from '../../src/models/nlu/trainer.js';
import type { NluScopeCalibration } from '../../src/models/nlu/calibration.js';
import type { NluPredictor } from '../../src/models/nlu/predictor.js';
import { isValidation, loadSnips } from './snips.js';

const OUT_OF_DOMAIN = [
  'hello how are you',
  'good morning',
  'thanks a lot',
  'what is the meaning of life',
  'tell me a joke',
  'how old are you',
  'who made you',
  'i feel sad today',
  'what is two plus two',
  'translate hello into french',
  'how do i reset my password',
  'my internet is down',
  'order a pizza',
  'call my mom',
  'send an email to my boss',
  'set an alarm for seven am',
  'turn off the lights in the kitchen',
  'what time is it',
  'how many calories in an apple',
  'remind me to buy milk',
  "what's the capital of australia",
  'how do i cook pasta',
  'is it safe to eat raw eggs',
  "what's my bank balance",
  'transfer fifty dollars to john',
  'how far is the moon',
  'who won the game last night',
  'schedule a meeting with sarah tomorrow',
  "what's on my calendar today",
  'how do you spell necessary',
  'i need a taxi to the airport',
  'charge my phone',
  "what's the exchange rate for euros",
  'can you help me with my homework',
  'open the garage door',
  'lock the front door',
  'how tall is mount everest',
  'what does photosynthesis mean',
  'goodbye',
  'never mind',
];

const all = loadSnips('train.csv');
const data = { train: all.filter((e) => !isValidation(e.id)), validation: all.filter((e) => isValidation(e.id)) };
let dir: string;
let predictor: NluPredictor;
let calibration: NluScopeCalibration;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trinity-nlu-scope-'));
  const trainer = nluTrainerModule.createTrainer();
  const rng = new Rng(42);
  const options = { epochs: NLU_DEFAULTS.epochs };
  await trainer.init(data.train, data.validation, options, rng);
  for (let e = 1; e <= options.epochs; e++) await trainer.runEpoch(e, rng, () => false);
  await trainer.exportModel(dir);
  trainer.dispose();
  predictor = (await nluTrainerModule.loadPredictor(dir)) as NluPredictor;
  calibration = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')).calibration as NluScopeCalibration;
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const outOfScopeShare = (texts: readonly string[]) => texts.filter((text) => predictor.predict({ text }).in_scope === false).length / texts.length;

describe('nlu in_scope', () => {
  it('records the threshold, the score and both rates in model.json and calibration.json (for the manifest)', async () => {
    expect(calibration).toMatchObject({ score: 'max_softmax_probability', target_in_scope_rejection: 0.05, calibrated_on: 'validation', in_scope_trials: data.validation.length });
    expect(calibration.threshold).toBeGreaterThan(0.5);
    expect(calibration.threshold).toBeLessThan(1);
    expect(calibration.in_scope_rejection_rate).toBeLessThanOrEqual(0.05);
    expect(calibration.unknown_acceptance_rate).toBeGreaterThanOrEqual(0);
    const side = JSON.parse(await readFile(join(dir, 'calibration.json'), 'utf8'));
    expect(side).toEqual({ model_type: 'nlu', ...calibration });
  });

  it('rejects at most 5 % of the validation split it was calibrated on, through the served predictor', () => {
    const texts = data.validation.map((e) => e.input.text as string);
    expect(outOfScopeShare(texts)).toBeLessThanOrEqual(0.05);
  });

  it('keeps in_scope true for at least 95 % of SNIPS test rows', () => {
    const texts = loadSnips('test.csv').map((e) => e.input.text as string);
    expect(1 - outOfScopeShare(texts)).toBeGreaterThanOrEqual(0.95);
  });

  it('answers in_scope false for most clearly unrelated text (40 sentences written for this test)', () => {
    expect(outOfScopeShare(OUT_OF_DOMAIN)).toBeGreaterThan(0.5);
  });

  it('puts in_scope between confidence and top_k, so answers read intent, confidence, in_scope, ranking', () => {
    expect(Object.keys(predictor.predict({ text: 'play some jazz by miles davis' }))).toEqual(['intent', 'confidence', 'in_scope', 'top_k']);
  });
});
