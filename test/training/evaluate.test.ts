import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TrainingInvalidRequest } from '../../src/errors.js';
import type { ModelType } from '../../src/model-types.js';
import { evaluateCompletion, probeInputOf, readExportJson } from '../../src/training/completion-evaluation.js';
import { readDatasetSplit, writeDataset } from '../../src/training/dataset-file.js';
import { evaluatePredictor } from '../../src/training/evaluate.js';
import { classificationFigures } from '../../src/models/kernels/metrics.js';
import { PredictorCache } from '../../src/training/predictor-cache.js';
import type { Example, Predictor } from '../../src/models/types.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trinity-eval-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** An nlu-shaped predictor that answers the first word of the text, refusing empty ones as NluPredictor does. */
function firstWordPredictor(): Predictor & { disposed: number } {
  return {
    modelType: 'nlu',
    disposed: 0,
    predict(input) {
      const text = input.text;
      if (typeof text !== 'string' || text.trim() === '') throw TrainingInvalidRequest('input.text must be a non-empty string');
      if (text === 'boom') throw new Error('bug');
      return { intent: text.split(' ')[0], confidence: 1, top_k: [] };
    },
    dispose() {
      this.disposed++;
    },
  };
}

/** An embedding-shaped predictor: 2-d unit vectors from the text's first letter (a/b point one way, c another). */
function letterEmbedder(): Predictor {
  const vectors: Record<string, number[]> = { a: [1, 0], b: [0.96, 0.28], c: [0, 1], d: [0.28, 0.96] };
  return {
    modelType: 'embedding',
    predict(input) {
      const text = String(input.text ?? '');
      const v = vectors[text[0]];
      if (v === undefined) throw TrainingInvalidRequest('input.text has no letters or digits to embed');
      return { embedding: v, dim: 2 };
    },
    dispose() {},
  };
}

describe('classificationFigures', () => {
  it('gives accuracy, per-class precision/recall/f1/support and a labels × labels confusion matrix (rows true, columns predicted)', () => {
    const f = classificationFigures(['A', 'A', 'B', 'B', 'C'], ['A', 'B', 'B', 'B', 'D']);
    expect(f.n).toBe(5);
    expect(f.accuracy).toBeCloseTo(3 / 5, 12);
    expect(f.confusion.labels).toEqual(['A', 'B', 'C', 'D']);
    expect(f.confusion.matrix).toEqual([
      [1, 1, 0, 0],
      [0, 2, 0, 0],
      [0, 0, 0, 1],
      [0, 0, 0, 0],
    ]);
    expect(f.per_class.A).toEqual({ precision: 1, recall: 0.5, f1: 2 / 3, support: 2 });
    expect(f.per_class.B.precision).toBeCloseTo(2 / 3, 12);
    expect(f.per_class.B.recall).toBe(1);
    // Never predicted / never true: zero, not NaN, so the figures stay JSON.
    expect(f.per_class.C).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(f.per_class.D).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
  });

  it('keeps a label named __proto__ as an ordinary class', () => {
    const f = classificationFigures(['__proto__'], ['__proto__']);
    expect(Object.keys(f.per_class)).toEqual(['__proto__']);
    expect(f.per_class['__proto__'].support).toBe(1);
  });
});

describe('evaluatePredictor', () => {
  it('counts the usable examples and rejects the others with a reason naming the field', async () => {
    const examples: Example[] = [
      { id: '1', input: { text: 'play music' }, label: 'play' },
      { id: '2', input: { text: '   ' }, label: 'play' },
      { id: '3', input: { text: 'stop it' }, label: 'play' },
      { id: '4', input: { text: 'boom' }, label: 'play' },
      { id: '5', input: { text: 'play' } },
    ];
    const r = await evaluatePredictor(firstWordPredictor(), examples);
    expect(r).toMatchObject({ n: 2, accuracy: 0.5 });
    expect(r.rejected).toEqual([
      { index: 1, error: 'input.text must be a non-empty string' },
      { index: 3, error: 'prediction failed: bug' },
      { index: 4, error: 'expected_output.intent is missing' },
    ]);
  });

  it('scores embedding pairs by Spearman of cosine vs score and recall@1 over positives, naming the failing text field', async () => {
    const examples: Example[] = [
      { id: '1', input: { text_a: 'a1', text_b: 'b1' }, score: 4.5 },
      { id: '2', input: { text_a: 'a2', text_b: 'c1' }, score: 0.5 },
      { id: '3', input: { text_a: 'a3', text_b: 'd1' }, score: 2 },
      { id: '4', input: { text: 'c2', positive: 'd2' } },
      { id: '5', input: { text_a: 'a4', text_b: '?' }, score: 3 },
      { id: '6', input: { text: 'a5', positive: '' } },
      { id: '7', input: { text_a: 'a6', text_b: 'b2' }, score: 7 },
    ];
    const r = await evaluatePredictor(letterEmbedder(), examples);
    expect(r).toMatchObject({ n: 4, scored_n: 3, positive_n: 2 });
    expect('spearman' in r && r.spearman).toBeCloseTo(1, 12);
    expect('recall_at_1' in r && r.recall_at_1).toBe(1);
    expect(r.rejected).toEqual([
      { index: 4, error: 'input.text_b has no letters or digits to embed' },
      { index: 5, error: 'input.positive must be a non-empty string' },
      { index: 6, error: 'expected_output.score must be a number from 0 to 5' },
    ]);
  });
});

describe('PredictorCache', () => {
  it('lets a version go once no evaluation has used it for idleMs, and loads it again when asked', async () => {
    const made: ReturnType<typeof firstWordPredictor>[] = [];
    const cache = new PredictorCache({
      idleMs: 60,
      load: async () => {
        const p = firstWordPredictor();
        made.push(p);
        return p;
      },
    });
    await cache.use('nlu', 'v1.0.0', '/models/nlu/v1.0.0', async (p) => {
      // In use for longer than idleMs: a lessee is never swept.
      await new Promise((r) => setTimeout(r, 150));
      return p.predict({ text: 'x' });
    });
    expect(made[0].disposed).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(cache.has('nlu', 'v1.0.0')).toBe(false);
    expect(made[0].disposed).toBe(1);
    await cache.use('nlu', 'v1.0.0', '/models/nlu/v1.0.0', async (p) => p.predict({ text: 'x' }));
    expect(made).toHaveLength(2);
    cache.close();
  });

  it('loads a version once, evicts the least recently used beyond capacity and disposes it', async () => {
    const loaded: string[] = [];
    const made = new Map<string, ReturnType<typeof firstWordPredictor>>();
    const cache = new PredictorCache({
      capacity: 2,
      load: async (_type: ModelType, version: string) => {
        loaded.push(version);
        const p = firstWordPredictor();
        made.set(version, p);
        return p;
      },
    });
    const use = (v: string) => cache.use('nlu', v, `/models/nlu/${v}`, async (p) => p.predict({ text: 'x y' }));
    await use('v1.0.0');
    await use('v1.0.1');
    await use('v1.0.0'); // v1.0.0 is now the most recent
    await use('v1.0.2'); // evicts v1.0.1
    expect(loaded).toEqual(['v1.0.0', 'v1.0.1', 'v1.0.2']);
    expect(made.get('v1.0.1')!.disposed).toBe(1);
    expect(made.get('v1.0.0')!.disposed).toBe(0);
    expect(cache.has('nlu', 'v1.0.1')).toBe(false);
    cache.close();
    cache.close();
    expect(made.get('v1.0.0')!.disposed).toBe(1);
    expect(made.get('v1.0.2')!.disposed).toBe(1);
    await expect(use('v1.0.0')).rejects.toMatchObject({ code: 'TRN_ERR_HTTP_NOT_READY' });
  });

  it('disposes a version evicted while in use only after its user is done, and retries a failed load', async () => {
    const p1 = firstWordPredictor();
    let fail = true;
    const cache = new PredictorCache({
      capacity: 1,
      load: async (_t, version) => {
        if (version === 'v2.0.0' && fail) {
          fail = false;
          throw new Error('disk');
        }
        return version === 'v1.0.0' ? p1 : firstWordPredictor();
      },
    });
    let release!: () => void;
    const busy = cache.use('nlu', 'v1.0.0', 'd1', () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setImmediate(r));
    await expect(cache.use('nlu', 'v2.0.0', 'd2', async () => 1)).rejects.toThrow('disk');
    await cache.use('nlu', 'v3.0.0', 'd3', async () => 1); // evicts v1.0.0 while it is busy
    expect(p1.disposed).toBe(0);
    release();
    await busy;
    await new Promise((r) => setImmediate(r));
    expect(p1.disposed).toBe(1);
    expect(await cache.use('nlu', 'v2.0.0', 'd2', async () => 2)).toBe(2);
    cache.close();
  });
});

describe('evaluateCompletion', () => {
  it('evaluates candidate and stable on the same validation examples and records a refusing stable as an input-contract error', async () => {
    const dir = tempDir();
    const datasetPath = join(dir, 'dataset.jsonl');
    const ex = (id: string, text: string, label: string): Example => ({ id, input: { text }, label });
    await writeDataset(datasetPath, { train: [ex('t1', 'play a', 'play')], validation: [ex('v1', 'play b', 'play'), ex('v2', 'stop c', 'stop'), ex('v3', 'stop d', 'play')] });
    expect((await readDatasetSplit(datasetPath, 'validation')).map((e) => e.id)).toEqual(['v1', 'v2', 'v3']);

    // Ids, texts and input keys that look like the split key do not confuse the reader's unparsed skip.
    const tricky = join(dir, 'tricky.jsonl');
    const odd: Example[] = [
      { id: '","split":"validation', input: { text: '"split":"validation"', split: 'validation' }, label: 'a' },
      { id: 'x\\', input: { text: 'b' }, label: 'b' },
    ];
    await writeDataset(tricky, { train: odd, validation: [{ id: '"split":"train"', input: { split: 'train', text: 'c' }, label: 'c' }] });
    expect((await readDatasetSplit(tricky, 'validation')).map((e) => e.id)).toEqual(['"split":"train"']);
    expect((await readDatasetSplit(tricky, 'train')).map((e) => e.input)).toEqual(odd.map((e) => e.input));

    const seen: number[] = [];
    const candidate = firstWordPredictor();
    const out = await evaluateCompletion(
      { modelType: 'nlu', jobId: 'j', exportDir: dir, datasetPath },
      {
        candidate: (examples) => {
          seen.push(examples.length);
          return evaluatePredictor(candidate, examples);
        },
        stable: { version: 'v1.0.0', evaluate: (examples) => evaluatePredictor({ ...candidate, predict: () => { throw TrainingInvalidRequest('input.audio is missing'); } }, examples) },
      },
      2,
    );
    expect(seen).toEqual([2]);
    expect(out).toMatchObject({ validation_n: 2, validation_total: 3, candidate: { n: 2, accuracy: 1, rejected: 0 } });
    expect(out.stable).toEqual({ version: 'v1.0.0', error: 'input contract differs: all 2 validation examples were refused (first: input.audio is missing)' });
  });

  it('records an unreadable dataset as an error instead of throwing', async () => {
    const out = await evaluateCompletion({ modelType: 'nlu', jobId: 'j', exportDir: '/nope', datasetPath: '/nope/dataset.jsonl' }, { candidate: () => Promise.reject(new Error('unused')), stable: null });
    expect(out).toMatchObject({ validation_n: 0, candidate: null, stable: null, error: expect.stringMatching(/could not read the validation split/) });
  });
});

describe('readExportJson', () => {
  it('reads calibration.json and probe.json when present, skips absent ones and reports unreadable ones', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'calibration.json'), JSON.stringify({ threshold: 0.7, false_accept_rate: 0.02 }));
    writeFileSync(join(dir, 'probe.json'), 'not json');
    const problems: string[] = [];
    expect(await readExportJson(dir, 'calibration.json', (m) => problems.push(m))).toEqual({ threshold: 0.7, false_accept_rate: 0.02 });
    expect(await readExportJson(dir, 'probe.json', (m) => problems.push(m))).toBeUndefined();
    expect(await readExportJson(dir, 'absent.json', (m) => problems.push(m))).toBeUndefined();
    expect(problems).toEqual([expect.stringMatching(/^probe\.json is not JSON/)]);
    expect(probeInputOf({ input: { text: 'hi' } })).toEqual({ text: 'hi' });
    expect(probeInputOf({ text: 'hi' })).toEqual({ text: 'hi' });
    expect(probeInputOf([1])).toBeUndefined();
  });
});
