/**
 * Issue 15, portable models: every type's export carries model.onnx, and a second runtime
 * (onnxruntime-web's wasm build, in Node) serving it answers as J-Prime's predictor does on real held-out
 * rows. Inputs are made from onnx.json's description: the text feature ids by a hasher written here from
 * that description alone, so the description is checked to be enough to reproduce them.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/models/kernels/rng.js';
import { hashFeatures } from '../../src/models/text/text-features.js';
import { createEmbeddingTrainer, embeddingTrainerModule } from '../../src/models/embedding/trainer.js';
import type { EmbeddingPredictor } from '../../src/models/embedding/predictor.js';
import { createNluTrainer, nluTrainerModule, type NluTuning } from '../../src/models/nlu/trainer.js';
import { readNluModel } from '../../src/models/nlu/files.js';
import type { NluPredictor } from '../../src/models/nlu/predictor.js';
import { ONNX_DESCRIPTION_FILE, ONNX_MODEL_FILE, type OnnxDescription } from '../../src/models/kernels/onnx-export.js';
import type { Example, ModelTrainer, TrainerOptions } from '../../src/models/types.js';
import { createVisionTrainer } from '../../src/models/vision/trainer.js';
import { readVisionModel } from '../../src/models/vision/files.js';
import { inputSize, readVisionInput, toModelInput } from '../../src/models/vision/input.js';
import { loadVisionPredictor } from '../../src/models/vision/predictor.js';
import { createVoiceTrainer } from '../../src/models/voice/trainer.js';
import { readVoiceModel } from '../../src/models/voice/files.js';
import { inputVector } from '../../src/models/voice/input.js';
import { loadVoicePredictor, softmax } from '../../src/models/voice/predictor.js';
import { parseCsvObjects } from '../../src/util/csv.js';
import { digitExamples, readOptdigits } from '../fixtures/vision-optdigits.js';
import { fsddExamples, fsddRows } from '../fixtures/voice-fsdd.js';
import { DATA_DIR } from '../helpers/processes.js';
import { loadSnips, snipsSlice } from '../training/snips.js';

/** Probabilities and embeddings of the two runtimes agree to this (float32 graph against float64 JS). */
const TOLERANCE = 1e-4;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trinity-onnx-export-'));
  // The wasm build, single-threaded, its .wasm found in the package's own dist folder.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = dirname(createRequire(import.meta.url).resolve('onnxruntime-web')) + '/';
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function trainAndExport(trainer: ModelTrainer, train: Example[], validation: Example[], options: TrainerOptions, name: string): Promise<string> {
  const rng = new Rng(3);
  await trainer.init(train, validation, options, rng);
  for (let e = 1; e <= options.epochs; e++) await trainer.runEpoch(e, rng, () => false);
  const out = join(dir, name);
  await mkdir(out);
  await trainer.exportModel(out);
  trainer.dispose();
  return out;
}

interface Exported {
  session: ort.InferenceSession;
  description: OnnxDescription;
}

async function openExport(out: string): Promise<Exported> {
  const description = JSON.parse(await readFile(join(out, ONNX_DESCRIPTION_FILE), 'utf8')) as OnnxDescription;
  const session = await ort.InferenceSession.create(await readFile(join(out, ONNX_MODEL_FILE)));
  expect(session.inputNames).toEqual(description.inputs.map((t) => t.name));
  expect(session.outputNames).toEqual(description.outputs.map((t) => t.name));
  return { session, description };
}

/** The index of the largest value (the first among equals, as J-Prime ranks). */
function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < p.length; j++) if (p[j] > p[best]) best = j;
  return best;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/**
 * The text featurisation as onnx.json spells it, written from that description: NFKC + lower case,
 * the token regex, FNV-1a over code-point bytes with the offset bases it lists, murmur3's finaliser.
 */
function describedHasher(f: Record<string, unknown>): (text: string) => number[] {
  const hash = f.hash as { fnv_prime: number; offset_basis: Record<string, string>; bucket: string };
  const basis = (k: string) => Number(hash.offset_basis[k]);
  const mask = 2 ** (f.hash_bits as number) - 1;
  const [minN, maxN] = (f.char_ngrams as [number, number] | null) ?? [0, 0];
  const mix = (h: number, cp: number): number => {
    h = Math.imul(h ^ (cp & 0xff), hash.fnv_prime);
    if (cp > 0xff) h = Math.imul(h ^ ((cp >>> 8) & 0xff), hash.fnv_prime);
    if (cp > 0xffff) h = Math.imul(h ^ (cp >>> 16), hash.fnv_prime);
    return h;
  };
  const finish = (h: number): number => {
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return ((h ^ (h >>> 16)) >>> 0) & mask;
  };
  const over = (seed: number, cps: number[]) => finish(cps.reduce(mix, seed));
  return (text) => {
    const tokens = [...text.normalize('NFKC').toLowerCase().matchAll(/[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu)].map((m) => [...m[0].replaceAll('’', "'")].map((c) => c.codePointAt(0)!));
    const ids = tokens.map((t) => over(basis('word'), t));
    for (let n = 2; n <= (f.word_ngrams as number); n++) {
      for (let i = 0; i + n <= tokens.length; i++) ids.push(over(basis('word_ngram'), tokens.slice(i, i + n).flatMap((t, k) => (k > 0 ? [0x1f, ...t] : t))));
    }
    for (const t of tokens) {
      const marked = [0x3c, ...t, 0x3e];
      for (let i = 0; i < marked.length; i++) for (let n = minN; n <= maxN && i + n <= marked.length && maxN > 0; n++) ids.push(over(basis('char_ngram'), marked.slice(i, i + n)));
    }
    return ids;
  };
}

const idsTensor = (ids: readonly number[]) => new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [ids.length]);

describe('nlu model.onnx', () => {
  const cases: [string, NluTuning, TrainerOptions][] = [
    ['fasttext (linear head, mean rows)', { embeddingDim: 16 }, { epochs: 2 }],
    ['fasttext-hidden with idf rows', { embeddingDim: 16, hiddenUnits: 24, weighting: 'idf' }, { epochs: 2, architecture: 'fasttext-hidden' }],
  ];
  it.each(cases)('%s: same intent and probabilities as J-Prime on 200 SNIPS test rows', async (name, tuning, options) => {
    const data = snipsSlice(8);
    const out = await trainAndExport(createNluTrainer(tuning), data.train, data.validation, options, `nlu-${name.split(' ')[0]}`);
    const { session, description } = await openExport(out);
    const predictor = (await nluTrainerModule.loadPredictor(out)) as NluPredictor;
    const { vocab } = await readNluModel(out);
    expect(description.labels).toEqual(predictor.labels);
    expect(session.inputNames).toEqual(['feature_ids']);
    const featurise = describedHasher(description.featurisation);
    const example = description.featurisation.example as { text: string; feature_ids: number[] };
    expect(featurise(example.text)).toEqual(example.feature_ids);
    let worst = 0;
    for (const ex of loadSnips('test.csv').slice(0, 200)) {
      const text = ex.input.text as string;
      const ids = featurise(text);
      expect(ids).toEqual(hashFeatures(text, vocab.config));
      const got = (await session.run({ feature_ids: idsTensor(ids) })).probabilities.data as Float32Array;
      const want = predictor.probabilities(text);
      expect(description.labels?.[argmax(got)]).toBe(predictor.predict(ex.input).intent);
      worst = Math.max(worst, maxAbsDiff(got, want));
    }
    expect(worst).toBeLessThan(TOLERANCE);
    // An export from before model.onnx existed still serves: the predictor never reads it.
    await rm(join(out, ONNX_MODEL_FILE));
    expect((await nluTrainerModule.loadPredictor(out)).predict({ text: 'play some jazz' })).toHaveProperty('intent');
  });
});

describe('voice model.onnx', () => {
  it('same user and probabilities as J-Prime on 60 held-out FSDD clips, run as one batch', async () => {
    const rows = fsddRows();
    const out = await trainAndExport(createVoiceTrainer(), fsddExamples([5, 6, 7], rows), fsddExamples([8], rows), { epochs: 4 }, 'voice');
    const { session, description } = await openExport(out);
    const predictor = await loadVoicePredictor(out);
    const model = await readVoiceModel(out);
    expect(description.decision?.threshold).toBe(predictor.threshold);
    const heldOut = fsddExamples([10], rows);
    const dim = model.layerSizes[0];
    const x = new Float32Array(heldOut.length * dim);
    heldOut.forEach((ex, i) => x.set(inputVector(ex.input, model.featurizer), i * dim));
    const got = (await session.run({ features: new ort.Tensor('float32', x, [heldOut.length, dim]) })).probabilities.data as Float32Array;
    const users = description.labels!;
    let worst = 0;
    heldOut.forEach((ex, i) => {
      const row = got.subarray(i * users.length, (i + 1) * users.length);
      expect(users[argmax(row)]).toBe(predictor.predict(ex.input).user);
      worst = Math.max(worst, maxAbsDiff(row, softmax(predictor.logits(ex.input))));
    });
    expect(worst).toBeLessThan(TOLERANCE);
  });
});

describe('vision model.onnx', () => {
  it('same label and probabilities as J-Prime on 300 optdigits test digits (pixels and PNG), run as one batch', async () => {
    const train = digitExamples(readOptdigits('train').slice(0, 600), 'train');
    const out = await trainAndExport(createVisionTrainer(), train, [], { epochs: 2 }, 'vision');
    const { session, description } = await openExport(out);
    const predictor = await loadVisionPredictor(out);
    const { geometry } = await readVisionModel(out);
    const heldOut = digitExamples(readOptdigits('test').slice(0, 300), 'test', (i) => i % 3 === 0);
    const size = inputSize(geometry);
    const pixels = new Float32Array(heldOut.length * size);
    heldOut.forEach((ex, i) => toModelInput(readVisionInput(ex.input), geometry, pixels, i * size));
    const shape = [heldOut.length, geometry.height, geometry.width, geometry.channels];
    expect(description.inputs[0].shape).toEqual(['batch', ...shape.slice(1)]);
    const got = (await session.run({ pixels: new ort.Tensor('float32', pixels, shape) })).probabilities.data as Float32Array;
    const labels = description.labels!;
    let worst = 0;
    heldOut.forEach((ex, i) => {
      const row = got.subarray(i * labels.length, (i + 1) * labels.length);
      expect(labels[argmax(row)]).toBe(predictor.predict(ex.input).label);
      worst = Math.max(worst, maxAbsDiff(row, predictor.probabilities(ex.input)));
    });
    predictor.dispose();
    expect(worst).toBeLessThan(TOLERANCE);
  });
});

describe('embedding model.onnx', () => {
  const stsb = (file: string, step: number): Example[] =>
    parseCsvObjects(readFileSync(join(DATA_DIR, 'embedding-stsb', file), 'utf8'))
      .filter((_, i) => i % step === 0)
      .map((r, i) => ({ id: `${file}-${i}`, input: { text_a: r.sentence1, text_b: r.sentence2 }, score: Number(r.score) }));

  it.each(['ngram-bag', 'ngram-bag-projection'])('%s: same unit vectors as J-Prime on 200 STS-B dev sentences', async (architecture) => {
    const out = await trainAndExport(createEmbeddingTrainer({ dim: 48 }), stsb('pairs_train.csv', 12), stsb('pairs_dev.csv', 50), { epochs: 1, architecture }, `embedding-${architecture}`);
    const { session, description } = await openExport(out);
    const predictor = (await embeddingTrainerModule.loadPredictor(out)) as EmbeddingPredictor;
    const featurise = describedHasher(description.featurisation);
    const texts = stsb('pairs_dev.csv', 15).flatMap((ex) => [ex.input.text_a as string, ex.input.text_b as string]).slice(0, 200);
    let worst = 0;
    for (const text of texts) {
      const got = (await session.run({ feature_ids: idsTensor(featurise(text)) })).embedding.data as Float32Array;
      worst = Math.max(worst, maxAbsDiff(got, predictor.predict({ text }).embedding));
    }
    expect(worst).toBeLessThan(TOLERANCE);
  });
});
