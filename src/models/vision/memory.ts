/**
 * The vision trainer's memory estimate (see memory-estimate.ts): what vision.ts, vision-input.ts and the
 * CNN allocate for a job. Image sizes come from each input's `width`/`height` or its PNG/JPEG header, so
 * a set of large photos is sized as such without decoding one of them.
 */
import { decodeBase64, imageHeader } from '../image/index.js';
import { datasetParts, HEAP_GROWTH, memoryEstimate, MIB, type MemoryEstimate, type MemoryPart } from '../kernels/memory-estimate.js';
import { cnnParamSizes, EVAL_BATCH_SIZE, flatFeatures, hasSecondPool, type CnnLayout } from './cnn.js';
import { modelSize } from './input.js';
import { firstPatchRows, firstPatchWidth } from '../graph/cnn-graphs.js';
import { filtersFor, PATCH_TABLE_BYTES, resolveVisionSettings } from './options.js';
import type { Example, TrainerOptions } from '../types.js';

/**
 * onnxruntime in the trainer child: its native library and the step and forward sessions (measured at
 * 8×8, filters 32/64: 30 MB), plus slack for its arenas, which grow in chunks beyond the intermediates the
 * activations term counts.
 */
const ONNXRUNTIME_BYTES = 45 * MIB;
/** The JS objects of one read image (RawImage and its Float32Array), besides its values. */
const RAW_IMAGE_OBJECT = 200;
/**
 * Bytes per pixel of decoding one image: RGBA (4), RGB (3) and grey (1) bytes, then 4-byte floats.
 * Garbage at once but outside V8's heap, so a pass over the images counts whole.
 */
const DECODE_BYTES_PER_PIXEL = 4 + 3 + 1;

interface ImageShape {
  width: number;
  height: number;
  channels: 1 | 3;
  /** Bytes of the encoded file (0 for pixels). */
  encoded: number;
}

function shapeOf(input: Record<string, unknown>): ImageShape | undefined {
  if (typeof input.image === 'string') {
    try {
      const bytes = decodeBase64(input.image, 'input.image');
      const h = imageHeader(bytes);
      return h && { ...h, encoded: bytes.length };
    } catch {
      return undefined;
    }
  }
  const { pixels, width, height } = input;
  if (!Array.isArray(pixels) || typeof width !== 'number' || typeof height !== 'number' || !(width * height > 0)) return undefined;
  return { width, height, channels: pixels.length > width * height ? 3 : 1, encoded: 0 };
}

/**
 * Floats one example keeps through a step (src/models/graph/cnn-graphs.ts): the first layer's patches and
 * output, the pooled map, the second layer's patches and output, and the dense layer's input.
 */
function activationFloats(l: CnnLayout): number {
  const [c1, c2] = l.filters;
  const area = l.height * l.width;
  return area * (9 * l.channels + 1 + c1) + (area / 4) * (c1 + 9 * c1 + 1 + c2) + flatFeatures(l) * (hasSecondPool(l) ? 2 : 1);
}

function patchTableBytes(l: CnnLayout, examples: number): number {
  const bytes = examples * firstPatchRows(l) * firstPatchWidth(l) * 4;
  return bytes <= PATCH_TABLE_BYTES ? bytes : 0;
}

export function estimateVisionMemory(train: readonly Example[], validation: readonly Example[], options: TrainerOptions): MemoryEstimate {
  const settings = resolveVisionSettings(options);
  const sizes = new Map<string, number>();
  let channels: 1 | 3 = 1;
  let rawBytes = 0;
  let decodeBytes = 0;
  const examples = [...train, ...validation];
  for (const ex of examples) {
    const s = ex.input !== null && typeof ex.input === 'object' ? shapeOf(ex.input) : undefined;
    if (!s) continue;
    const key = `${s.width}x${s.height}`;
    sizes.set(key, (sizes.get(key) ?? 0) + 1);
    if (s.channels === 3) channels = 3;
    const values = s.width * s.height * s.channels;
    rawBytes += values * 4 + RAW_IMAGE_OBJECT * HEAP_GROWTH;
    if (s.encoded > 0) decodeBytes += s.encoded + s.width * s.height * DECODE_BYTES_PER_PIXEL;
  }
  const common = [...sizes].sort((a, b) => b[1] - a[1])[0]?.[0].split('x').map(Number) ?? [8, 8];
  const size = settings.size ?? modelSize(common[0], common[1]);
  const classes = Math.max(2, new Set(train.map((e) => e.label)).size);
  const layout: CnnLayout = { ...size, channels, filters: filtersFor(settings, size.width, size.height), classes };
  const inputBytes = size.width * size.height * channels * 4;
  const params = cnnParamSizes(layout).reduce((a, b) => a + b, 0);
  // A training batch keeps its forward values for the backward pass and as many again of gradients; an
  // evaluation batch (validation only) just the forward values. Each lives in JS scratch and as tensors.
  const batchExamples = Math.max(3 * Math.min(settings.batchSize, train.length), Math.min(EVAL_BATCH_SIZE, validation.length));
  const parts: MemoryPart[] = [
    ...datasetParts(examples),
    // Each image as read, and the normalised copy (garbage at once) it is resized from.
    { what: `${examples.length.toLocaleString('en-US')} images read`, bytes: 2 * rawBytes + decodeBytes },
    // The stacked model inputs, and each image's resized copy before it is stacked (garbage at once).
    { what: `${size.width}×${size.height}×${channels} model inputs`, bytes: 2 * examples.length * inputBytes },
    { what: `activations of ${batchExamples} examples`, bytes: 2 * batchExamples * activationFloats(layout) * 4 },
    // The training set's first-layer patches, cut once when they fit (train.ts); else each run's, ≤ 4 MiB.
    { what: 'first-layer patch table', bytes: Math.max(4 * MIB, patchTableBytes(layout, train.length)) },
    // Parameters, Adam moments (in and out of each step), the checkpoint and export copies.
    { what: `${params.toLocaleString('en-US')} parameters with Adam state`, bytes: 8 * params * 4 },
    { what: 'onnxruntime sessions', bytes: ONNXRUNTIME_BYTES },
  ];
  return memoryEstimate('vision', parts);
}
