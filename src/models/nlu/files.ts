/**
 * The nlu model's two on-disk shapes: the servable export (`model.json` + `weights.bin`, read by the
 * predictor in any process) and the training checkpoint (`state.json` + `state.bin`, read back only by a
 * trainer initialised on the same data). Both are a JSON manifest plus raw little-endian arrays.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/fs.js';
import { checkTextFeatureConfig, type TextFeatureConfig } from '../text/text-features.js';
import { needArray, packArrays, unpackArrays, type ArrayEntry, type NamedArray } from '../kernels/array-file.js';
import { FEATURE_WEIGHTINGS, vocabFrom, type FeatureVocab, type FeatureWeighting } from './features.js';
import { headShapes } from '../kernels/dense-head-weights.js';
import { NLU_SCOPE_SCORE, NLU_WORD_SUPPORT_SCORE, type NluScopeCalibration } from './calibration.js';
import { EXPORT_CALIBRATION_FILE } from '../types.js';
import { buildNluOnnx } from './onnx.js';
import { writeOnnxExport } from '../kernels/onnx-export.js';

export const NLU_MODEL_FORMAT = 'trinity-nlu-fasttext';
/** Bump when the files change shape or meaning; readers refuse versions they do not know. */
export const NLU_MODEL_VERSION = 1;
export const NLU_STATE_FORMAT = 'trinity-nlu-state';
export const NLU_STATE_VERSION = 1;

/** What a predictor needs: the featuriser, the table and the dense layers. */
export interface NluModel {
  architecture: string;
  labels: string[];
  vocab: FeatureVocab;
  /** [rows, dim], row-major. */
  table: Float32Array;
  /** `[in, hidden..., classes]`. */
  layerSizes: number[];
  /** W0, b0, W1, b1, ... (W row-major [in, out]). */
  head: Float32Array[];
  /** The `in_scope` checks; absent in models exported before they existed (their answers carry no `in_scope`). */
  calibration?: NluScopeCalibration;
}

interface NluModelManifest {
  format: string;
  version: number;
  model_type: 'nlu';
  architecture: string;
  labels: string[];
  features: TextFeatureConfig;
  weighting: FeatureWeighting;
  layer_sizes: number[];
  activation: 'relu';
  calibration?: NluScopeCalibration;
  weights_file: string;
  arrays: ArrayEntry[];
}

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

/** Names and sizes of the head arrays: W0, b0, W1, b1, ... with an optional prefix for optimizer moments. */
function headLayout(sizes: readonly number[], prefix: string): { name: string; shape: number[]; size: number }[] {
  return headShapes(sizes).map((shape, i) => ({ name: `${prefix}${i % 2 === 0 ? 'W' : 'b'}${i >> 1}`, shape, size: shape.reduce((p, q) => p * q, 1) }));
}

function headArrays(sizes: readonly number[], head: readonly Float32Array[], prefix: string): NamedArray[] {
  return headLayout(sizes, prefix).map((a, i) => ({ name: a.name, data: head[i], shape: a.shape }));
}

export async function writeNluModel(dir: string, model: NluModel): Promise<void> {
  const dim = model.layerSizes[0];
  const { bytes, entries } = packArrays([
    { name: 'buckets', data: model.vocab.buckets, shape: [model.vocab.buckets.length] },
    { name: 'row_weight', data: model.vocab.rowWeight, shape: [model.vocab.rowWeight.length] },
    { name: 'embedding', data: model.table, shape: [model.vocab.buckets.length, dim] },
    ...headArrays(model.layerSizes, model.head, ''),
  ]);
  const manifest: NluModelManifest = {
    format: NLU_MODEL_FORMAT,
    version: NLU_MODEL_VERSION,
    model_type: 'nlu',
    architecture: model.architecture,
    labels: model.labels,
    features: model.vocab.config,
    weighting: model.vocab.weighting,
    layer_sizes: model.layerSizes,
    activation: 'relu',
    calibration: model.calibration,
    weights_file: WEIGHTS_BIN,
    arrays: entries,
  };
  // The files' writes and syncs overlap each other and the ONNX encoding; model.json, which names the
  // others, still comes last.
  const weights = writeFileAtomic(join(dir, WEIGHTS_BIN), bytes);
  weights.catch(() => undefined); // awaited below; this only keeps a failure from counting as unhandled meanwhile
  const onnx = buildNluOnnx(model);
  await Promise.all([
    weights,
    writeOnnxExport(dir, onnx.bytes, onnx.description),
    model.calibration ? writeFileAtomic(join(dir, EXPORT_CALIBRATION_FILE), JSON.stringify({ model_type: 'nlu', ...model.calibration }, null, 2) + '\n') : undefined,
  ]);
  await writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(manifest, null, 2) + '\n');
}


export async function readNluModel(dir: string): Promise<NluModel> {
  const m = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8')) as NluModelManifest;
  if (m.format !== NLU_MODEL_FORMAT || m.version !== NLU_MODEL_VERSION) {
    throw new RangeError(`${MODEL_JSON} is ${String(m.format)} v${String(m.version)}, expected ${NLU_MODEL_FORMAT} v${NLU_MODEL_VERSION}`);
  }
  const problem = checkTextFeatureConfig(m.features);
  if (problem) throw new RangeError(`${MODEL_JSON} features: ${problem}`);
  if (!FEATURE_WEIGHTINGS.includes(m.weighting)) throw new RangeError(`${MODEL_JSON} weighting ${String(m.weighting)} is unknown`);
  const sizes = m.layer_sizes;
  if (!Array.isArray(sizes) || sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s > 0)) {
    throw new RangeError(`${MODEL_JSON} layer_sizes must be two or more positive integers`);
  }
  if (!Array.isArray(m.labels) || m.labels.length !== sizes[sizes.length - 1]) {
    throw new RangeError(`${MODEL_JSON} has ${String(m.labels?.length)} labels for ${sizes[sizes.length - 1]} outputs`);
  }
  // The file name is fixed: a manifest must never steer reads to another path.
  if (m.weights_file !== WEIGHTS_BIN) throw new RangeError(`${MODEL_JSON} weights_file must be ${WEIGHTS_BIN}, got ${String(m.weights_file)}`);
  const c = m.calibration;
  if (c !== undefined && (c.score !== NLU_SCOPE_SCORE || typeof c.threshold !== 'number' || !Number.isFinite(c.threshold))) {
    throw new RangeError(`${MODEL_JSON} calibration must have score ${NLU_SCOPE_SCORE} and a finite threshold`);
  }
  const arrays = unpackArrays(new Uint8Array(await readFile(join(dir, WEIGHTS_BIN))), m.arrays);
  const rows = arrays.get('buckets')?.length ?? 0;
  const buckets = needArray(arrays, 'buckets', rows, 'uint32') as Uint32Array;
  if (buckets.some((b) => b >>> m.features.hashBits !== 0)) throw new RangeError(`${WEIGHTS_BIN} has buckets outside 2^${m.features.hashBits}`);
  const rowWeight = needArray(arrays, 'row_weight', rows, 'float32') as Float32Array;
  const table = needArray(arrays, 'embedding', rows * sizes[0], 'float32') as Float32Array;
  const head = headLayout(sizes, '').map((a) => needArray(arrays, a.name, a.size, 'float32') as Float32Array);
  const w = c?.word_support;
  if (w !== undefined && (w.score !== NLU_WORD_SUPPORT_SCORE || !Number.isInteger(w.rows) || w.rows < 0 || w.rows > rows)) {
    throw new RangeError(`${MODEL_JSON} calibration.word_support must have score ${NLU_WORD_SUPPORT_SCORE} and rows an integer 0-${rows}`);
  }
  return { architecture: m.architecture, labels: m.labels, vocab: vocabFrom(m.features, m.weighting, buckets, rowWeight), table, layerSizes: sizes, head, calibration: c };
}

/** Everything a trainer needs to continue exactly where it stopped (the caller keeps rng and epoch). */
export interface NluTrainingState {
  /** Adam steps taken so far. */
  step: number;
  /** Identifies the model the state belongs to; checked on load. */
  fingerprint: string;
  /** The embedding table [rows, dim] and its optimizer moments, flat (their shapes depend on the optimizer). */
  table: Float32Array;
  tableM: Float32Array;
  tableV: Float32Array;
  layerSizes: number[];
  /** Head params, then their first moments, then second moments (see OrtDenseHead.getState). */
  head: Float32Array[];
}

interface NluStateManifest {
  format: string;
  version: number;
  step: number;
  fingerprint: string;
  layer_sizes: number[];
  arrays: ArrayEntry[];
}

const STATE_JSON = 'state.json';
const STATE_BIN = 'state.bin';

export async function writeNluState(dir: string, s: NluTrainingState): Promise<void> {
  const headCount = headShapes(s.layerSizes).length;
  const { bytes, entries } = packArrays([
    { name: 'embedding', data: s.table, shape: [s.table.length] },
    { name: 'embedding_m', data: s.tableM, shape: [s.tableM.length] },
    { name: 'embedding_v', data: s.tableV, shape: [s.tableV.length] },
    ...headArrays(s.layerSizes, s.head.slice(0, headCount), ''),
    ...headArrays(s.layerSizes, s.head.slice(headCount, 2 * headCount), 'm_'),
    ...headArrays(s.layerSizes, s.head.slice(2 * headCount), 'v_'),
  ]);
  const manifest: NluStateManifest = { format: NLU_STATE_FORMAT, version: NLU_STATE_VERSION, step: s.step, fingerprint: s.fingerprint, layer_sizes: s.layerSizes, arrays: entries };
  await writeFileAtomic(join(dir, STATE_BIN), bytes);
  await writeFileAtomic(join(dir, STATE_JSON), JSON.stringify(manifest) + '\n');
}

/** Element counts of the table and its optimizer moments, as the trainer holds them. */
export interface TableSizes {
  table: number;
  m: number;
  v: number;
}

/** Reads a state written for the model `fingerprint` with tables of `sizes`; throws if it belongs to another. */
export async function readNluState(dir: string, fingerprint: string, sizes: TableSizes, layerSizes: readonly number[]): Promise<NluTrainingState> {
  const m = JSON.parse(await readFile(join(dir, STATE_JSON), 'utf8')) as NluStateManifest;
  if (m.format !== NLU_STATE_FORMAT || m.version !== NLU_STATE_VERSION) {
    throw new RangeError(`${STATE_JSON} is ${String(m.format)} v${String(m.version)}, expected ${NLU_STATE_FORMAT} v${NLU_STATE_VERSION}`);
  }
  if (m.fingerprint !== fingerprint) throw new RangeError(`${STATE_JSON} belongs to another model or data set (fingerprint ${String(m.fingerprint)}, expected ${fingerprint})`);
  if (!Number.isInteger(m.step) || m.step < 0) throw new RangeError(`${STATE_JSON} step must be a non-negative integer, got ${String(m.step)}`);
  const arrays = unpackArrays(new Uint8Array(await readFile(join(dir, STATE_BIN))), m.arrays);
  const head = ['', 'm_', 'v_'].flatMap((p) => headLayout(layerSizes, p).map((a) => needArray(arrays, a.name, a.size, 'float32') as Float32Array));
  return {
    step: m.step,
    fingerprint,
    table: needArray(arrays, 'embedding', sizes.table, 'float32') as Float32Array,
    tableM: needArray(arrays, 'embedding_m', sizes.m, 'float32') as Float32Array,
    tableV: needArray(arrays, 'embedding_v', sizes.v, 'float32') as Float32Array,
    layerSizes: [...layerSizes],
    head,
  };
}
