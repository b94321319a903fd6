import { describe, expect, it } from 'vitest';
import { createTrainingData, examplesFromExperiences, normalizeExperience, splitExamples, type NormalizedExperience } from '../../src/experiences/index.js';
import { DATASET_PAGE_ROWS } from '../../src/experiences/experiences-store.js';
import { memoryStore, nlu } from './helpers.js';

describe('examplesFromExperiences', () => {
  it('turns inline experiences into split examples by the same rules as the buffer, with no database', () => {
    const raw = [
      { ...nlu('a', 'A'), id: 'x1' },
      'not an object',
      { input: { text: 'b' }, expected_output: { intent: 'B' } },
      { type: 'command', input: { text: 'c' }, success: false },
      nlu('d', 'D', { quality_score: 0.1 }),
      { model_type: 'voice', input: { audio_embedding: [1] }, expected_output: { user: 'u' } },
      { ...nlu('a', 'A'), id: 'x1' },
    ];
    const out = examplesFromExperiences(raw, 'nlu', 0.3);
    expect(out.rejected).toEqual([{ index: 1, error: 'an experience must be a JSON object, got "not an object"' }]);
    expect(out.examples.map((e) => e.input.text)).toEqual(['a', 'b']);
    expect(out.examples[0]).toMatchObject({ id: 'x1', label: 'A', split: expect.stringMatching(/^(train|validation)$/) });
    expect(out.unusable).toBe(3);
    expect(out.duplicates).toBe(1);
    const split = splitExamples(out.examples);
    expect(split.train.length + split.validation.length).toBe(2);
    expect('split' in (split.train[0] ?? split.validation[0])).toBe(false);
  });
});

function normalized(raw: unknown): NormalizedExperience {
  const res = normalizeExperience(raw);
  if (!res.ok) throw new Error(res.error);
  return res.experience;
}

describe('createTrainingData', () => {
  it('snapshots the buffer by max seq, page by page, and marks training', async () => {
    const { store } = memoryStore();
    const data = createTrainingData(store);
    expect(await data.bufferDataset('nlu')).toEqual({ train: [], validation: [], maxSeq: 0 });
    // More rows than two pages, and rows that arrive while it reads are not in the snapshot.
    const rows = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => normalized(nlu(`${prefix} ${i}`, `I${i % 3}`)));
    await store.insertBatch(rows(DATASET_PAGE_ROWS * 2 + 7, 'first'), { source: 'test' });
    const reading = data.bufferDataset('nlu');
    const late = store.insertBatch(rows(50, 'late'), { source: 'test' });
    const snapshot = await reading;
    await late;
    expect(snapshot.maxSeq).toBe(DATASET_PAGE_ROWS * 2 + 7);
    expect(snapshot.train.length + snapshot.validation.length).toBe(DATASET_PAGE_ROWS * 2 + 7);
    expect({ train: snapshot.train, validation: snapshot.validation }).toEqual(await store.dataset('nlu', { maxSeq: snapshot.maxSeq }));
    const inline = data.inlineDataset([nlu('a', 'A'), 3], 'nlu');
    expect(inline.train.length + inline.validation.length).toBe(1);
    expect(inline.rejected).toHaveLength(1);
  });
});
