/**
 * The vision model's two on-disk shapes: the servable export (`model.json` + `weights.bin`, read by the
 * predictor in any process) and the training checkpoint (`state.json` + `state.bin`, read back only by a
 * trainer initialised on the same data). Both are a JSON manifest plus raw little-endian arrays.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/fs.js';
import { packArrays, unpackArrays, type ArrayEntry, type StoredArray } from '../kernels/array-file.js';
import { cnnParamShapes, cnnParamSizes, type CnnLayout } from './cnn.js';
import type { VisionGeometry } from './input.js';
import { writeOnnxExport } from '../kernels/onnx-export.js';
import { buildVisionOnnx } from './onnx.js';

export const VISION_MODEL_FORMAT = 'trinity-vision-cnn';
/** Bump when the files change shape or meaning; readers refuse versions they do not know. */
export const VISION_MODEL_VERSION = 1;
export const VISION_STATE_FORMAT = 'trinity-vision-state';
export const VISION_STATE_VERSION = 1;

/** Names of the parameter arrays, in `theta` order. */
const PARAM_NAMES = ['conv1_W', 'conv1_b', 'conv2_W', 'conv2_b', 'dense_W', 'dense_b'];

/** What a predictor needs: the input geometry, the layout, the labels and the flat parameters. */
export interface VisionModel {
  architecture: string;
  labels: string[];
  geometry: VisionGeometry;
  filters: [number, number];
  params: Float32Array;
}

interface VisionModelManifest {
  format: string;
  version: number;
  model_type: 'vision';
  architecture: string;
  labels: string[];
  /** Every input is resized to this and divided by its scale (pixels: pixel_scale, images: 255); HWC order. */
  input: { width: number; height: number; channels: 1 | 3; pixel_scale: number };
  filters: [number, number];
  weights_file: string;
  arrays: ArrayEntry[];
}

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

export function layoutOf(model: Pick<VisionModel, 'geometry' | 'filters' | 'labels'>): CnnLayout {
  const { width, height, channels } = model.geometry;
  return { width, height, channels, filters: model.filters, classes: model.labels.length };
}

/** Splits the flat parameters into named arrays with their shapes. */
function paramArrays(layout: CnnLayout, theta: Float32Array, prefix: string): { name: string; data: Float32Array; shape: number[] }[] {
  const shapes = cnnParamShapes(layout);
  let offset = 0;
  return cnnParamSizes(layout).map((size, i) => {
    const data = theta.subarray(offset, offset + size);
    offset += size;
    return { name: `${prefix}${PARAM_NAMES[i]}`, data, shape: shapes[i] };
  });
}

/** Joins named arrays back into flat parameters; throws when one is missing or has the wrong size. */
function joinParams(arrays: Map<string, StoredArray>, layout: CnnLayout, prefix: string, file: string): Float32Array {
  const sizes = cnnParamSizes(layout);
  const theta = new Float32Array(sizes.reduce((p, q) => p + q, 0));
  let offset = 0;
  sizes.forEach((size, i) => {
    const name = `${prefix}${PARAM_NAMES[i]}`;
    const a = arrays.get(name);
    if (!(a instanceof Float32Array) || a.length !== size) throw new RangeError(`${file}: array ${name} is missing or not ${size} float32 values`);
    theta.set(a, offset);
    offset += size;
  });
  return theta;
}

export async function writeVisionModel(dir: string, model: VisionModel): Promise<void> {
  const { bytes, entries } = packArrays(paramArrays(layoutOf(model), model.params, ''));
  const g = model.geometry;
  const manifest: VisionModelManifest = {
    format: VISION_MODEL_FORMAT,
    version: VISION_MODEL_VERSION,
    model_type: 'vision',
    architecture: model.architecture,
    labels: model.labels,
    input: { width: g.width, height: g.height, channels: g.channels, pixel_scale: g.pixelScale },
    filters: model.filters,
    weights_file: WEIGHTS_BIN,
    arrays: entries,
  };
  await writeFileAtomic(join(dir, WEIGHTS_BIN), bytes);
  const onnx = buildVisionOnnx(model);
  await writeOnnxExport(dir, onnx.bytes, onnx.description);
  await writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(manifest, null, 2) + '\n');
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

export async function readVisionModel(dir: string): Promise<VisionModel> {
  const m = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8')) as VisionModelManifest;
  if (m.format !== VISION_MODEL_FORMAT || m.version !== VISION_MODEL_VERSION) {
    throw new RangeError(`${MODEL_JSON} is ${String(m.format)} v${String(m.version)}, expected ${VISION_MODEL_FORMAT} v${VISION_MODEL_VERSION}`);
  }
  const input = m.input;
  if (!input || !isPositiveInt(input.width) || !isPositiveInt(input.height) || input.width % 4 !== 0 || input.height % 4 !== 0) {
    throw new RangeError(`${MODEL_JSON} input width and height must be positive multiples of 4`);
  }
  if (input.channels !== 1 && input.channels !== 3) throw new RangeError(`${MODEL_JSON} input channels must be 1 or 3, got ${String(input.channels)}`);
  if (typeof input.pixel_scale !== 'number' || !(input.pixel_scale > 0)) throw new RangeError(`${MODEL_JSON} input pixel_scale must be a positive number`);
  if (!Array.isArray(m.filters) || m.filters.length !== 2 || !m.filters.every(isPositiveInt)) throw new RangeError(`${MODEL_JSON} filters must be two positive integers`);
  if (!Array.isArray(m.labels) || m.labels.length === 0 || !m.labels.every((l) => typeof l === 'string')) throw new RangeError(`${MODEL_JSON} labels must be a non-empty list of strings`);
  // The file name is fixed: a manifest must never steer reads to another path.
  if (m.weights_file !== WEIGHTS_BIN) throw new RangeError(`${MODEL_JSON} weights_file must be ${WEIGHTS_BIN}, got ${String(m.weights_file)}`);
  const geometry: VisionGeometry = { width: input.width, height: input.height, channels: input.channels, pixelScale: input.pixel_scale };
  const model = { architecture: String(m.architecture), labels: m.labels, geometry, filters: [m.filters[0], m.filters[1]] as [number, number] };
  const arrays = unpackArrays(new Uint8Array(await readFile(join(dir, WEIGHTS_BIN))), m.arrays);
  return { ...model, params: joinParams(arrays, layoutOf(model), '', WEIGHTS_BIN) };
}

/** Everything a trainer needs to continue exactly where it stopped (the caller keeps rng and epoch). */
export interface VisionTrainingState {
  /** Adam steps taken so far. */
  step: number;
  /** Identifies the model and data the state belongs to; checked on load. */
  fingerprint: string;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

interface VisionStateManifest {
  format: string;
  version: number;
  step: number;
  fingerprint: string;
  arrays: ArrayEntry[];
}

const STATE_JSON = 'state.json';
const STATE_BIN = 'state.bin';

export async function writeVisionState(dir: string, layout: CnnLayout, s: VisionTrainingState): Promise<void> {
  const { bytes, entries } = packArrays([...paramArrays(layout, s.params, ''), ...paramArrays(layout, s.m, 'm_'), ...paramArrays(layout, s.v, 'v_')]);
  const manifest: VisionStateManifest = { format: VISION_STATE_FORMAT, version: VISION_STATE_VERSION, step: s.step, fingerprint: s.fingerprint, arrays: entries };
  await writeFileAtomic(join(dir, STATE_BIN), bytes);
  await writeFileAtomic(join(dir, STATE_JSON), JSON.stringify(manifest) + '\n');
}

/** Reads a state written for the model `fingerprint`; throws if it belongs to another model or data set. */
export async function readVisionState(dir: string, layout: CnnLayout, fingerprint: string): Promise<VisionTrainingState> {
  const m = JSON.parse(await readFile(join(dir, STATE_JSON), 'utf8')) as VisionStateManifest;
  if (m.format !== VISION_STATE_FORMAT || m.version !== VISION_STATE_VERSION) {
    throw new RangeError(`${STATE_JSON} is ${String(m.format)} v${String(m.version)}, expected ${VISION_STATE_FORMAT} v${VISION_STATE_VERSION}`);
  }
  if (m.fingerprint !== fingerprint) throw new RangeError(`${STATE_JSON} belongs to another model or data set (fingerprint ${String(m.fingerprint)}, expected ${fingerprint})`);
  if (!Number.isInteger(m.step) || m.step < 0) throw new RangeError(`${STATE_JSON} step must be a non-negative integer, got ${String(m.step)}`);
  const arrays = unpackArrays(new Uint8Array(await readFile(join(dir, STATE_BIN))), m.arrays);
  return {
    step: m.step,
    fingerprint,
    params: joinParams(arrays, layout, '', STATE_BIN),
    m: joinParams(arrays, layout, 'm_', STATE_BIN),
    v: joinParams(arrays, layout, 'v_', STATE_BIN),
  };
}
