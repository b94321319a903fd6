/**
 * The embedding model's two on-disk shapes, like nlu's: the servable export (`model.json` + `weights.bin`,
 * read by the predictor in any process) and the training checkpoint (`state.json` + `state.bin`, read back
 * only by a trainer initialised on the same data and settings). JSON manifest plus raw little-endian arrays.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/fs.js';
import { checkTextFeatureConfig, type TextFeatureConfig } from '../text/text-features.js';
import { needArray, packArrays, unpackArrays, type ArrayEntry } from '../kernels/array-file.js';
import { featureSpaceFrom, type EmbeddingFeatureSpace } from './features.js';
import { buildEmbeddingOnnx } from './onnx.js';
import { writeOnnxExport } from '../kernels/onnx-export.js';

export const EMBEDDING_MODEL_FORMAT = 'trinity-embedding-ngram-bag';
/** Bump when the files change shape or meaning; readers refuse versions they do not know. */
export const EMBEDDING_MODEL_VERSION = 1;
export const EMBEDDING_STATE_FORMAT = 'trinity-embedding-state';
export const EMBEDDING_STATE_VERSION = 1;

/** Validation figures of the exported weights, recorded for the registry and the serving layer. */
export interface EmbeddingValidation {
  /** Scored validation pairs (Spearman's n) and positive pairs (recall@1's n). */
  scored_pairs: number;
  positive_pairs: number;
  spearman: number | null;
  recall_at_1: number | null;
  /** The same figures for the untrained encoder (the TF-IDF-like bag), for comparison. */
  untrained_spearman: number | null;
  untrained_recall_at_1: number | null;
}

export interface EmbeddingModel {
  architecture: string;
  space: EmbeddingFeatureSpace;
  /** Trainable rows, [space.buckets.length, dim]. */
  table: Float32Array;
  /** W [dim, dim] and b [dim], or empty for a bare bag. */
  projection: Float32Array[];
  validation: EmbeddingValidation | null;
}

interface ModelManifest {
  format: string;
  version: number;
  model_type: 'embedding';
  architecture: string;
  features: TextFeatureConfig;
  dim: number;
  seed: number;
  doc_count: number;
  projection: boolean;
  validation: EmbeddingValidation | null;
  weights_file: string;
  arrays: ArrayEntry[];
}

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

export async function writeEmbeddingModel(dir: string, model: EmbeddingModel): Promise<void> {
  const { space } = model;
  const rows = space.buckets.length;
  const { bytes, entries } = packArrays([
    { name: 'buckets', data: space.buckets, shape: [rows] },
    { name: 'idf', data: space.idf, shape: [rows] },
    { name: 'embedding', data: model.table, shape: [rows, space.dim] },
    ...(model.projection.length === 2 ? [{ name: 'W', data: model.projection[0], shape: [space.dim, space.dim] }, { name: 'b', data: model.projection[1], shape: [space.dim] }] : []),
  ]);
  const manifest: ModelManifest = {
    format: EMBEDDING_MODEL_FORMAT,
    version: EMBEDDING_MODEL_VERSION,
    model_type: 'embedding',
    architecture: model.architecture,
    features: space.config,
    dim: space.dim,
    seed: space.seed,
    doc_count: space.docCount,
    projection: model.projection.length === 2,
    validation: model.validation,
    weights_file: WEIGHTS_BIN,
    arrays: entries,
  };
  await writeFileAtomic(join(dir, WEIGHTS_BIN), bytes);
  const onnx = buildEmbeddingOnnx(model);
  await writeOnnxExport(dir, onnx.bytes, onnx.description);
  await writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(manifest, null, 2) + '\n');
}


const isCount = (v: unknown, min: number): v is number => Number.isInteger(v) && (v as number) >= min;

export async function readEmbeddingModel(dir: string): Promise<EmbeddingModel> {
  const m = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8')) as ModelManifest;
  if (m.format !== EMBEDDING_MODEL_FORMAT || m.version !== EMBEDDING_MODEL_VERSION) {
    throw new RangeError(`${MODEL_JSON} is ${String(m.format)} v${String(m.version)}, expected ${EMBEDDING_MODEL_FORMAT} v${EMBEDDING_MODEL_VERSION}`);
  }
  const problem = checkTextFeatureConfig(m.features);
  if (problem) throw new RangeError(`${MODEL_JSON} features: ${problem}`);
  if (!isCount(m.dim, 1) || !isCount(m.seed, 0) || m.seed > 0xffffffff || !isCount(m.doc_count, 0)) {
    throw new RangeError(`${MODEL_JSON} needs a positive integer dim and 32-bit integers seed and doc_count`);
  }
  // The file name is fixed: a manifest must never steer reads to another path.
  if (m.weights_file !== WEIGHTS_BIN) throw new RangeError(`${MODEL_JSON} weights_file must be ${WEIGHTS_BIN}, got ${String(m.weights_file)}`);
  const arrays = unpackArrays(new Uint8Array(await readFile(join(dir, WEIGHTS_BIN))), m.arrays);
  const rows = arrays.get('buckets')?.length ?? 0;
  const buckets = needArray(arrays, 'buckets', rows, 'uint32') as Uint32Array;
  if (buckets.some((b) => b >>> m.features.hashBits !== 0)) throw new RangeError(`${WEIGHTS_BIN} has buckets outside 2^${m.features.hashBits}`);
  const idf = needArray(arrays, 'idf', rows, 'float32') as Float32Array;
  const table = needArray(arrays, 'embedding', rows * m.dim, 'float32') as Float32Array;
  const projection = m.projection ? [needArray(arrays, 'W', m.dim * m.dim, 'float32') as Float32Array, needArray(arrays, 'b', m.dim, 'float32') as Float32Array] : [];
  const space = featureSpaceFrom(m.features, m.dim, m.seed, m.doc_count, buckets, idf);
  return { architecture: m.architecture, space, table, projection, validation: m.validation ?? null };
}

/** Everything a trainer needs to continue exactly where it stopped (the caller keeps rng and epoch). */
export interface EmbeddingTrainingState {
  step: number;
  /** Identifies data + settings; checked on load. */
  fingerprint: string;
  table: Float32Array;
  tableM: Float32Array;
  /** Adam's second moments: one per element, or one per row for row-wise Adam. */
  tableV: Float32Array;
  /** Head params, then first moments, then second moments (see EmbeddingHead.getState). */
  head: Float32Array[];
}

interface StateManifest {
  format: string;
  version: number;
  step: number;
  fingerprint: string;
  head_arrays: number;
  arrays: ArrayEntry[];
}

const STATE_JSON = 'state.json';
const STATE_BIN = 'state.bin';

export async function writeEmbeddingState(dir: string, s: EmbeddingTrainingState): Promise<void> {
  const { bytes, entries } = packArrays([
    { name: 'embedding', data: s.table, shape: [s.table.length] },
    { name: 'embedding_m', data: s.tableM, shape: [s.tableM.length] },
    { name: 'embedding_v', data: s.tableV, shape: [s.tableV.length] },
    ...s.head.map((data, i) => ({ name: `head_${i}`, data, shape: [data.length] })),
  ]);
  const manifest: StateManifest = { format: EMBEDDING_STATE_FORMAT, version: EMBEDDING_STATE_VERSION, step: s.step, fingerprint: s.fingerprint, head_arrays: s.head.length, arrays: entries };
  await writeFileAtomic(join(dir, STATE_BIN), bytes);
  await writeFileAtomic(join(dir, STATE_JSON), JSON.stringify(manifest) + '\n');
}

/** Reads a state written for the model `fingerprint`, checking every array's length against the live one's. */
export async function readEmbeddingState(dir: string, fingerprint: string, sizes: { table: number; tableV: number; head: readonly number[] }): Promise<EmbeddingTrainingState> {
  const { table: tableSize, head: headSizes } = sizes;
  const m = JSON.parse(await readFile(join(dir, STATE_JSON), 'utf8')) as StateManifest;
  if (m.format !== EMBEDDING_STATE_FORMAT || m.version !== EMBEDDING_STATE_VERSION) {
    throw new RangeError(`${STATE_JSON} is ${String(m.format)} v${String(m.version)}, expected ${EMBEDDING_STATE_FORMAT} v${EMBEDDING_STATE_VERSION}`);
  }
  if (m.fingerprint !== fingerprint) throw new RangeError(`${STATE_JSON} belongs to another model or data set (fingerprint ${String(m.fingerprint)}, expected ${fingerprint})`);
  if (!isCount(m.step, 0)) throw new RangeError(`${STATE_JSON} step must be a non-negative integer, got ${String(m.step)}`);
  if (m.head_arrays !== headSizes.length) throw new RangeError(`${STATE_JSON} has ${String(m.head_arrays)} head arrays, expected ${headSizes.length}`);
  const arrays = unpackArrays(new Uint8Array(await readFile(join(dir, STATE_BIN))), m.arrays);
  return {
    step: m.step,
    fingerprint,
    table: needArray(arrays, 'embedding', tableSize, 'float32') as Float32Array,
    tableM: needArray(arrays, 'embedding_m', tableSize, 'float32') as Float32Array,
    tableV: needArray(arrays, 'embedding_v', sizes.tableV, 'float32') as Float32Array,
    head: headSizes.map((size, i) => needArray(arrays, `head_${i}`, size, 'float32') as Float32Array),
  };
}
