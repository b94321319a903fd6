import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TextFeatureHasher } from '../../src/models/text/text-feature-hasher.js';
import { DEFAULT_TEXT_FEATURES, hashFeatures, tokenize, type TextFeatureConfig } from '../../src/models/text/text-features.js';
import { TextFeaturizer, buildTrainingFeatures, featurizeAll, vocabFrom, type FeatureVocab, type FeatureWeighting } from '../../src/models/nlu/features.js';
import { loadSnips } from './snips.js';

const snipsTexts = [...loadSnips('train.csv'), ...loadSnips('test.csv')].map((e) => e.input.text as string);

/** Words joined by apostrophes, marks, surrogates and the other characters tokenising has to get right. */
const TRICKY = ["'", '’', "''", ' ', '-', 'a', 'Z', '9', 'é', 'e\u0301', 'ß', 'İ', 'ﬁ', 'Ｆ', '²', '½', '٣', '日本', '😀', '\ud800', '\udc00', 'Σ', 'ς', '\u00a0', '_'];
const trickyText = fc.array(fc.constantFrom(...TRICKY), { maxLength: 30 }).map((parts) => parts.join(''));
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 60 }), trickyText);

const CONFIGS: TextFeatureConfig[] = [
  DEFAULT_TEXT_FEATURES,
  { hashBits: 12, wordNgrams: 1, charMinN: 1, charMaxN: 3 },
  { hashBits: 16, wordNgrams: 3, charMinN: 2, charMaxN: 0 },
  { hashBits: 10, wordNgrams: 4, charMinN: 4, charMaxN: 8 },
];

function hashed(hasher: TextFeatureHasher, text: string): number[] {
  const n = hasher.hash(text); // first: hashing a longer text replaces `ids`
  return Array.from(hasher.ids.subarray(0, n));
}

describe('TextFeatureHasher', () => {
  it('gives the ids of hashFeatures, in order, for every SNIPS text', () => {
    const hasher = new TextFeatureHasher(DEFAULT_TEXT_FEATURES);
    for (const text of snipsTexts) expect(hashed(hasher, text)).toEqual(hashFeatures(text, DEFAULT_TEXT_FEATURES));
  });

  it('gives the ids of hashFeatures for any string and settings, one hasher reused across texts of any length', () => {
    for (const config of CONFIGS) {
      const hasher = new TextFeatureHasher(config);
      fc.assert(
        fc.property(anyText, (text) => {
          expect(hashed(hasher, text)).toEqual(hashFeatures(text, config));
        }),
        { numRuns: 1500 },
      );
      const long = 'Ünïcödé words, repeated; '.repeat(400);
      expect(hashed(hasher, long)).toEqual(hashFeatures(long, config));
    }
  });
});

describe('TextFeaturizer', () => {
  const trainTexts = loadSnips('train.csv')
    .filter((_, i) => i % 7 === 0)
    .map((e) => e.input.text as string);

  function expectTrainingFeatures(vocab: FeatureVocab): void {
    const featurizer = new TextFeaturizer(vocab);
    const texts = [...snipsTexts.filter((_, i) => i % 5 === 0), '', '!!!', 'zzqx unknownword', 'play '.repeat(500)];
    const reference = featurizeAll(texts, vocab);
    texts.forEach((text, i) => {
      const x = featurizer.featurize(text);
      const [from, to] = [reference.offsets[i], reference.offsets[i + 1]];
      expect(x.offsets[0]).toBe(0);
      expect(x.offsets[1]).toBe(to - from);
      expect(Array.from(x.rows.subarray(0, to - from))).toEqual(Array.from(reference.rows.subarray(from, to)));
      expect(Array.from(x.weights.subarray(0, to - from))).toEqual(Array.from(reference.weights.subarray(from, to)));
      // The word check's row: the smallest row among the text's known word unigrams (its first ids).
      const ids = hashFeatures(text, vocab.config).slice(0, tokenize(text).length);
      const top = Math.min(vocab.buckets.length, ...ids.map((b) => vocab.lookup[b]).filter((r) => r >= 0));
      expect(featurizer.topWordRow()).toBe(top);
      expect([featurizer.hasWordBelow(top), featurizer.hasWordBelow(top + 1)]).toEqual([false, top < vocab.buckets.length]);
    });
  }

  for (const weighting of ['mean', 'idf'] as FeatureWeighting[]) {
    it(`gives serving the rows and weights training computes (featurizeAll), weighting ${weighting}`, () => {
      expectTrainingFeatures(buildTrainingFeatures(trainTexts, DEFAULT_TEXT_FEATURES, weighting, 2).vocab);
    });
  }

  it('gives the same for a stored vocabulary whose buckets are in ascending order (rank is the row)', () => {
    const { vocab } = buildTrainingFeatures(trainTexts, DEFAULT_TEXT_FEATURES, 'idf', 2);
    const order = Array.from(vocab.buckets.keys()).sort((a, b) => vocab.buckets[a] - vocab.buckets[b]);
    const ascending = vocabFrom(vocab.config, vocab.weighting, Uint32Array.from(order, (r) => vocab.buckets[r]), Float32Array.from(order, (r) => vocab.rowWeight[r]));
    expectTrainingFeatures(ascending);
  });
});
