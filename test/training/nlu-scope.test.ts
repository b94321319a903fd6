/**
 * `in_scope` end to end: a model trained on SNIPS the way a job trains (the id-hash validation split,
 * default options) calibrates both checks at export (word support and confidence), and its predictor
 * answers `in_scope`.
 *
 * Three sets of text none of SNIPS's seven intents: OUT_OF_DOMAIN, 40 sentences written for this test
 * (small talk, general questions, other assistant commands); SMALL_TALK, 30 sentences of chit-chat written
 * later for the word check, before any score was measured on them; and every distinct sentence of STS-B's
 * dev pairs (2,910 news headlines, forum posts and captions). None was edited after measuring. Measured
 * with the default model (seed 42): out of scope 0.700 of OUT_OF_DOMAIN (confidence alone: 0.625), 0.833
 * of SMALL_TALK, 0.932 of STS-B; "hello how are you" is SearchCreativeWork at 0.985, but its most common
 * word, "you", is in fewer training utterances than the 728 the check asks for. SNIPS test rows kept in
 * scope: 0.951 (34 of 700 rejected); the guarantee is ≤ 5 % in expectation, and 700 rows spread a share
 * by about ±0.8 %, so that assertion asks for 0.94. The other floors sit under the measured figures with
 * room for a different machine's rounding.
 */
import { SMALL_TALK } from '../../bench/lib/small-talk.js';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/models/kernels/rng.js';
import { NLU_DEFAULTS, nluTrainerModule } from '../../src/models/nlu/trainer.js';
import type { NluScopeCalibration } from '../../src/models/nlu/calibration.js';
import { loadNluPredictor, type NluPredictor } from '../../src/models/nlu/predictor.js';
import { parseCsvObjects } from '../../src/util/csv.js';
import { DATA_DIR } from '../helpers/processes.js';
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


/** Every distinct sentence of STS-B's dev pairs: news, forum posts and image captions, none a SNIPS request. */
const STSB = [...new Set(parseCsvObjects(readFileSync(join(DATA_DIR, 'embedding-stsb', 'pairs_dev.csv'), 'utf8')).flatMap((r) => [r.sentence1, r.sentence2]))];

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
  it('records the thresholds, the scores and the rates in model.json and calibration.json (for the manifest)', async () => {
    expect(calibration).toMatchObject({ score: 'max_softmax_probability', target_in_scope_rejection: 0.05, calibrated_on: 'validation', in_scope_trials: data.validation.length });
    expect(calibration.word_support).toMatchObject({ score: 'most_frequent_word_doc_freq', share: 0.1 });
    expect(calibration.word_support!.min_doc_freq).toBeGreaterThan(1);
    // Its quantile is over the validation split and every training utterance.
    expect(calibration.word_support!.trials).toBe(all.length);
    expect(calibration.word_support!.in_scope_rejection_rate).toBeLessThanOrEqual(0.005);
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

  it('keeps in_scope true for about 95 % of SNIPS test rows', () => {
    const texts = loadSnips('test.csv').map((e) => e.input.text as string);
    expect(1 - outOfScopeShare(texts)).toBeGreaterThanOrEqual(0.94);
  });

  it('answers in_scope false for most clearly unrelated text (40 sentences written for this test)', () => {
    expect(outOfScopeShare(OUT_OF_DOMAIN)).toBeGreaterThanOrEqual(0.6);
  });

  it('answers in_scope false for "hello how are you", which it takes for a title search with confidence above the threshold', () => {
    const answer = predictor.predict({ text: 'hello how are you' });
    expect(answer.confidence).toBeGreaterThanOrEqual(calibration.threshold);
    expect(answer.in_scope).toBe(false);
  });

  it('answers in_scope false for most small talk and most general sentences (STS-B)', () => {
    expect(outOfScopeShare(SMALL_TALK)).toBeGreaterThanOrEqual(0.7);
    expect(STSB.length).toBeGreaterThan(2500);
    expect(outOfScopeShare(STSB)).toBeGreaterThanOrEqual(0.85);
  });

  it('answers on confidence alone for a model whose calibration predates the word check', async () => {
    const old = await mkdtemp(join(tmpdir(), 'trinity-nlu-scope-old-'));
    try {
      await cp(dir, old, { recursive: true });
      const manifest = JSON.parse(await readFile(join(old, 'model.json'), 'utf8'));
      delete manifest.calibration.word_support;
      await writeFile(join(old, 'model.json'), JSON.stringify(manifest));
      const before = await loadNluPredictor(old);
      for (const text of [...SMALL_TALK, ...OUT_OF_DOMAIN]) {
        const answer = before.predict({ text });
        expect(answer.in_scope).toBe(answer.confidence >= calibration.threshold);
      }
      expect(before.predict({ text: 'hello how are you' }).in_scope).toBe(true);
    } finally {
      await rm(old, { recursive: true, force: true });
    }
  });

  it('puts in_scope between confidence and top_k, so answers read intent, confidence, in_scope, ranking', () => {
    expect(Object.keys(predictor.predict({ text: 'play some jazz by miles davis' }))).toEqual(['intent', 'confidence', 'in_scope', 'top_k']);
  });
});
