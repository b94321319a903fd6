import fc from 'fast-check';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerJson } from '../../src/http/answer-json.js';
import { loadNluPredictor } from '../../src/models/nlu/predictor.js';
import { loadSnips } from '../training/snips.js';
import { createNluVersions, type NluVersions } from '../serving/helpers.js';

const ID = '7caa2d84-4db5-4eb7-960a-2eb92acd86d9';
const expected = (version: string, prediction: Record<string, unknown>) => JSON.stringify({ prediction_id: ID, model_version: version, ...prediction });

/** Numbers and strings a writer must get right: escapes, unicode, non-finite and negative zero. */
const label = fc.oneof(fc.string(), fc.constantFrom('PlayMusic', 'say "hi"\n', 'über \u2028 😀', '\ud800', ''));
const score = fc.oneof(fc.double(), fc.constantFrom(0, -0, NaN, Infinity, 1e-300, 3.8581542681291703e-7));

describe('answerJson', () => {
  let nlu: NluVersions;
  beforeAll(async () => {
    nlu = await createNluVersions(1);
  });
  afterAll(() => nlu?.cleanup());

  it('writes what JSON.stringify writes for real nlu predictions', async () => {
    const [version] = nlu.versions;
    const predictor = await loadNluPredictor(join(nlu.modelsDir, 'nlu', version));
    for (const { input } of loadSnips('test.csv').slice(0, 200)) {
      const p = predictor.predict(input);
      expect(answerJson('nlu', ID, version, p)).toBe(expected(version, p));
    }
  });

  it('writes what JSON.stringify writes for any nlu or voice prediction and any other type', () => {
    const ranked = (key: string) => fc.array(fc.record({ [key]: label, score }), { maxLength: 6 });
    fc.assert(
      fc.property(fc.string(), label, score, fc.option(fc.boolean(), { nil: undefined }), ranked('intent'), (version, intent, confidence, in_scope, top_k) => {
        // Predictors write in_scope only when their model is calibrated; a prediction never holds it as undefined.
        const p = in_scope === undefined ? { intent, confidence, top_k } : { intent, confidence, in_scope, top_k };
        expect(answerJson('nlu', ID, version, p)).toBe(expected(version, p));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string(), label, score, fc.boolean(), score, ranked('user'), (version, user, confidence, authenticated, threshold, top_k) => {
        const p = { user, confidence, authenticated, threshold, top_k };
        expect(answerJson('voice', ID, version, p)).toBe(expected(version, p));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.constantFrom('vision', 'embedding', 'unknown'), fc.dictionary(fc.string(), fc.jsonValue()), (type, p) => {
        expect(answerJson(type, ID, 'v1.0.0', p)).toBe(expected('v1.0.0', p));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps writing the same once its cache of quoted strings has started over', () => {
    for (let i = 0; i < 10_000; i++) {
      const p = { intent: `intent-${i}`, confidence: i / 10_000, top_k: [{ intent: `intent-${i}`, score: i / 10_000 }] };
      expect(answerJson('nlu', ID, 'v1.0.0', p)).toBe(expected('v1.0.0', p));
    }
  });
});
