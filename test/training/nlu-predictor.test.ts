import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/models/kernels/rng.js';
import { hashFeatures, tokenize } from '../../src/models/text/text-features.js';
import { createNluTrainer } from '../../src/models/nlu/trainer.js';
import { featurizeAll } from '../../src/models/nlu/features.js';
import { readNluModel, type NluModel } from '../../src/models/nlu/files.js';
import type { FeatureWeighting } from '../../src/models/nlu/features.js';
import { NLU_TOP_K, loadNluPredictor, topK, type NluPrediction } from '../../src/models/nlu/predictor.js';
import { poolRows } from '../../src/models/kernels/sparse-embedding.js';
import { isValidation, loadSnips, snipsSlice } from './snips.js';
import { parseCsvObjects } from '../../src/util/csv.js';
import { DATA_DIR } from '../helpers/processes.js';

/** The ranking of the predictor before topK: every index sorted by probability, then index. */
const sortedTopK = (p: Float64Array, k: number) =>
  Array.from(p.keys())
    .sort((a, b) => p[b] - p[a] || a - b)
    .slice(0, k);

/**
 * The prediction computed the plain way, with fresh arrays everywhere: training's featurizeAll, each linear
 * row's table·W formed on the spot, a full sort. The served predictor must agree with it to the last bit.
 */
function reference(model: NluModel, text: string): NluPrediction {
  const x = featurizeAll([text], model.vocab);
  const sizes = model.layerSizes;
  let h: Float64Array;
  if (sizes.length === 2) {
    const [dim, nOut] = sizes;
    h = Float64Array.from(model.head[1]);
    for (let k = 0; k < x.offsets[1]; k++) {
      const row = new Float64Array(nOut);
      for (let i = 0; i < dim; i++) {
        const v = model.table[x.rows[k] * dim + i];
        if (v !== 0) for (let j = 0; j < nOut; j++) row[j] += v * model.head[0][i * nOut + j];
      }
      for (let j = 0; j < nOut; j++) h[j] += x.weights[k] * row[j];
    }
  } else {
    const pooled = new Float32Array(sizes[0]);
    poolRows(model.table, sizes[0], x, [0], 0, 1, pooled);
    let input: ArrayLike<number> = pooled;
    h = new Float64Array(0);
    for (let l = 0; l + 1 < sizes.length; l++) {
      h = Float64Array.from(model.head[2 * l + 1]);
      for (let i = 0; i < sizes[l]; i++) for (let j = 0; j < sizes[l + 1]; j++) if (input[i] !== 0) h[j] += input[i] * model.head[2 * l][i * sizes[l + 1] + j];
      if (l + 2 < sizes.length) h = h.map((v) => Math.max(0, v));
      input = h;
    }
  }
  let max = -Infinity;
  for (const z of h) max = Math.max(max, z);
  let sum = 0;
  for (let j = 0; j < h.length; j++) sum += h[j] = Math.exp(h[j] - max);
  for (let j = 0; j < h.length; j++) h[j] /= sum;
  const top = sortedTopK(h, NLU_TOP_K).map((j) => ({ intent: model.labels[j], score: h[j] }));
  const confidence = top[0].score;
  if (model.calibration === undefined) return { intent: top[0].intent, confidence, top_k: top };
  const supported = model.calibration.word_support === undefined || topWordRow(model, text) < model.calibration.word_support.rows;
  return { intent: top[0].intent, confidence, in_scope: supported && confidence >= model.calibration.threshold, top_k: top };
}

/** The row of the text's most frequent known word (rows are most frequent first), or the row count without one. */
function topWordRow(model: NluModel, text: string): number {
  const ids = hashFeatures(text, model.vocab.config);
  let min = model.vocab.buckets.length;
  for (let w = 0; w < tokenize(text).length; w++) if (model.vocab.lookup[ids[w]] >= 0) min = Math.min(min, model.vocab.lookup[ids[w]]);
  return min;
}

describe('topK', () => {
  it('picks what a full sort by (value descending, index ascending) puts first, ties and NaN included', () => {
    const value = fc.oneof(fc.constantFrom(0, 0.25, 0.5, 1, Number.NaN), fc.double({ min: 0, max: 1, noNaN: true }));
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 14 }), (values, k) => {
        const p = Float64Array.from(values);
        expect(topK(p, k)).toEqual(sortedTopK(p, k));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('NluPredictor', () => {
  let dir: string;
  const texts = [
    ...loadSnips('test.csv')
      .filter((_, i) => i % 3 === 0)
      .map((e) => e.input.text as string),
    "Don't STOP me now",
    'it’s a rock’n’roll thing',
    'Ｆｕｌｌｗｉｄｔｈ ＰＬＡＹ',
    '😀 play 🎵 jazz',
    'x',
    'hello how are you',
    'zzqx qqzx',
    'play '.repeat(300),
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trinity-nlu-predictor-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * The hidden-layer model pools exactly as training does, so it must agree to the last bit. The linear
   * model sums its rows per feature occurrence with float64 weights, where training rounds each row's
   * weight to float32: its probabilities may differ in the 7th significant digit, never in the ranking.
   */
  let threshold = NaN;
  const expectations: Record<string, (actual: NluPrediction, expected: NluPrediction) => void> = {
    'fasttext-hidden': (actual, expected) => expect(actual).toEqual(expected),
    fasttext: (actual, expected) => {
      expect(actual.top_k.map((t) => t.intent)).toEqual(expected.top_k.map((t) => t.intent));
      expect(actual.intent).toBe(expected.intent);
      actual.top_k.forEach((t, i) => expect(Math.abs(t.score - expected.top_k[i].score)).toBeLessThanOrEqual(1e-5 * expected.top_k[i].score));
      expect(actual.confidence).toBe(actual.top_k[0].score);
      // Float rounding could only flip a score within 1e-5 of the threshold.
      if (Math.abs(expected.confidence - threshold) > 1e-5 * expected.confidence) expect(actual.in_scope).toBe(expected.in_scope);
    },
  };

  for (const [architecture, weighting] of [
    ['fasttext', 'mean'],
    ['fasttext', 'idf'],
    ['fasttext-hidden', 'mean'],
  ]) {
    it(`predicts what the plain computation gives (${architecture}, ${weighting} weighting), one predictor reused across texts`, async () => {
      // A quarter of SNIPS: 340 validation rows, enough for the word check's quantile (199).
      const data = snipsSlice(4);
      const rng = new Rng(7);
      const trainer = createNluTrainer({ embeddingDim: 8, weighting: weighting as FeatureWeighting });
      await trainer.init(data.train, data.validation, { epochs: 1, architecture }, rng);
      await trainer.runEpoch(1, rng, () => false);
      const out = join(dir, `${architecture}-${weighting}`);
      await mkdir(out);
      await trainer.exportModel(out);
      trainer.dispose();
      const model = await readNluModel(out);
      const predictor = await loadNluPredictor(out);
      expect(model.calibration?.calibrated_on).toBe('validation');
      expect(model.calibration?.word_support?.rows).toBeGreaterThan(0);
      threshold = model.calibration!.threshold;
      for (const text of texts) expectations[architecture](predictor.predict({ text }), reference(model, text));
      expect(predictor.probabilities(texts[0])).not.toBe(predictor.probabilities(texts[0]));
    });
  }

  // The linear path sums eight columns at a time where the row stride allows, and keeps each rank's idf
  // weight in a padding column where the row has one: 3 intents (stride 4: plain loop, padded), 8 (one
  // block, no padding: weights from their own array), 12 (two blocks, padded) must all agree as above.
  for (const intents of [3, 8, 12]) {
    it(`predicts what the plain computation gives with ${intents} intents (fasttext, idf weighting)`, async () => {
      const rows = parseCsvObjects(readFileSync(join(DATA_DIR, 'nlu-hwu64', 'train.csv'), 'utf8'));
      const labels = [...new Set(rows.map((r) => r.intent))].slice(0, intents);
      const examples = rows.filter((r) => labels.includes(r.intent)).map((r, i) => ({ id: `hwu-${i}`, input: { text: r.text }, label: r.intent }));
      const rng = new Rng(3);
      const trainer = createNluTrainer({ embeddingDim: 8, weighting: 'idf' });
      await trainer.init(examples.filter((e) => !isValidation(e.id)), examples.filter((e) => isValidation(e.id)), { epochs: 1, architecture: 'fasttext' }, rng);
      await trainer.runEpoch(1, rng, () => false);
      const out = join(dir, `linear-${intents}`);
      await mkdir(out);
      await trainer.exportModel(out);
      trainer.dispose();
      const model = await readNluModel(out);
      expect(model.labels).toHaveLength(intents);
      threshold = model.calibration?.threshold ?? NaN;
      const predictor = await loadNluPredictor(out);
      for (const text of [...texts, ...examples.slice(0, 60).map((e) => e.input.text)]) expectations.fasttext(predictor.predict({ text }), reference(model, text));
    });
  }
});
