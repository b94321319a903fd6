/**
 * The voice trainer's memory estimate (see memory-estimate.ts): what voice.ts and voice-data.ts allocate
 * for a job. Base64 WAV clips dominate: the parsed strings and, while the clips are decoded, their bytes
 * and float samples. The features themselves are a few hundred bytes per clip.
 */
import { featureLength } from '../audio/index.js';
import { datasetParts, HEAP_GROWTH, memoryEstimate, type MemoryEstimate, type MemoryPart } from '../kernels/memory-estimate.js';
import { AUDIO_FEATURE_DEFAULTS, EVAL_BATCH_SIZE, resolveVoiceSettings } from './options.js';
import { inputKind } from './input.js';
import type { Example, TrainerOptions } from '../types.js';

/**
 * Bytes of decoded audio per character of base64: 0.75 bytes of WAV, then 4-byte float samples of its
 * 2-byte PCM, twice, as init decodes every clip twice (to choose the featuriser, then to featurise). The
 * buffers are garbage at once, but outside V8's heap: they stay until a collection, which the external
 * memory triggers only after tens of megabytes, so both passes count.
 */
const DECODED_BYTES_PER_BASE64_CHAR = 2 * (0.75 + 1.5);
/** The JS object of a Float32Array (a feature row), besides its values. */
const TYPED_ARRAY_OBJECT = 96;

export function estimateVoiceMemory(train: readonly Example[], validation: readonly Example[], options: TrainerOptions): MemoryEstimate {
  const settings = resolveVoiceSettings(options, {});
  let audioChars = 0;
  let dim = featureLength({ ...AUDIO_FEATURE_DEFAULTS, maxHz: 0 });
  const examples = [...train, ...validation];
  for (const ex of examples) {
    const input = ex.input !== null && typeof ex.input === 'object' ? ex.input : {};
    const kind = inputKind(input);
    if (kind === 'audio' && typeof input.audio === 'string') audioChars += input.audio.length;
    if (kind === 'embedding' && Array.isArray(input.audio_embedding)) dim = Math.max(dim, input.audio_embedding.length);
  }
  const n = examples.length;
  const classes = new Set(train.map((e) => e.label)).size;
  const layers = [dim, ...settings.hidden, classes];
  const headWeights = layers.reduce((sum, k, i) => sum + k * (layers[i + 1] ?? 0), 0);
  const widest = Math.max(settings.batchSize, EVAL_BATCH_SIZE);
  const parts: MemoryPart[] = [
    ...datasetParts(examples),
    { what: `decoded audio of ${audioChars.toLocaleString('en-US')} base64 characters`, bytes: audioChars * DECODED_BYTES_PER_BASE64_CHAR },
    // Raw rows (JS objects, so HEAP_GROWTH) and the standardised matrix.
    { what: `${n.toLocaleString('en-US')} × ${dim} features`, bytes: n * (HEAP_GROWTH * (dim * 4 + TYPED_ARRAY_OBJECT) + dim * 4) },
    // The batch with its float64 noise, activations in JS and as tensors, the head's weights, gradient and moments.
    { what: 'batch activations and head', bytes: settings.batchSize * dim * 12 + 2 * widest * layers.reduce((a, b) => a + b, 0) * 4 + 4 * 4 * headWeights },
  ];
  return memoryEstimate('voice', parts);
}
