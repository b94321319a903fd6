import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROUTING_BUCKETS, canaryBucketLimit, fnv1a32, sessionBucket } from '../../src/serving/index.js';

/** The textbook definition over Buffer's UTF-8 bytes, to check the inline encoder against. */
function reference(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

describe('fnv1a32', () => {
  it('gives the published FNV-1a 32-bit test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes of any string, lone surrogates included, exactly as Buffer encodes them', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => fnv1a32(s) === reference(s)), { numRuns: 2000 });
    for (const s of ['é', '日本', '😀', '\ud800', 'a\udc00b', '\ud83d']) expect(fnv1a32(s)).toBe(reference(s));
  });
});

describe('sessionBucket', () => {
  it('is fnv1a32 of "<model_type>:<session_id>" mod 10000', () => {
    fc.assert(
      fc.property(fc.constantFrom('nlu', 'voice'), fc.string({ unit: 'grapheme' }), (t, s) => sessionBucket(t, s) === fnv1a32(`${t}:${s}`) % ROUTING_BUCKETS),
    );
  });

  it('spreads sessions evenly over the buckets', () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i++) counts[Math.floor(sessionBucket('nlu', `user-${i}`) / 1000)]++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });
});

describe('canaryBucketLimit', () => {
  it('matches the protocol formula bucket < percentage × 100 for every bucket', () => {
    for (const p of [0, 0.07, 0.29, 10, 12.345, 25, 33.33, 99.99, 100]) {
      const limit = canaryBucketLimit(p);
      for (const b of [limit - 1, limit, 0, ROUTING_BUCKETS - 1]) if (b >= 0) expect(b < limit).toBe(b < p * 100);
    }
    expect(canaryBucketLimit(25)).toBe(2500);
  });
});
