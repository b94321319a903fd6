/**
 * The voice model's on-disk shapes: the servable export (`model.json` + `weights.bin`, plus
 * `calibration.json` for whoever writes the version's manifest) and the training checkpoint
 * (`state.json` + `state.bin`). Each is a JSON manifest plus raw little-endian arrays.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/fs.js';
import { packArrays, unpackArrays, type ArrayEntry, type NamedArray, type StoredArray } from '../kernels/array-file.js';
import { headShapes } from '../kernels/dense-head-weights.js';
import type { VoiceCalibration } from './calibration.js';
import type { SkipSummary } from './data.js';
import { featurizerLength, type VoiceFeaturizer } from './input.js';
import { EXPORT_CALIBRATION_FILE, EXPORT_PROBE_FILE } from '../types.js';
import { writeOnnxExport } from '../kernels/onnx-export.js';
import { buildVoiceOnnx } from './onnx.js';

export const VOICE_MODEL_FORMAT = 'trinity-voice-mlp';
/** Bump when the files change shape or meaning; readers refuse versions they do not know. */
export const VOICE_MODEL_VERSION = 1;
export const VOICE_STATE_FORMAT = 'trinity-voice-state';
export const VOICE_STATE_VERSION = 1;

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
/** The calibration figures alone, for the registry manifest (threshold, false-accept and false-reject rates). */
const STATE_JSON = 'state.json';
const STATE_BIN = 'state.bin';

/** What a predictor needs. */
export interface VoiceModel {
  architecture: string;
  labels: string[];
  featurizer: VoiceFeaturizer;
  /** Standardisation of the raw feature vector. */
  mean: Float32Array;
  std: Float32Array;
  /** `[in, hidden..., users]`. */
  layerSizes: number[];
  /** W0, b0, W1, b1, ... (W row-major [in, out]). */
  head: Float32Array[];
  calibration: VoiceCalibration;
}

/** Counts the export records next to the model, so a manifest can say what the version learnt from. */
export interface VoiceDataSummary {
  train: number;
  validation: number;
  skipped: { train: SkipSummary; validation: SkipSummary };
}

interface VoiceModelManifest {
  format: string;
  version: number;
  model_type: 'voice';
  architecture: string;
  labels: string[];
  input: VoiceFeaturizer;
  layer_sizes: number[];
  activation: 'relu';
  calibration: VoiceCalibration;
  data: VoiceDataSummary;
  weights_file: string;
  arrays: ArrayEntry[];
}

function headArrays(sizes: readonly number[], head: readonly Float32Array[], prefix: string): NamedArray[] {
  return headShapes(sizes).map((shape, i) => ({ name: `${prefix}${i % 2 === 0 ? 'W' : 'b'}${i >> 1}`, data: head[i], shape }));
}

function need(arrays: Map<string, StoredArray>, name: string, length: number): Float32Array {
  const a = arrays.get(name);
  if (!(a instanceof Float32Array) || a.length !== length) throw new RangeError(`array ${name} is missing or not ${length} float32 values`);
  return a;
}

function readHead(arrays: Map<string, StoredArray>, sizes: readonly number[], prefix: string): Float32Array[] {
  return headShapes(sizes).map((shape, i) => need(arrays, `${prefix}${i % 2 === 0 ? 'W' : 'b'}${i >> 1}`, shape.reduce((p, q) => p * q, 1)));
}

export async function writeVoiceModel(dir: string, model: VoiceModel, data: VoiceDataSummary): Promise<void> {
  const dim = model.layerSizes[0];
  const { bytes, entries } = packArrays([
    { name: 'feature_mean', data: model.mean, shape: [dim] },
    { name: 'feature_std', data: model.std, shape: [dim] },
    ...headArrays(model.layerSizes, model.head, ''),
  ]);
  const manifest: VoiceModelManifest = {
    format: VOICE_MODEL_FORMAT,
    version: VOICE_MODEL_VERSION,
    model_type: 'voice',
    architecture: model.architecture,
    labels: model.labels,
    input: model.featurizer,
    layer_sizes: model.layerSizes,
    activation: 'relu',
    calibration: model.calibration,
    data,
    weights_file: WEIGHTS_BIN,
    arrays: entries,
  };
  const onnx = buildVoiceOnnx(model);
  // The files are independent: written (and fsynced) side by side, the manifest last.
  await Promise.all([
    writeFileAtomic(join(dir, WEIGHTS_BIN), bytes),
    writeOnnxExport(dir, onnx.bytes, onnx.description),
    writeFileAtomic(join(dir, EXPORT_CALIBRATION_FILE), JSON.stringify({ model_type: 'voice', ...model.calibration, data }, null, 2) + '\n'),
    // Embedding input has a length fixed at training that prime's default probe (a silent clip) cannot know:
    // the feature mean is an input of the right length. Audio input takes the default.
    model.featurizer.kind === 'embedding' ? writeFileAtomic(join(dir, EXPORT_PROBE_FILE), JSON.stringify({ input: { audio_embedding: Array.from(model.mean) } }) + '\n') : undefined,
  ]);
  await writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(manifest, null, 2) + '\n');
}

function checkFeaturizer(f: VoiceFeaturizer): void {
  if (f?.kind === 'embedding') {
    if (!Number.isInteger(f.length) || f.length < 1) throw new RangeError(`${MODEL_JSON} input.length must be a positive integer`);
    return;
  }
  const a = f?.kind === 'audio' ? f.audio : undefined;
  const numbers = a === undefined ? [] : [a.frameMs, a.hopMs, a.melBands, a.minHz, a.maxHz, a.mfcc, a.deltaWidth, a.vadDb, a.maxSeconds];
  if (numbers.length === 0 || !numbers.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new RangeError(`${MODEL_JSON} input must be {kind: "audio", audio: {...}} with finite settings or {kind: "embedding", length}`);
  }
}

export async function readVoiceModel(dir: string): Promise<VoiceModel> {
  const m = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8')) as VoiceModelManifest;
  if (m.format !== VOICE_MODEL_FORMAT || m.version !== VOICE_MODEL_VERSION) {
    throw new RangeError(`${MODEL_JSON} is ${String(m.format)} v${String(m.version)}, expected ${VOICE_MODEL_FORMAT} v${VOICE_MODEL_VERSION}`);
  }
  checkFeaturizer(m.input);
  const sizes = m.layer_sizes;
  if (!Array.isArray(sizes) || sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s > 0)) {
    throw new RangeError(`${MODEL_JSON} layer_sizes must be two or more positive integers`);
  }
  if (sizes[0] !== featurizerLength(m.input)) throw new RangeError(`${MODEL_JSON} layer_sizes[0] ${sizes[0]} does not match its input's ${featurizerLength(m.input)} features`);
  if (!Array.isArray(m.labels) || m.labels.length !== sizes[sizes.length - 1]) {
    throw new RangeError(`${MODEL_JSON} has ${String(m.labels?.length)} labels for ${sizes[sizes.length - 1]} outputs`);
  }
  if (typeof m.calibration?.threshold !== 'number' || !Number.isFinite(m.calibration.threshold)) throw new RangeError(`${MODEL_JSON} calibration.threshold must be a number`);
  // The file name is fixed: a manifest must never steer reads to another path.
  if (m.weights_file !== WEIGHTS_BIN) throw new RangeError(`${MODEL_JSON} weights_file must be ${WEIGHTS_BIN}, got ${String(m.weights_file)}`);
  const arrays = unpackArrays(new Uint8Array(await readFile(join(dir, WEIGHTS_BIN))), m.arrays);
  return {
    architecture: m.architecture,
    labels: m.labels,
    featurizer: m.input,
    mean: need(arrays, 'feature_mean', sizes[0]),
    std: need(arrays, 'feature_std', sizes[0]),
    layerSizes: sizes,
    head: readHead(arrays, sizes, ''),
    calibration: m.calibration,
  };
}

/** Everything a trainer needs to continue exactly where it stopped (the caller keeps rng and epoch). */
export interface VoiceTrainingState {
  /** Adam steps taken so far. */
  step: number;
  /** Identifies the model and data the state belongs to; checked on load. */
  fingerprint: string;
  layerSizes: number[];
  /** Head params, then their first moments, then second moments (see OrtDenseHead.getState). */
  head: Float32Array[];
}

interface VoiceStateManifest {
  format: string;
  version: number;
  step: number;
  fingerprint: string;
  layer_sizes: number[];
  arrays: ArrayEntry[];
}

export async function writeVoiceState(dir: string, s: VoiceTrainingState): Promise<void> {
  const count = headShapes(s.layerSizes).length;
  const { bytes, entries } = packArrays(
    ['', 'm_', 'v_'].flatMap((prefix, k) => headArrays(s.layerSizes, s.head.slice(k * count, (k + 1) * count), prefix)),
  );
  const manifest: VoiceStateManifest = { format: VOICE_STATE_FORMAT, version: VOICE_STATE_VERSION, step: s.step, fingerprint: s.fingerprint, layer_sizes: s.layerSizes, arrays: entries };
  await writeFileAtomic(join(dir, STATE_BIN), bytes);
  await writeFileAtomic(join(dir, STATE_JSON), JSON.stringify(manifest) + '\n');
}

/** Reads a state written for the model `fingerprint`; throws if it belongs to another model or data set. */
export async function readVoiceState(dir: string, fingerprint: string, layerSizes: readonly number[]): Promise<VoiceTrainingState> {
  const m = JSON.parse(await readFile(join(dir, STATE_JSON), 'utf8')) as VoiceStateManifest;
  if (m.format !== VOICE_STATE_FORMAT || m.version !== VOICE_STATE_VERSION) {
    throw new RangeError(`${STATE_JSON} is ${String(m.format)} v${String(m.version)}, expected ${VOICE_STATE_FORMAT} v${VOICE_STATE_VERSION}`);
  }
  if (m.fingerprint !== fingerprint) throw new RangeError(`${STATE_JSON} belongs to another model or data set (fingerprint ${String(m.fingerprint)}, expected ${fingerprint})`);
  if (!Number.isInteger(m.step) || m.step < 0) throw new RangeError(`${STATE_JSON} step must be a non-negative integer, got ${String(m.step)}`);
  const arrays = unpackArrays(new Uint8Array(await readFile(join(dir, STATE_BIN))), m.arrays);
  const head = ['', 'm_', 'v_'].flatMap((prefix) => readHead(arrays, layerSizes, prefix));
  return { step: m.step, fingerprint, layerSizes: [...layerSizes], head };
}
