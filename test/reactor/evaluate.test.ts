import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config/config.js';
import { Reactor } from '../../src/reactor/reactor-service.js';
import { MAX_DROPBOX_JSON_BYTES } from '../../src/training/dropbox.js';
import { createLogger } from '../../src/util/logger.js';
import { digitPng, readOptdigits } from '../fixtures/vision-optdigits.js';
import { fsddBase64, fsddRows } from '../fixtures/voice-fsdd.js';
import { parseCsvObjects } from '../../src/util/csv.js';
import { DATA_DIR, tempHome, waitFor } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

interface ClassifierAnswer {
  model_type: string;
  version: string;
  n: number;
  accuracy: number;
  per_class: Record<string, { precision: number; recall: number; f1: number; support: number }>;
  confusion: { labels: string[]; matrix: number[][] };
  rejected: { index: number; error: string }[];
}

interface RecordedVersion {
  n: number;
  accuracy: number;
  per_class: Record<string, unknown>;
  rejected: number;
  version?: string;
  error?: string;
}

interface Manifest {
  metrics: { val_accuracy: number };
  evaluation: { validation_n: number; candidate: RecordedVersion; stable: RecordedVersion | null };
  calibration?: { threshold: number; false_accept_rate: number; false_reject_rate: number };
  onnx?: { file: string; inputs: { name: string }[]; outputs: { name: string }[]; labels: string[]; decision: { threshold: number } };
  files: { path: string; bytes: number }[];
}

/** Every `step`-th STS-B pair as a scored embedding experience. */
function stsbExperiences(file: 'pairs_train.csv' | 'pairs_dev.csv', step: number): Record<string, unknown>[] {
  const rows = parseCsvObjects(readFileSync(join(DATA_DIR, 'embedding-stsb', file), 'utf8')).filter((_, i) => i % step === 0);
  // Row ids repeat across STS-B's sources; the position is unique.
  return rows.map((r, i) => ({ id: `${file}-${i}`, type: 'pair', input: { text_a: r.sentence1, text_b: r.sentence2 }, expected_output: { score: Number(r.score) } }));
}

const SNIPS_TRAIN = readSnips('train');
const SNIPS_TEST = readSnips('test');
const INTENTS = [...new Set(SNIPS_TRAIN.map((r) => r.intent))].sort();

describe('POST /api/models/{type}/{version}/evaluate', () => {
  let reactor: Reactor;
  let config: Config;
  const inject = (opts: InjectOptions) => reactor.app.inject(opts);
  const post = (url: string, payload: unknown) => inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
  const evaluate = (type: string, version: string, payload: unknown) => post(`/api/models/${type}/${version}/evaluate`, payload);
  const manifestOf = async (type: string, version: string) => (await inject({ method: 'GET', url: `/api/models/${type}/${version}` })).json<{ manifest: Manifest }>().manifest;

  /** Starts a job with inline experiences and waits for it to end; returns the version it made. */
  async function train(jobId: string, modelType: string, experiences: unknown[], epochs: number): Promise<string> {
    const start = await post('/api/training/start', { job_id: jobId, model_type: modelType, experiences, epochs });
    expect(start.statusCode, start.body).toBe(200);
    const done = await waitFor(async () => {
      const s = (await inject({ method: 'GET', url: `/api/training/status/${jobId}` })).json<{ status: string; model_version: string; error: string | null }>();
      return s.status === 'completed' || s.status === 'failed' ? s : null;
    }, 30_000, `${jobId} end`);
    expect(done.error).toBeNull();
    return done.model_version;
  }

  beforeAll(async () => {
    config = parseConfig({ JARVIS_HOME: tempHome(), REACTOR_CORE_PORT: '0', JARVIS_PRIME_ENABLED: 'false' });
    reactor = new Reactor({ config, logger: createLogger({ service: 'reactor', level: 'silent' }) });
    await reactor.start();
    // The first version of a type becomes stable on registration, so the second job has one to compare with.
    const first = snipsExperiences(SNIPS_TRAIN.filter((_, i) => i % 10 === 0), 'a');
    expect(await train('eval-nlu-1', 'nlu', first, 4)).toBe('v1.0.0');
  }, 40_000);
  afterAll(async () => {
    await reactor?.close();
  });

  it('evaluates an nlu version on a SNIPS slice: accuracy, per_class for every intent and a labels × labels confusion matrix', async () => {
    const test = snipsExperiences(SNIPS_TEST.filter((_, i) => i % 5 === 0), 't');
    const res = await evaluate('nlu', 'v1.0.0', { experiences: test });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<ClassifierAnswer>();
    expect(body).toMatchObject({ model_type: 'nlu', version: 'v1.0.0', n: test.length, rejected: [] });
    expect(body.accuracy).toBeGreaterThan(0.8); // 7 intents: chance is ~0.14
    expect(body.confusion.labels).toEqual(INTENTS);
    expect(body.confusion.matrix).toHaveLength(INTENTS.length);
    for (const row of body.confusion.matrix) expect(row).toHaveLength(INTENTS.length);
    expect(Object.keys(body.per_class).sort()).toEqual(INTENTS);
    INTENTS.forEach((intent, k) => {
      const c = body.per_class[intent];
      expect(c.support).toBe(body.confusion.matrix[k].reduce((a, b) => a + b, 0));
      for (const x of [c.precision, c.recall, c.f1]) expect(x).toBeGreaterThanOrEqual(0);
    });
    const diagonal = INTENTS.reduce((s, _, k) => s + body.confusion.matrix[k][k], 0);
    expect(diagonal / body.n).toBeCloseTo(body.accuracy, 12);
  });

  it('rejects unusable items with a reason naming the field while the rest still count', async () => {
    const good = snipsExperiences(SNIPS_TEST.slice(0, 10), 'g');
    const bad = [
      { type: 'command', input: { text: '   ' }, expected_output: { intent: 'PlayMusic' } },
      { type: 'command', input: { text: 'play some jazz' } },
      'not an experience',
      { type: 'command', input: { text: 42 }, expected_output: { intent: 'PlayMusic' } },
      { model_type: 'voice', input: { audio_embedding: [1, 2] }, expected_output: { user: 'u' } },
      { ...good[0] },
    ];
    const res = await evaluate('nlu', 'v1.0.0', { experiences: [...good, ...bad] });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<ClassifierAnswer>();
    expect(body.n).toBe(10);
    expect(body.rejected.map((r) => r.index)).toEqual([10, 11, 12, 13, 14, 15]);
    const [blank, unlabelled, notObject, number, otherType, duplicate] = body.rejected.map((r) => r.error);
    expect(blank).toMatch(/input\.text must be a non-empty string/);
    expect(unlabelled).toMatch(/expected_output\.intent/);
    expect(notObject).toMatch(/must be a JSON object/);
    expect(number).toMatch(/input\.text must be a non-empty string, got 42/);
    expect(otherType).toMatch(/model_type voice is not nlu/);
    expect(duplicate).toMatch(/duplicate of item 0/);
  });

  it('evaluates a {file} from the drop-box and refuses one outside it', async () => {
    const rows = snipsExperiences(SNIPS_TEST.slice(100, 130), 'f');
    writeFileSync(join(config.paths.dropbox, 'eval.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
    const ok = await evaluate('nlu', 'v1.0.0', { file: 'eval.jsonl' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json<ClassifierAnswer>().n).toBe(30);
    // A host file and a missing one get the same answer, which names the folder relative to the home only.
    for (const file of ['/etc/passwd', '/etc/nonexistent']) {
      const outside = await evaluate('nlu', 'v1.0.0', { file });
      expect(outside.statusCode).toBe(400);
      expect(outside.json()).toMatchObject({
        code: 'TRN_ERR_MODEL_EVALUATION_FILE',
        error: `file "${file}" is not a file inside TRAINING_DROPBOX_DIR ($JARVIS_HOME/bridge/training_staging); put it there and give its path relative to that folder`,
      });
    }
  });

  it('answers a drop-box file holding more JSON than the limit with a 413, unread', async () => {
    const path = join(config.paths.dropbox, 'huge.json');
    writeFileSync(path, '');
    truncateSync(path, MAX_DROPBOX_JSON_BYTES + 1); // sparse: no disk used
    const res = await evaluate('nlu', 'v1.0.0', { file: 'huge.json' });
    expect(res.statusCode, res.body).toBe(413);
    expect(res.json()).toMatchObject({ code: 'TRN_ERR_DROPBOX_FILE_TOO_LARGE', limit_bytes: MAX_DROPBOX_JSON_BYTES, error: expect.stringMatching(/^file "huge\.json" holds more than/) });
  });

  it.each([
    ['an unknown type', 'speech', 'v1.0.0', { experiences: [] }, 400, 'TRN_ERR_MODEL_UNKNOWN_TYPE'],
    ['a version that is no version', 'nlu', 'latest', { experiences: [] }, 400, 'TRN_ERR_MODEL_INVALID_VERSION'],
    ['an unknown version', 'nlu', 'v9.9.9', { experiences: [] }, 404, 'TRN_ERR_MODEL_NOT_FOUND'],
    ['a body with neither experiences nor file', 'nlu', 'v1.0.0', {}, 400, 'TRN_ERR_MODEL_EVALUATION_INVALID_REQUEST'],
    ['experiences that are not a list', 'nlu', 'v1.0.0', { experiences: 'x' }, 400, 'TRN_ERR_MODEL_EVALUATION_INVALID_REQUEST'],
    ['both experiences and file', 'nlu', 'v1.0.0', { experiences: [], file: 'eval.jsonl' }, 400, 'TRN_ERR_MODEL_EVALUATION_INVALID_REQUEST'],
    ['an empty list', 'nlu', 'v1.0.0', { experiences: [] }, 400, 'TRN_ERR_MODEL_EVALUATION_NO_DATA'],
  ])('answers %s with a 4xx and its code', async (_name, type, version, payload, status, code) => {
    const res = await evaluate(type, version, payload);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ code });
  });

  it('answers 400 naming why when no item is usable', async () => {
    const res = await evaluate('nlu', 'v1.0.0', { experiences: [{ type: 'command', input: { text: '' }, expected_output: { intent: 'X' } }] });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'TRN_ERR_MODEL_EVALUATION_NO_DATA', error: expect.stringMatching(/nothing to evaluate nlu v1\.0\.0 on: 1 of 1 rejected: \[0\] input\.text must be a non-empty string/) });
  });

  it('never answers an evaluate body with a 500 (property-based)', async () => {
    const experience = fc.record(
      {
        type: fc.constantFrom('command', 'voice_auth', 'vision', 'pair', 'other'),
        input: fc.oneof(fc.record({ text: fc.string() }), fc.record({ audio: fc.string() }), fc.record({ pixels: fc.array(fc.integer()), width: fc.jsonValue() }), fc.jsonValue()),
        expected_output: fc.oneof(fc.record({ intent: fc.string() }), fc.jsonValue()),
        success: fc.boolean(),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(fc.jsonValue(), fc.record({ experiences: fc.oneof(fc.array(experience, { maxLength: 5 }), fc.jsonValue()), file: fc.oneof(fc.string(), fc.jsonValue()) }, { requiredKeys: [] }));
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('nlu', 'vision', 'x'), async (payload, type) => {
        const res = await evaluate(type, 'v1.0.0', payload);
        expect(res.statusCode).not.toBe(500);
        if (res.statusCode >= 400) expect(res.json()).toHaveProperty('code');
      }),
      { numRuns: 200 },
    );
  });

  it('records the new version and the stable one, on the same validation split, in the second version manifest', async () => {
    const first = await manifestOf('nlu', 'v1.0.0');
    expect(first.evaluation.stable).toBeNull();
    expect(first.evaluation.candidate.n).toBe(first.evaluation.validation_n);
    // The same split, the same model, the same forward pass as the trainer's own validation figure.
    expect(first.evaluation.candidate.accuracy).toBeCloseTo(first.metrics.val_accuracy, 5);

    const second = snipsExperiences(SNIPS_TRAIN.filter((_, i) => i % 10 === 1), 'b');
    expect(await train('eval-nlu-2', 'nlu', second, 2)).toBe('v1.0.1');
    const { evaluation } = await manifestOf('nlu', 'v1.0.1');
    expect(evaluation.validation_n).toBeGreaterThan(50);
    expect(evaluation.candidate).toMatchObject({ n: evaluation.validation_n, rejected: 0 });
    expect(evaluation.stable).toMatchObject({ version: 'v1.0.0', n: evaluation.validation_n, rejected: 0 });
    expect(evaluation.stable?.accuracy).toBeGreaterThan(0.8);
    expect(Object.keys(evaluation.stable?.per_class ?? {}).sort()).toEqual(INTENTS);
  }, 30_000);

  it('copies a voice export calibration into the manifest and rejects voice inputs the model cannot read', async () => {
    const rows = fsddRows().filter((r) => r.index === 5 || r.index === 6);
    const experiences = rows.map((r) => ({ id: r.file, type: 'voice_auth', input: { audio: fsddBase64(r.file) }, expected_output: { user: r.speaker }, success: true }));
    const version = await train('eval-voice-1', 'voice', experiences, 2);
    const manifest = await manifestOf('voice', version);
    expect(manifest.calibration).toMatchObject({ threshold: expect.any(Number), false_accept_rate: expect.any(Number), false_reject_rate: expect.any(Number) });
    expect(manifest.evaluation.candidate).toMatchObject({ n: manifest.evaluation.validation_n });
    // The portable model: listed and digested like every artifact, described in the manifest.
    expect(manifest.files.find((f) => f.path === 'model.onnx')?.bytes).toBeGreaterThan(0);
    expect(manifest.onnx).toMatchObject({ file: 'model.onnx', inputs: [{ name: 'features' }], outputs: [{ name: 'logits' }, { name: 'probabilities' }] });
    expect(manifest.onnx?.decision.threshold).toBe(manifest.calibration?.threshold);
    expect(manifest.onnx?.labels).toEqual([...new Set(rows.map((r) => r.speaker))].sort());

    const held = fsddRows().filter((r) => r.index === 14).slice(0, 6);
    const good = held.map((r) => ({ type: 'voice_auth', input: { audio: fsddBase64(r.file) }, expected_output: { user: r.speaker } }));
    const res = await evaluate('voice', version, {
      experiences: [
        ...good,
        { type: 'voice_auth', input: { audio: 'bm90IGEgd2F2' }, expected_output: { user: 'jackson' } },
        { type: 'voice_auth', input: { audio_embedding: [0.1, 0.2, 0.3] }, expected_output: { user: 'jackson' } },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<ClassifierAnswer>();
    expect(body.n).toBe(6);
    expect(body.rejected.map((r) => r.index)).toEqual([6, 7]);
    expect(body.rejected[0].error).toMatch(/^input\.audio/);
    expect(body.rejected[1].error).toMatch(/input\.audio/);
  }, 30_000);

  it('evaluates an embedding version by Spearman and recall@1, naming the text field a pair fails on', async () => {
    const version = await train('eval-emb-1', 'embedding', stsbExperiences('pairs_train.csv', 4), 2);
    const dev = stsbExperiences('pairs_dev.csv', 10);
    const res = await evaluate('embedding', version, {
      experiences: [...dev, { type: 'pair', input: { text_a: 'a dog runs', text_b: '?!' }, expected_output: { score: 1 } }, { type: 'pair', input: { text: 'a cat', positive: '' } }],
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ n: number; spearman: number; recall_at_1: number; scored_n: number; positive_n: number; rejected: { index: number; error: string }[] }>();
    expect(body).toMatchObject({ n: dev.length, scored_n: dev.length });
    expect(body.spearman).toBeGreaterThan(0.3);
    expect(body.positive_n).toBeGreaterThan(0);
    expect(body.recall_at_1).toBeGreaterThan(0);
    expect(body.rejected).toEqual([
      { index: dev.length, error: 'input.text_b has no letters or digits to embed' },
      { index: dev.length + 1, error: expect.stringMatching(/^input\.positive must be a non-empty string/) },
    ]);
    const { evaluation } = await manifestOf('embedding', version);
    expect(evaluation.candidate).toMatchObject({ n: evaluation.validation_n, spearman: expect.any(Number) });
  }, 30_000);

  it('evaluates a vision version on pixels and PNGs alike, rejecting an undecodable image and a wrong pixel count by field', async () => {
    const digits = readOptdigits('train').filter((_, i) => i % 4 === 0);
    const experiences = digits.map((r, i) => ({ id: `d${i}`, type: 'vision', input: { pixels: r.pixels, width: 8, height: 8 }, expected_output: { label: r.label } }));
    const version = await train('eval-vision-1', 'vision', experiences, 3);
    const test = readOptdigits('test')
      .slice(0, 60)
      .map((r, i) => ({ type: 'vision', input: i % 2 ? { image: digitPng(r.pixels) } : { pixels: r.pixels, width: 8, height: 8 }, expected_output: { label: r.label } }));
    const res = await evaluate('vision', version, {
      experiences: [
        ...test,
        { type: 'vision', input: { image: 'aGVsbG8=' }, expected_output: { label: '1' } },
        { type: 'vision', input: { pixels: [1, 2, 3], width: 8, height: 8 }, expected_output: { label: '1' } },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<ClassifierAnswer>();
    expect(body.n).toBe(60);
    expect(body.accuracy).toBeGreaterThan(0.5); // 10 digits: chance is 0.1
    expect(body.rejected.map((r) => r.index)).toEqual([60, 61]);
    expect(body.rejected[0].error).toMatch(/^input\.image/);
    expect(body.rejected[1].error).toMatch(/^input\.pixels/);
  }, 30_000);
});
