import { describe, expect, it } from 'vitest';
import { hashFeatures } from '../../src/models/text/text-features.js';
import { buildFeatureSpace, featurizeTexts, initialTable, poolBags, randomRow } from '../../src/models/embedding/features.js';
import { EMBEDDING_TEXT_FEATURES } from '../../src/models/embedding/options.js';
import { extractPairs, fillMasks, createPairBatch } from '../../src/models/embedding/pairs.js';
import { MASKED } from '../../src/models/embedding/head.js';

const TEXTS = [
  'A man is playing a guitar.',
  'A man plays the guitar on stage.',
  'A woman is slicing an onion.',
  'Someone is cutting onions in a kitchen.',
  'The stock market fell sharply on Monday.',
  'Markets dropped steeply at the start of the week.',
  'A man is playing a flute.',
  'A dog runs across the park.',
];

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** The exact sublinear TF-IDF cosine the random projection approximates (same features and IDF). */
function tfidf(text: string, docFreq: Map<number, number>, n: number): Map<number, number> {
  const counts = new Map<number, number>();
  for (const b of hashFeatures(text, EMBEDDING_TEXT_FEATURES)) counts.set(b, (counts.get(b) ?? 0) + 1);
  const v = new Map<number, number>();
  for (const [b, c] of counts) v.set(b, (1 + Math.log(c)) * (Math.log((1 + n) / (1 + (docFreq.get(b) ?? 0))) + 1));
  return v;
}

function sparseCosine(a: Map<number, number>, b: Map<number, number>): number {
  let ab = 0;
  for (const [k, w] of a) ab += w * (b.get(k) ?? 0);
  const norm = (m: Map<number, number>) => Math.sqrt([...m.values()].reduce((s, w) => s + w * w, 0));
  return ab / (norm(a) * norm(b));
}

function pooled(texts: string[], dim: number, minCount = 1) {
  const space = buildFeatureSpace(texts, EMBEDDING_TEXT_FEATURES, dim, 1234, minCount, 1 << 16);
  const bags = featurizeTexts(texts, space);
  const out = new Float32Array(texts.length * dim);
  poolBags(initialTable(space), dim, bags, Int32Array.from(texts.keys()), 0, texts.length, out);
  return { space, bags, out };
}

describe('randomRow', () => {
  it('is a fixed ±1/√dim vector per (seed, bucket), nearly orthogonal to other buckets', () => {
    const dim = 256;
    const a = new Float32Array(dim);
    const again = new Float32Array(dim);
    const b = new Float32Array(dim);
    randomRow(7, 1000, dim, a, 0);
    randomRow(7, 1000, dim, again, 0);
    randomRow(7, 1001, dim, b, 0);
    expect(again).toEqual(a);
    for (const x of a) expect(Math.abs(x)).toBe(Math.fround(1 / 16));
    expect(Math.abs(cosine(a, b))).toBeLessThan(0.25);
    randomRow(8, 1000, dim, b, 0);
    expect(b).not.toEqual(a);
  });
});

describe('featurizeTexts', () => {
  it('makes the untrained encoder a random projection of TF-IDF: cosines track the exact ones', () => {
    const dim = 512;
    const { out } = pooled(TEXTS, dim);
    const docFreq = new Map<number, number>();
    for (const t of TEXTS) for (const b of new Set(hashFeatures(t, EMBEDDING_TEXT_FEATURES))) docFreq.set(b, (docFreq.get(b) ?? 0) + 1);
    const vectors = TEXTS.map((t) => tfidf(t, docFreq, TEXTS.length));
    for (let i = 0; i < TEXTS.length; i++) {
      for (let j = i + 1; j < TEXTS.length; j++) {
        const projected = cosine(out.subarray(i * dim, (i + 1) * dim), out.subarray(j * dim, (j + 1) * dim));
        expect(Math.abs(projected - sparseCosine(vectors[i], vectors[j]))).toBeLessThan(0.12);
      }
    }
  });

  it('matches an n-gram never seen in training through its fixed random row', () => {
    const dim = 128;
    const space = buildFeatureSpace(TEXTS, EMBEDDING_TEXT_FEATURES, dim, 99, 2, 1 << 16);
    const bags = featurizeTexts(['Zyxwvut qqqjjj', 'zyxwvut qqqjjj!', 'Completely different words here'], space);
    const out = new Float32Array(3 * dim);
    poolBags(initialTable(space), dim, bags, [0, 1, 2], 0, 3, out);
    expect(bags.fixedBuckets.length).toBeGreaterThan(0);
    expect(cosine(out.subarray(0, dim), out.subarray(dim, 2 * dim))).toBeCloseTo(1, 5);
    expect(cosine(out.subarray(0, dim), out.subarray(2 * dim))).toBeLessThan(0.3);
  });

  it('pools the fixed part to the same floats whether it is cached or rebuilt', () => {
    const dim = 64;
    const { space, bags, out } = pooled(TEXTS, dim, 2);
    expect(bags.fixedDense).not.toBeNull();
    const rebuilt = new Float32Array(out.length);
    poolBags(initialTable(space), dim, { ...bags, fixedDense: null }, Int32Array.from(TEXTS.keys()), 0, TEXTS.length, rebuilt);
    expect(rebuilt).toEqual(out);
  });

  it('gives trainable rows to at most maxRows buckets, the most frequent first', () => {
    const all = buildFeatureSpace(TEXTS, EMBEDDING_TEXT_FEATURES, 8, 1, 1, 1 << 16);
    const capped = buildFeatureSpace(TEXTS, EMBEDDING_TEXT_FEATURES, 8, 1, 1, 10);
    expect(capped.buckets.length).toBe(10);
    expect(all.buckets.length).toBeGreaterThan(10);
    const idf = (s: typeof all, b: number) => s.idf[s.lookup[b]];
    const maxKeptIdf = Math.max(...Array.from(capped.buckets, (b) => idf(all, b)));
    const dropped = Array.from(all.buckets).filter((b) => capped.lookup[b] < 0);
    for (const b of dropped) expect(idf(all, b)).toBeGreaterThanOrEqual(maxKeptIdf);
  });
});

describe('extractPairs', () => {
  it('keeps positive and scored pairs, shares repeated texts and counts unusable examples', () => {
    const pairs = extractPairs(
      [
        { id: '1', input: { text: 'a cat', positive: 'a kitten' } },
        { id: '2', input: { text_a: 'a cat', text_b: 'a dog' }, score: 1.5 },
        { id: '3', input: { text_a: 'a cat', text_b: 'the cat' }, score: 4.2 },
        { id: '4', input: { text_a: 'no score', text_b: 'here' } },
        { id: '5', input: { text: '   ', positive: 'blank' } },
        { id: '6', input: { text_a: 'bad', text_b: 'score' }, score: 9 },
      ],
      4,
      EMBEDDING_TEXT_FEATURES,
    );
    expect(pairs.texts).toEqual(['a cat', 'a kitten', 'a dog', 'the cat']);
    expect(Array.from(pairs.a)).toEqual([0, 0, 0]);
    expect(Array.from(pairs.b)).toEqual([1, 2, 3]);
    expect(Array.from(pairs.positive)).toEqual([1, 0, 1]);
    expect(pairs.score[0]).toBeNaN();
    expect(pairs.skipped).toBe(3);
  });

  it('masks in-batch negatives that repeat a text of the pair and ranks only scored pairs', () => {
    const pairs = extractPairs(
      [
        { id: '1', input: { text: 'a cat', positive: 'a kitten' } },
        { id: '2', input: { text_a: 'a cat', text_b: 'a dog' }, score: 1 },
        { id: '3', input: { text_a: 'a bird', text_b: 'a fish' }, score: 3 },
      ],
      4,
      EMBEDDING_TEXT_FEATURES,
    );
    const batch = createPairBatch(3, 4);
    fillMasks(pairs, [0, 1, 2], 0, 3, batch);
    expect(Array.from(batch.negativeMask.subarray(0, 9))).toEqual([0, MASKED, 0, MASKED, 0, 0, 0, 0, 0]);
    expect(Array.from(batch.rankWeight.subarray(0, 9))).toEqual([0, 0, 0, 0, 0, 0, 0, 2, 0]);
  });
});
