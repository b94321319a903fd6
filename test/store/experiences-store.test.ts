import fc from 'fast-check';
import { expect, it, vi } from 'vitest';
import { normalizeExperience, type NormalizedExperience } from '../../src/experiences/index.js';
import { StoreFailed } from '../../src/errors.js';
import { ExperienceStore } from '../../src/experiences/experiences-store.js';
import type { SqlDb } from '../../src/store/sql.js';
import { nlu } from '../experiences/helpers.js';
import { describeStores } from './harness.js';

function norm(raw: unknown): NormalizedExperience {
  const res = normalizeExperience(raw);
  if (!res.ok) throw new Error(res.error);
  return res.experience;
}

const many = (n: number, prefix = 'e', from = 0) =>
  Array.from({ length: n }, (_, j) => from + j).map((i) => norm({ ...nlu(`text ${i}`, `I${i % 3}`), id: `${prefix}-${i}` }));

/** Empties the buffer's tables, for a property run that needs a new database each time. */
async function emptyBuffer(db: SqlDb): Promise<void> {
  for (const t of ['experiences', 'ingested_files', 'experience_counts', 'experience_counts_basis', 'training_marks']) await db.run(`DELETE FROM ${t}`);
}

describeStores('ExperienceStore', (fresh) => {
  it('inserts a batch once: the same ids again are duplicates', async () => {
    const store = new ExperienceStore((await fresh()).db);
    expect(await store.insertBatch(many(5), { source: 'test' })).toEqual({ accepted: 5, duplicates: 0 });
    expect(await store.insertBatch(many(7), { source: 'test' })).toEqual({ accepted: 2, duplicates: 5 });
    expect(await store.size()).toBe(7);
  });

  it('records the file in the transaction of its last batch, with the counts of all batches', async () => {
    const { db } = await fresh();
    const store = new ExperienceStore(db);
    await store.insertBatch(many(3), { source: 'file:a' });
    expect(await store.isFileIngested('f1')).toBe(false);
    await store.insertBatch(many(5), { source: 'file:a', file: { sha256: 'f1', name: 'a.json', rejected: 1 }, carried: { accepted: 3, duplicates: 0 } });
    expect(await store.isFileIngested('f1')).toBe(true);
    expect(await db.get('SELECT accepted, duplicates, rejected FROM ingested_files')).toEqual({ accepted: 5, duplicates: 3, rejected: 1 });
  });

  it('counts usable, unusable, negative feedback, corrections and low quality per model type', async () => {
    const store = new ExperienceStore((await fresh()).db, { minQuality: 0.3 });
    await store.insertBatch(
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
    const { types, totals } = await store.stats();
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
    expect((await store.stats(0.05)).types.nlu.usable).toBe(6);
  });

  it('reads a deterministic dataset up to a seq, split by the stored side, and marks training', async () => {
    const store = new ExperienceStore((await fresh()).db);
    await store.insertBatch(many(200), { source: 'test' });
    const maxSeq = await store.maxSeq('nlu');
    expect(maxSeq).toBe(200);
    await store.insertBatch(many(10, 'late'), { source: 'test' });
    const ds = await store.dataset('nlu', { maxSeq });
    expect(ds.train.length + ds.validation.length).toBe(200);
    expect(ds.validation.length).toBeGreaterThan(5);
    expect(ds.train[0]).toEqual({ id: expect.any(String), input: { text: expect.any(String) }, label: expect.any(String) });
    expect(await store.dataset('nlu', { maxSeq })).toEqual(ds);

    await store.markTrained('nlu', maxSeq);
    const s = (await store.stats()).types.nlu;
    expect(s.new_since_last_training).toBe(10);
    expect(Date.parse(s.last_trained_at ?? '')).toBeGreaterThan(Date.now() - 60_000);
    await store.markTrained('nlu', 5);
    expect((await store.stats()).types.nlu.new_since_last_training).toBe(10);
    expect(await store.maxSeq('voice')).toBe(0);
  });

  it('keeps its counts at insert: they equal a full count through batches, duplicates, marks and a new threshold', async () => {
    const { db } = await fresh();
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
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 10 }), fc.double({ min: 0, max: 1, noNaN: true }), async (steps, otherThreshold) => {
        await emptyBuffer(db);
        const store = new ExperienceStore(db, { minQuality: 0.3 });
        for (const s of steps) {
          if ('batch' in s) await store.insertBatch(s.batch.map((i) => norm(toRaw(i))), { source: 'test' });
          else await store.markTrained(s.mark, await store.maxSeq(s.mark));
        }
        const kept = await store.stats();
        // Forgetting the basis makes a new store recount every row: the kept counts must equal that.
        await db.run('DELETE FROM experience_counts_basis');
        expect(await new ExperienceStore(db, { minQuality: 0.3 }).stats()).toEqual(kept);
        // A store opened with another threshold recounts against it, as a read at that threshold does.
        expect(await new ExperienceStore(db, { minQuality: otherThreshold }).stats()).toEqual(await store.stats(otherThreshold));
      }),
      { seed: 7, numRuns: 150 },
    );
  }, 60_000);

  it('two handles inserting overlapping batches at once: each row once, every batch counted, committed when answered', async () => {
    const { db, another } = await fresh();
    const a = new ExperienceStore(db);
    const b = new ExperienceStore(await another());
    const answers = await Promise.all([
      a.insertBatch(many(300, 'o', 0), { source: 'a' }),
      b.insertBatch(many(300, 'o', 150), { source: 'b' }),
      a.insertBatch(many(100, 'o', 400), { source: 'a', file: { sha256: 'fa', name: 'a.json', rejected: 0 } }),
      b.insertBatch(many(100, 'o', 420), { source: 'b' }),
    ]);
    expect(answers.reduce((n, c) => n + c.accepted, 0)).toBe(520);
    expect(answers.reduce((n, c) => n + c.duplicates, 0)).toBe(280);
    // An answered insert is committed: the other handle sees its rows and its file.
    expect(await b.isFileIngested('fa')).toBe(true);
    for (const s of [a, b]) {
      expect(await s.size()).toBe(520);
      expect((await s.stats()).types.nlu).toMatchObject({ total: 520, usable: 520, new_since_last_training: 520 });
    }
    expect(await db.all('SELECT id FROM experiences GROUP BY id HAVING COUNT(*) > 1')).toEqual([]);
    const ds = await b.dataset('nlu');
    expect(ds.train.length + ds.validation.length).toBe(520);
  });

  it('answers recentStats at once with the figures of the last read, refreshing them for the next call', async () => {
    const store = new ExperienceStore((await fresh()).db);
    expect(store.recentStats()).toBeNull();
    await store.insertBatch(many(3), { source: 'test' });
    await store.stats();
    expect(store.recentStats()?.totals.total).toBe(3);
    await store.insertBatch(many(5), { source: 'test' });
    expect(store.recentStats()?.totals.total).toBe(3);
    await vi.waitFor(() => expect(store.recentStats()?.totals.total).toBe(5));
  });

  it('keeps the figures of the stats read begun last when two reads overlap and the earlier one answers later', async () => {
    const { db } = await fresh();
    // The first read of the kept counts answers 100 ms late (a busy pool connection), with what it read then.
    let lateOnce = true;
    const slow = new Proxy(db, {
      get(target, prop, receiver) {
        if (prop !== 'all') return Reflect.get(target, prop, receiver) as unknown;
        return async (sql: string, params?: readonly unknown[]) => {
          const rows = await target.all(sql, params);
          if (lateOnce && sql.includes('experience_counts c')) {
            lateOnce = false;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          return rows;
        };
      },
    });
    const store = new ExperienceStore(slow);
    await store.insertBatch(many(3), { source: 'test' });
    const early = store.stats();
    await store.insertBatch(many(5), { source: 'test' });
    expect((await store.stats()).totals.total).toBe(5);
    expect((await early).totals.total).toBe(3);
    expect(store.recentStats()?.totals.total).toBe(5);
  });

  it('stores an id holding U+0000 or a lone surrogate once (Postgres text takes neither as it is)', async () => {
    const store = new ExperienceStore((await fresh()).db);
    const odd = [norm({ ...nlu('a', 'A'), id: 'nul\u0000id' }), norm({ ...nlu('b', 'A'), id: 'lone\ud800' })];
    expect(await store.insertBatch(odd, { source: 'file:odd\u0000.json' })).toEqual({ accepted: 2, duplicates: 0 });
    expect(await store.insertBatch(odd, { source: 'http' })).toEqual({ accepted: 0, duplicates: 2 });
    expect((await store.stats()).types.nlu).toMatchObject({ total: 2, usable: 2 });
  });

  it('wraps driver errors in StoreFailed with the original as cause', async () => {
    const { db, sqlite } = await fresh();
    const store = new ExperienceStore(db);
    if (sqlite) sqlite.close();
    else await db.close();
    let caught: unknown;
    try {
      await store.size();
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: StoreFailed.code });
    expect((caught as Error).cause).toBeInstanceOf(Error);
    expect(() => new ExperienceStore(db, { minQuality: -1 })).toThrow(/minQuality/);
  });
});
