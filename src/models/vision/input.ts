/**
 * From an experience's vision input to the model's fixed-size input: reading `input.image` (base64 PNG or
 * JPEG) or `input.pixels` (+ `width`, `height`, optional `channels`), choosing the model's geometry from
 * the training data, and normalising one image into it. Training and the predictor both go through
 * `toModelInput`, so a served image is prepared exactly as the training images were.
 */
import { TrainingInvalidRequest } from '../../errors.js';
import { decodeImage, MAX_IMAGE_PIXELS, resizeImage } from '../image/index.js';

/** One input as given: HWC values on its own scale (0–255 for images, the data set's for pixels). */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Float32Array;
  /** Decoded from `input.image`: always 0–255. Pixels are divided by the data set's own maximum instead. */
  fromImage: boolean;
}

/** The model's input: every image is resized to `width × height × channels` and divided by its scale. */
export interface VisionGeometry {
  width: number;
  height: number;
  channels: 1 | 3;
  /** What `input.pixels` values are divided by: the largest training pixel value (1 when all are ≤ 1). */
  pixelScale: number;
}

/** Model sides stay within these (pixels): below 8 the two conv layers see almost nothing; above 32 a CPU epoch gets slow. */
export const MIN_MODEL_SIDE = 8;
export const MAX_MODEL_SIDE = 32;
/** Sides are multiples of 4 so both 2×2 poolings divide evenly. */
const SIDE_MULTIPLE = 4;
/** Values an image is divided by (8-bit channels). */
const IMAGE_SCALE = 255;
/** ITU-R BT.601 luma weights, what PIL's convert('L') and OpenCV use for RGB → grey. */
const LUMA = [0.299, 0.587, 0.114] as const;

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object' && v !== null) return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

function positiveInt(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  throw TrainingInvalidRequest(`${field} must be a positive integer, got ${describe(v)}`);
}

function readPixels(input: Record<string, unknown>): RawImage {
  const pixels = input.pixels;
  const isNumbers = Array.isArray(pixels) || (ArrayBuffer.isView(pixels) && !(pixels instanceof DataView));
  if (!isNumbers) throw TrainingInvalidRequest(`input.pixels must be an array of numbers, got ${describe(pixels)}`);
  const values = pixels as ArrayLike<unknown>;
  const width = positiveInt(input.width, 'input.width');
  const height = positiveInt(input.height, 'input.height');
  if (width * height > MAX_IMAGE_PIXELS) throw TrainingInvalidRequest(`input.width × input.height is ${width}×${height}, more than the ${MAX_IMAGE_PIXELS} pixels allowed`);
  const area = width * height;
  let channels: number;
  if (input.channels !== undefined && input.channels !== null) {
    channels = positiveInt(input.channels, 'input.channels');
    if (channels !== 1 && channels !== 3) throw TrainingInvalidRequest(`input.channels must be 1 (grey) or 3 (RGB), got ${channels}`);
    if (values.length !== area * channels) {
      throw TrainingInvalidRequest(`input.pixels has ${values.length} values, expected ${width}×${height}×${channels} = ${area * channels}`);
    }
  } else if (values.length === area || values.length === area * 3) {
    channels = values.length === area ? 1 : 3;
  } else {
    throw TrainingInvalidRequest(`input.pixels has ${values.length} values, expected ${width}×${height} = ${area} (grey) or ×3 = ${area * 3} (RGB)`);
  }
  const data = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw TrainingInvalidRequest(`input.pixels[${i}] must be a finite number, got ${describe(x)}`);
    data[i] = x;
  }
  return { width, height, channels: channels as 1 | 3, data, fromImage: false };
}

/**
 * Reads one vision input; throws TrainingInvalidRequest (400) naming the field for a wrong pixel count, a
 * bad size or an undecodable image. `input.image` wins when both are given, as in the experience extractor.
 */
export function readVisionInput(input: unknown): RawImage {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw TrainingInvalidRequest(`input must be an object, got ${describe(input)}`);
  const fields = input as Record<string, unknown>;
  if (fields.image !== undefined && fields.image !== null) {
    const img = decodeImage(fields.image, 'input.image');
    return { width: img.width, height: img.height, channels: img.channels, data: Float32Array.from(img.data), fromImage: true };
  }
  if (fields.pixels !== undefined && fields.pixels !== null) return readPixels(fields);
  throw TrainingInvalidRequest('input.image (or input.pixels with width and height) is missing');
}

function roundSide(side: number): number {
  const rounded = Math.round(side / SIDE_MULTIPLE) * SIDE_MULTIPLE;
  return Math.min(MAX_MODEL_SIDE, Math.max(MIN_MODEL_SIDE, rounded));
}

/**
 * The model's input size for images mostly `width × height`: kept when it fits, else scaled (aspect kept)
 * into [MIN_MODEL_SIDE, MAX_MODEL_SIDE] and rounded to multiples of 4. 8×8 stays 8×8, 28×28 stays 28×28,
 * 64×64 becomes 32×32.
 */
export function modelSize(width: number, height: number): { width: number; height: number } {
  let f = 1;
  if (Math.max(width, height) * f > MAX_MODEL_SIDE) f = MAX_MODEL_SIDE / Math.max(width, height);
  if (Math.min(width, height) * f < MIN_MODEL_SIDE) f = MIN_MODEL_SIDE / Math.min(width, height);
  return { width: roundSide(width * f), height: roundSide(height * f) };
}

/**
 * The geometry for a training set: the most common input size (ties: the larger, then the first seen),
 * colour when any input is colour, and the pixel scale from the largest pixel value. `size` overrides
 * the size (from the architecture option).
 */
export function chooseGeometry(raws: readonly RawImage[], size?: { width: number; height: number }): VisionGeometry {
  const counts = new Map<string, { width: number; height: number; count: number }>();
  let channels: 1 | 3 = 1;
  let maxPixel = 0;
  for (const r of raws) {
    const key = `${r.width}x${r.height}`;
    const entry = counts.get(key) ?? { width: r.width, height: r.height, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
    if (r.channels === 3) channels = 3;
    if (!r.fromImage) for (const v of r.data) maxPixel = Math.max(maxPixel, v);
  }
  let best = { width: MIN_MODEL_SIDE, height: MIN_MODEL_SIDE, count: 0 };
  for (const e of counts.values()) {
    if (e.count > best.count || (e.count === best.count && e.width * e.height > best.width * best.height)) best = e;
  }
  const chosen = size ?? modelSize(best.width, best.height);
  // No pixel inputs in training: pixels sent later are taken to be 8-bit, like images.
  const pixelScale = raws.some((r) => !r.fromImage) ? Math.max(1, maxPixel) : IMAGE_SCALE;
  return { width: chosen.width, height: chosen.height, channels, pixelScale };
}

/** Normalises one image into `out` at `offset` (HWC, `geometry` size): scale to [0, 1], match channels, resize. */
export function toModelInput(raw: RawImage, geometry: VisionGeometry, out: Float32Array, offset: number): void {
  const scale = raw.fromImage ? IMAGE_SCALE : geometry.pixelScale;
  const n = raw.width * raw.height;
  const c = geometry.channels;
  const plane = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    if (raw.channels === c) {
      for (let k = 0; k < c; k++) plane[i * c + k] = raw.data[i * c + k] / scale;
    } else if (c === 1) {
      const j = 3 * i;
      plane[i] = (LUMA[0] * raw.data[j] + LUMA[1] * raw.data[j + 1] + LUMA[2] * raw.data[j + 2]) / scale;
    } else {
      plane.fill(raw.data[i] / scale, 3 * i, 3 * i + 3);
    }
  }
  out.set(resizeImage(plane, raw.width, raw.height, c, geometry.width, geometry.height), offset);
}

/** Values per model input. */
export function inputSize(geometry: VisionGeometry): number {
  return geometry.width * geometry.height * geometry.channels;
}
