import { describe, expect, it } from 'vitest';
import { checkTextFeatureConfig, DEFAULT_TEXT_FEATURES, hashFeatures, tokenize } from '../../src/models/text/text-features.js';

const words = (text: string) => tokenize(text).map((cps) => String.fromCodePoint(...cps));

describe('tokenize', () => {
  it('lower-cases, NFKC-normalises and keeps inner apostrophes, splitting on everything else', () => {
    expect(words("I'd like  Café-Bar’s ﬁle, 42x!")).toEqual(["i'd", 'like', 'café', "bar's", 'file', '42x']);
    expect(words('  ...  ')).toEqual([]);
  });
});

describe('hashFeatures', () => {
  it('emits unigrams, bigrams and 3-5 character n-grams with word markers, all inside the bucket space', () => {
    const ids = hashFeatures('play jazz', DEFAULT_TEXT_FEATURES);
    // 2 words + 1 bigram + char n-grams of "<play>" (4+3+2) and "<jazz>" (4+3+2)
    expect(ids).toHaveLength(2 + 1 + 9 + 9);
    for (const id of ids) expect(id >>> DEFAULT_TEXT_FEATURES.hashBits).toBe(0);
  });

  it('is deterministic and case-insensitive, and tells words from identical character n-grams', () => {
    expect(hashFeatures('Play Jazz', DEFAULT_TEXT_FEATURES)).toEqual(hashFeatures('play jazz', DEFAULT_TEXT_FEATURES));
    const the = hashFeatures('the', { ...DEFAULT_TEXT_FEATURES, charMinN: 3, charMaxN: 3 });
    // word "the" vs trigrams "<th", "the", "he>": the word's id differs from the trigram "the".
    expect(new Set(the).size).toBe(4);
  });

  it('turns character n-grams off with charMaxN 0 and bigrams off with wordNgrams 1', () => {
    expect(hashFeatures('a b c', { ...DEFAULT_TEXT_FEATURES, wordNgrams: 1, charMaxN: 0 })).toHaveLength(3);
  });
});

describe('checkTextFeatureConfig', () => {
  it('accepts the defaults and names the field and value it rejects', () => {
    expect(checkTextFeatureConfig(DEFAULT_TEXT_FEATURES)).toBeNull();
    expect(checkTextFeatureConfig({ ...DEFAULT_TEXT_FEATURES, hashBits: 40 })).toBe('hashBits must be an integer 10-24, got 40');
    expect(checkTextFeatureConfig({ ...DEFAULT_TEXT_FEATURES, charMinN: 6 })).toBe('charMinN must be an integer 1-5, got 6');
  });
});
