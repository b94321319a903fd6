import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeExperience, type NormalizedExperience } from '../../src/experiences/index.js';
import { StoreFailed } from '../../src/errors.js';
import { ExperienceStore } from '../../src/experiences/experiences-store.js';
import { memoryStore, nlu } from './helpers.js';

function norm(raw: unknown): NormalizedExperience {
  const res = normalizeExperience(raw);
  if (!res.ok) throw new Error(res.error);
  return res.experience;
}

const many = (n: number, prefix = 'e') => Array.from({ length: n }, (_, i) => norm({ ...nlu(`text ${i}`, `I${i % 3}`), id: `${prefix}-${i}` }));

describe('ExperienceStore', () => {
  it('inserts a batch once: the same ids again are duplicates', () => {
    const { store } = memoryStore();
    expect(store.insertBatch(many(5), { source: 'test' })).toEqual({ accepted: 5, duplicates: 0 });
    expect(store.insertBatch(many(7), { source: 'test' })).toEqual({ accepted: 2, duplicates: 5 });
    expect(store.size()).toBe(7);
  });

  it('records the file in the transaction of its last batch, with the counts of all batches', () => {
    const { db, store } = memoryStore();
    store.insertBatch(many(3), { source: 'file:a' });
    expect(store.isFileIngested('f1')).toBe(false);
    store.insertBatch(many(5), { source: 'file:a', file: { sha256: 'f1', name: 'a.json', rejected: 1 }, carried: { accepted: 3, duplicates: 0 } });
    expect(store.isFileIngested('f1')).toBe(true);
    expect(db.prepare('SELECT accepted, duplicates, rejected FROM ingested_files').get()).toEqual({ accepted: 5, duplicates: 3, rejected: 1 });
  });

  it('counts usable, unusable, negative feedback, corrections and low quality per model type', () => {
    const { store } = memoryStore(0.3);
    store.insertBatch(
      [
        ...many(4),
        norm({ type: 'command', input: { text: 'x' }, success: false }),
        norm({ type: 'command', input: { text: 'y' }, expected_output: { intent: 'R' }, success: false }),
        norm(nlu('low', 'L', { quality_score: 0.1 })),
        norm({ type: 'command', input: {} }),
        norm({ type: 'mystery' }),
        norm({ type: 'pair', input: { text: 'a', positive: 'b' } }),
      ],
      { source: 'test' },
    );
    const { types, totals } = store.stats();
    expect(types.nlu).toEqual({
      total: 8,
      usable: 5,
      unusable: 3,
      negative_feedback: 1,
      low_quality: 1,
      corrections: 1,
      new_since_last_training: 5,
      last_trained_at: null,
    });
    expect(types.embedding).toMatchObject({ total: 1, usable: 1 });
    expect(types.voice).toMatchObject({ total: 0, usable: 0, last_trained_at: null });
    expect(totals).toEqual({ total: 10, usable: 6, unusable: 4, negative_feedback: 1, low_quality: 1, corrections: 1, untyped: 1 });
    // The threshold applies when reading: lowering it makes the low-quality row usable without re-ingesting.
    expect(store.stats(0.05).types.nlu.usable).toBe(6);
  });

  it('reads a deterministic dataset up to a seq, split by the stored side, and marks training', () => {
    const { store } = memoryStore();
    store.insertBatch(many(200), { source: 'test' });
    const maxSeq = store.maxSeq('nlu');
    expect(maxSeq).toBe(200);
    store.insertBatch(many(10, 'late'), { source: 'test' });
    const ds = store.dataset('nlu', { maxSeq });
    expect(ds.train.length + ds.validation.length).toBe(200);
    expect(ds.validation.length).toBeGreaterThan(5);
    expect(ds.train[0]).toEqual({ id: expect.any(String), input: { text: expect.any(String) }, label: expect.any(String) });
    expect(store.dataset('nlu', { maxSeq })).toEqual(ds);

    store.markTrained('nlu', maxSeq);
    const s = store.stats().types.nlu;
    expect(s.new_since_last_training).toBe(10);
    expect(Date.parse(s.last_trained_at ?? '')).toBeGreaterThan(Date.now() - 60_000);
    store.markTrained('nlu', 5);
    expect(store.stats().types.nlu.new_since_last_training).toBe(10);
    expect(store.maxSeq('voice')).toBe(0);
  });

  it('keeps its counts at insert: they equal a full count through batches, duplicates, marks and a new threshold', () => {
    const kind = fc.constantFrom('example', 'correction', 'negative', 'unusable', 'untyped', 'pair');
    const item = fc.record({ id: fc.integer({ min: 0, max: 60 }), kind, quality: fc.option(fc.double({ min: 0, max: 1, noNaN: true })) });
    const step = fc.oneof(
      fc.record({ batch: fc.array(item, { maxLength: 12 }) }),
      fc.record({ mark: fc.constantFrom('nlu' as const, 'embedding' as const) }),
    );
    const toRaw = ({ id, kind, quality }: { id: number; kind: string; quality: number | null }): unknown => {
      const q = quality === null ? {} : { quality_score: quality };
      const base = { id: `x-${id}`, ...q };
      if (kind === 'example') return { ...base, ...nlu(`t ${id}`, 'A') };
      if (kind === 'correction') return { ...base, type: 'command', input: { text: `c ${id}` }, expected_output: { intent: 'B' }, success: false };
      if (kind === 'negative') return { ...base, type: 'command', input: { text: `n ${id}` }, success: false };
      if (kind === 'unusable') return { ...base, type: 'command', input: {} };
      if (kind === 'untyped') return { ...base, type: 'mystery' };
      return { ...base, type: 'pair', input: { text: `p ${id}`, positive: 'q' } };
    };
    fc.assert(
      fc.property(fc.array(step, { maxLength: 10 }), fc.double({ min: 0, max: 1, noNaN: true }), (steps, otherThreshold) => {
        const { db, store } = memoryStore(0.3);
        for (const s of steps) {
          if ('batch' in s) store.insertBatch(s.batch.map((i) => norm(toRaw(i))), { source: 'test' });
          else store.markTrained(s.mark, store.maxSeq(s.mark));
        }
        const kept = store.stats();
        // Forgetting the basis makes a new store recount every row: the kept counts must equal that.
        db.prepare('DELETE FROM experience_counts_basis').run();
        expect(new ExperienceStore(db, { minQuality: 0.3 }).stats()).toEqual(kept);
        // A store opened with another threshold recounts against it, as a read at that threshold does.
        expect(new ExperienceStore(db, { minQuality: otherThreshold }).stats()).toEqual(store.stats(otherThreshold));
      }),
      { seed: 7, numRuns: 150 },
    );
  });

  it('wraps driver errors in StoreFailed with the original as cause', () => {
    const { db, store } = memoryStore();
    db.close();
    let caught: unknown;
    try {
      store.size();
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: StoreFailed.code });
    expect((caught as Error).cause).toBeInstanceOf(Error);
    expect(() => new ExperienceStore(db, { minQuality: -1 })).toThrow(/minQuality/);
  });
});
